"""Wire auto-match (docs/DOMAIN.md "Wire auto-match"): each credit line of a parsed WIRE bank
statement is matched to the WIRE channel payment whose reference code appears in its memo
(normalised for case, spaces, hyphens and 全角, domain/wire_reference.py) and confirmed through the
same path as finance's voucher confirm (vouchers/review.apply_received) with the line's amount as
the received amount. A voucher is optional evidence.

- One lookup for the whole statement: every code-shaped run of every memo, one ``IN`` query.
- Idempotent: a line is a ``bank_receipts`` row unique by (our account, bank reference), inserted in
  the transaction that confirms; the same line again is skipped (or, racing, loses on the key).
- A line whose memo names no payment of ours, or one already final, or one short of the amount
  (finance decides a shortfall, as with a voucher) is kept OPEN, an unidentified receipt; a line
  without a reference gets ranked suggestions (domain/wire_suggestions.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ...domain.enums import BankReceiptReason, BankReceiptState, ChannelKind
from ...domain.payment_states import CHANNEL_PAYMENT_FINAL
from ...domain.timeutil import SHANGHAI, shanghai_day_bounds
from ...domain.wire_reference import candidate_references, normalise_reference
from ...domain.wire_suggestions import DEFAULT_WINDOW_DAYS, ReceivedWire, WireCandidate, rank_suggestions
from ...extensions import db
from ...models import BankReceipt, ChannelPayment, MergedPayment, Reseller
from ...models.types import now_utc
from ..audit import log as audit
from ..bank_statements.lines import BankLine, ParsedStatement
from ..platform.actor import Actor
from ..platform.unit_of_work import discard, end_read, transaction
from ..settlement import channel_result as settlement
from ..vouchers.review import apply_received

WIRE_MATCHING = Actor(type="system", id="wire-matching")


@dataclass
class MatchReport:
    matched: list[str] = field(default_factory=list)  # bank references that confirmed a payment
    unidentified: list[str] = field(default_factory=list)  # kept OPEN
    skipped: list[str] = field(default_factory=list)  # seen before: nothing changed

    @property
    def counts(self) -> dict[str, int]:
        return {"matched": len(self.matched), "unidentified": len(self.unidentified), "skipped": len(self.skipped)}


def _payments_by_reference(lines: Iterable[BankLine]) -> dict[str, int]:
    """{normalised reference: channel payment pk} for every code any memo may carry, in one query."""
    wanted = {code for line in lines for code in candidate_references(line.memo)}
    if not wanted:
        return {}
    rows = db.session.execute(sa.select(ChannelPayment.wire_reference, ChannelPayment.id).where(
        ChannelPayment.channel_kind == ChannelKind.WIRE.value, ChannelPayment.wire_reference.in_(wanted))).all()
    return {normalise_reference(ref): pk for ref, pk in rows if ref}


def _seen(lines: Iterable[BankLine]) -> set[tuple[str, str]]:
    keys = {(line.our_account, line.bank_reference) for line in lines}
    if not keys:
        return set()
    rows = db.session.execute(sa.select(BankReceipt.our_account, BankReceipt.bank_reference).where(
        BankReceipt.bank_reference.in_({k[1] for k in keys}))).all()
    return {(a, r) for a, r in rows} & keys


def _candidates(lines: list[BankLine]) -> list[WireCandidate]:
    """Open WIRE payments started within the window before the earliest line, with what is known of
    each reseller's payers (accounts and names of receipts that matched its payments, its own name)."""
    if not lines:
        return []
    since, _ = shanghai_day_bounds(min(line.value_date for line in lines) - timedelta(days=DEFAULT_WINDOW_DAYS))
    rows = db.session.execute(
        sa.select(ChannelPayment.channel_payment_id, MergedPayment.reseller_id, ChannelPayment.amount,
                  ChannelPayment.created_at, Reseller.name)
        .join(MergedPayment, MergedPayment.id == ChannelPayment.merged_payment_id)
        .join(Reseller, Reseller.id == MergedPayment.reseller_id)
        .where(ChannelPayment.channel_kind == ChannelKind.WIRE.value,
               ChannelPayment.status.not_in([s.value for s in CHANNEL_PAYMENT_FINAL]),
               ChannelPayment.created_at >= since)).all()
    known = db.session.execute(
        sa.select(MergedPayment.reseller_id, BankReceipt.payer_account, BankReceipt.payer_name)
        .join(ChannelPayment, ChannelPayment.id == BankReceipt.channel_payment_id)
        .join(MergedPayment, MergedPayment.id == ChannelPayment.merged_payment_id)
        .where(BankReceipt.state == BankReceiptState.MATCHED.value,
               MergedPayment.reseller_id.in_({r.reseller_id for r in rows}))).all()
    accounts: dict[int, set[str]] = {}
    names: dict[int, set[str]] = {}
    for reseller_id, account, name in known:
        if account:
            accounts.setdefault(reseller_id, set()).add(account)
        if name:
            names.setdefault(reseller_id, set()).add(name)
    return [WireCandidate(r.channel_payment_id, r.reseller_id, r.amount, r.created_at.astimezone(SHANGHAI).date(),
                          frozenset(accounts.get(r.reseller_id, ())),
                          frozenset(names.get(r.reseller_id, set()) | {r.name})) for r in rows]


