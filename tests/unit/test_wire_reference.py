"""Wire reference codes found in bank memos, and ranked suggestions for a line without one
(app/domain/wire_reference.py, wire_suggestions.py; docs/DOMAIN.md)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from app.domain.numbers import wire_reference
from app.domain.wire_reference import candidate_references, normalise_reference, references_in_memo
from app.domain.wire_suggestions import ReceivedWire, WireCandidate, rank_suggestions

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
codes = st.text(alphabet=ALPHABET, min_size=9, max_size=9).map(lambda s: "W" + s)
FULL_WIDTH = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}


def to_full_width(text: str) -> str:
    return "".join(FULL_WIDTH.get(ch, ch) for ch in text).replace(" ", "\u3000")


def test_normalise_folds_case_width_spaces_and_hyphens():
    assert normalise_reference(" ｗ-abc ２３ defg ") == "WABC23DEFG"
    assert normalise_reference("Ｗ\u3000ＡＢＣ－２３\u2014DEFG") == "WABC23DEFG"
    assert normalise_reference("") == ""


def test_reference_found_in_a_chinese_memo_in_full_width_with_spaces():
    memo = "货款 ＷＡＢＣ　２３ＤＥ－ＦＧ 上海某某贸易"
    assert references_in_memo(memo, ["WXXXXXXXXX", "WABC23DEFG"]) == ["WABC23DEFG"]
    assert candidate_references(memo) == ["WABC23DEFG"]


def test_no_reference_and_no_false_positive():
    assert references_in_memo("货款 十一月", ["WABC23DEFG"]) == []
    assert references_in_memo("WABC23DEF", ["WABC23DEFG"]) == []  # one character short


@given(code=codes, seps=st.lists(st.sampled_from([" ", "-", "\u3000", "－", "_", "\u00a0"]), max_size=10),
       full_width=st.booleans(), lower=st.booleans(),
       before=st.text(alphabet="货款订单号：,.;", max_size=8), after=st.text(alphabet="货款 谢谢", max_size=8))
def test_any_typing_of_a_code_is_found(code, seps, full_width, lower, before, after):
    typed = list(code.lower() if lower else code)
    for i, sep in enumerate(seps):  # separators inserted between characters
        typed.insert(1 + (i * 3) % (len(typed) - 1), sep)
    text = "".join(typed)
    memo = before + (to_full_width(text) if full_width else text) + after
    assert references_in_memo(memo, [code]) == [code]
    assert normalise_reference(normalise_reference(memo)) == normalise_reference(memo)


def test_generated_codes_are_what_the_pattern_finds():
    for _ in range(50):
        code = wire_reference()
        found = candidate_references(f"payment {code.lower()} thanks")  # overlapping runs included
        assert code in found and all(len(c) == 10 and c.startswith("W") for c in found)


DAY = date(2025, 11, 25)


def candidate(pid, amount, days_before=1, reseller=1, accounts=(), names=()):
    return WireCandidate(pid, reseller, Decimal(amount), DAY - timedelta(days=days_before),
                         frozenset(accounts), frozenset(names))


def test_suggestions_rank_amount_then_account_then_name_then_days():
    wire = ReceivedWire(Decimal("1250.00"), DAY, payer_account="6217 0000-1111", payer_name="上海某某贸易（有限公司）")
    ranked = rank_suggestions(wire, [
        candidate("CP-NAME", "99.00", names={"上海某某贸易(有限公司)"}),
        candidate("CP-AMOUNT-FAR", "1250.00", days_before=4),
        candidate("CP-AMOUNT-NEAR", "1250.00", days_before=0),
        candidate("CP-ACCOUNT-NAME", "1.00", accounts={"621700001111"}, names={"上海某某贸易有限公司"}),
        candidate("CP-ALL", "1250.00", days_before=3, accounts={"621700001111"}),
        candidate("CP-TOO-OLD", "1250.00", days_before=6, accounts={"621700001111"}),
        candidate("CP-LATER", "1250.00", days_before=-1),
        candidate("CP-NOTHING", "7.00"),
    ], limit=None)
    assert [s.payment_id for s in ranked] == ["CP-ALL", "CP-AMOUNT-NEAR", "CP-AMOUNT-FAR", "CP-ACCOUNT-NAME", "CP-NAME"]
    assert ranked[0].reasons == ("AMOUNT", "PAYER_ACCOUNT")
    assert ranked[3].reasons == ("PAYER_ACCOUNT", "PAYER_NAME")


amounts = st.sampled_from(["100.00", "1250.00", "99.99"])


@given(st.lists(st.tuples(amounts, st.integers(-2, 8), st.booleans(), st.booleans()), max_size=12),
       st.randoms(use_true_random=False))
def test_ranking_is_a_deterministic_order_of_fitting_candidates(specs, rnd):
    wire = ReceivedWire(Decimal("1250.00"), DAY, payer_account="6217000011112222", payer_name="Acme")
    cands = [candidate(f"CP{i:03d}", amount, days, accounts={"6217000011112222"} if acct else (),
                       names={"ACME"} if name else ()) for i, (amount, days, acct, name) in enumerate(specs)]
    ranked = rank_suggestions(wire, cands, limit=None)
    shuffled = list(cands)
    rnd.shuffle(shuffled)
    assert rank_suggestions(wire, shuffled, limit=None) == ranked
    assert all(0 <= s.days_apart <= 5 and s.reasons for s in ranked)
    assert [s.score for s in ranked] == sorted((s.score for s in ranked), reverse=True)
    kept = {s.payment_id for s in ranked}
    for c in cands:
        fits = c.amount == wire.amount or c.payer_accounts or c.payer_names
        assert (c.payment_id in kept) == bool(fits and 0 <= (DAY - c.started_on).days <= 5)
    assert rank_suggestions(wire, cands, limit=2) == ranked[:2]
