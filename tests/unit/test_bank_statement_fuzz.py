"""Property tests of the statement readers: any wires written by a bank's export come back as the
same lines in every format, and no input at all makes a reader fail with anything but a refusal
(a reader that crashed would be a server error on the upload screen)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.services.bank_statements.lines import Direction
from app.services.bank_statements.problems import StatementRejected
from app.services.bank_statements.reading import read_statement
from sandbox.bank_exports import statement_camt053, statement_csv, statement_mt940

OURS = "6222020200112233445"
ICBC_HEADER = "本方账号,交易日期,起息日,借方发生额,贷方发生额,币种,对方户名,对方账号,用途,交易流水号\n"
DAY = "2025-11-25"

# What people and banks put in names and memos: CJK, full-width forms, ASCII punctuation that is not
# a field separator of the format at hand (MT940's "/" and line starts, CSV quoting is handled).
text_chars = st.characters(codec="utf-8", categories=("L", "N", "Zs"), exclude_characters="\u2028\u2029\x85")
names = st.text(text_chars, min_size=1, max_size=30).map(str.strip).filter(bool)
memos = st.text(st.one_of(text_chars, st.sampled_from("-,.;:()（）＃")), max_size=60).map(str.strip)
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2)
wire = st.builds(lambda name, memo, amount, acct: {"payer_name": name, "memo": memo, "amount": str(amount),
                                                   "payer_account": acct},
                 names, memos, amounts, st.from_regex(r"\A[1-9][0-9]{9,18}\Z"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(wire, max_size=6), st.sampled_from(["gbk-or-gb18030", "utf-8", "utf-8-sig", "mt940", "camt053"]))
def test_written_wires_are_read_back_unchanged(wires, fmt):
    rows = [w | {"account_no": OURS, "value_day": DAY, "bank_reference": f"BK2511250000{i:04d}"}
            for i, w in enumerate(wires)]
    if fmt == "mt940":
        data = statement_mt940(OURS, DAY, rows)
    elif fmt == "camt053":
        data = statement_camt053(OURS, DAY, rows, "2025-11-26T08:00:00+08:00")
    elif fmt == "gbk-or-gb18030":
        data = statement_csv(OURS, rows, "gb18030")
    else:
        data = statement_csv(OURS, rows, fmt)
    parsed = read_statement(data, [OURS])
    assert [(ln.payer_name, ln.memo, ln.amount, ln.payer_account, ln.bank_reference, ln.direction)
            for ln in parsed.lines] == [
        (r["payer_name"], r["memo"], Decimal(r["amount"]), r["payer_account"], r["bank_reference"],
         Direction.CREDIT) for r in rows]


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.binary(max_size=400),
    st.text(max_size=300).map(str.encode),
    st.lists(st.text(st.sampled_from("0123456789:CDNTRF,/-\n年月日"), max_size=40), max_size=10)
      .map(lambda parts: (":20:X\n:25:" + OURS + "\n:60F:C251125CNY0,00\n:61:" + "\n".join(parts)).encode()),
    st.lists(st.lists(st.text(st.sampled_from("0123456789,.-贷借 W"), max_size=12), min_size=10, max_size=10),
             max_size=5).map(lambda rows: (ICBC_HEADER + "\n".join(",".join(r) for r in rows)).encode("gb18030")),
))
def test_no_input_crashes_a_reader(data):
    try:
        read_statement(data, [OURS])
    except StatementRejected:
        pass