def _suggest(line: BankLine, candidates: list[WireCandidate]) -> list[dict[str, Any]]:
    ranked = rank_suggestions(ReceivedWire(line.amount, line.value_date, line.payer_account, line.payer_name),
                              candidates)
    return [{"channelPaymentId": s.payment_id, "score": s.score, "reasons": list(s.reasons)} for s in ranked]


def _receipt(line: BankLine, actor: Actor, state: BankReceiptState, reason: BankReceiptReason | None,
             cp_pk: int | None, suggestions: list[dict[str, Any]] | None = None) -> BankReceipt:
    return BankReceipt(our_account=line.our_account, bank_reference=line.bank_reference, value_date=line.value_date,
                       amount=line.amount, currency=line.currency, payer_name=line.payer_name,
                       payer_account=line.payer_account, memo=(line.memo or "")[:500], state=state.value,
                       reason=reason.value if reason else None, channel_payment_id=cp_pk,
                       suggestions=suggestions, received_by=actor.label, created_at=now_utc())


def _match_line(line: BankLine, cp_pk: int | None, suggestions: list[dict[str, Any]] | None,
                actor: Actor) -> bool:
    """One line in one transaction: the receipt row and, when it pays an open payment in full or
    more, the confirmation. True when it confirmed a payment."""
    with transaction():
        if cp_pk is None:
            reason = BankReceiptReason.UNKNOWN_REFERENCE if candidate_references(line.memo) \
                else BankReceiptReason.NO_REFERENCE
            db.session.add(_receipt(line, actor, BankReceiptState.OPEN, reason, None, suggestions))
            db.session.flush()
            return False
        cp = settlement.lock_channel_payment(cp_pk)
        if cp.status in CHANNEL_PAYMENT_FINAL or line.amount < cp.amount:
            reason = BankReceiptReason.ALREADY_FINAL if cp.status in CHANNEL_PAYMENT_FINAL \
                else BankReceiptReason.SHORTFALL
            db.session.add(_receipt(line, actor, BankReceiptState.OPEN, reason, cp.id))
            db.session.flush()
            return False
        db.session.add(_receipt(line, actor, BankReceiptState.MATCHED, None, cp.id))
        db.session.flush()  # the unique key first: a line confirming twice at once fails here
        apply_received(cp, line.amount, None, actor, "wire.auto_match")
        audit.record(actor, "bank_receipt.matched", "channel_payment", cp.channel_payment_id, None,
                     {"bankReference": line.bank_reference, "amount": f"{line.amount:.2f}"})
        return True


def match_statement(statement: ParsedStatement, actor: Actor = WIRE_MATCHING) -> MatchReport:
    """Match every credit line of ``statement``; what was seen before is skipped."""
    report = MatchReport()
    credits = list(statement.credits)
    seen = _seen(credits)
    fresh = [line for line in credits if (line.our_account, line.bank_reference) not in seen]
    report.skipped.extend(line.bank_reference for line in credits if line not in fresh)
    by_reference = _payments_by_reference(fresh)
    targets: dict[str, int | None] = {}
    for line in fresh:
        hits = [by_reference[c] for c in candidate_references(line.memo) if c in by_reference]
        targets[line.bank_reference] = hits[0] if hits else None
    no_reference = [line for line in fresh if targets[line.bank_reference] is None
                    and not candidate_references(line.memo)]
    candidates = _candidates(no_reference)
    end_read()
    for line in fresh:
        suggestions = _suggest(line, candidates) if line in no_reference else None
        try:
            matched = _match_line(line, targets[line.bank_reference], suggestions, actor)
        except IntegrityError:
            discard()  # the same line matched at the same moment elsewhere: that one counts
            report.skipped.append(line.bank_reference)
            continue
        (report.matched if matched else report.unidentified).append(line.bank_reference)
    return report


def open_receipts(limit: int = 200) -> list[BankReceipt]:
    """The unidentified receipts queue, oldest first."""
    return list(db.session.scalars(sa.select(BankReceipt).where(BankReceipt.state == BankReceiptState.OPEN.value)
                                   .order_by(BankReceipt.value_date, BankReceipt.id).limit(limit)))
