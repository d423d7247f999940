"""The demo's reconciliation: a few past days of the busiest ONLINE channel matched against statements
that show every class (docs/DOMAIN.md §8), the WALLET and CREDIT ledgers of those days, and a few
bank credits on the WIRE account that name no payment of ours (unidentified receipts, one with
suggestions), so that a new user sees /finance/reconciliation working.

Everything goes through the services a real statement goes through (``statement_import``,
``runs.reconcile``, ``ledger_statement``, ``wire_matching``); the statements are made from the demo's
own channel payments and then falsified on purpose:

- the latest day with at least three successes: the first success dropped (MISSING_IN_CHANNEL), the
  second with 1.00 more (AMOUNT_MISMATCH) and listed twice (DUPLICATE), the third reported FAILED
  (STATUS_MISMATCH), a success of an order number we never sent (MISSING_IN_SYSTEM), the rest MATCHED;
- the day before: one success dropped; the one before that: clean (every line MATCHED);
- the WALLET and CREDIT ledgers of the newest day (each run costs the seed, which tests run often).

Idempotent: done once (a statement imported by the demo seed is there: nothing changes); the
receipts are unique by their bank reference anyway."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from ..domain.enums import ChannelKind, ChannelPaymentStatus, GatewayPaymentStatus, StatementSource
from ..domain.timeutil import SHANGHAI, shanghai_day_bounds
from ..extensions import db
from ..models import Channel, ChannelPayment, StatementImport
from ..services.bank_statements.lines import BankLine, Direction, ParsedStatement, Position, StatementFormat
from ..services.platform.actor import Actor
from ..services.platform.unit_of_work import end_read
from ..services.reconciliation import ledger_statement, runs, wire_matching
from ..services.reconciliation.lines import Line
from ..services.reconciliation.statement_import import import_statement

DAYS = 3
MIN_PAYMENTS = 3  # a day needs this many successes to show every class
ACCOUNT = "6222020200112233445"  # the demo WIRE_ICBC receiving account (data.py)
SUCCESS, FAILED = GatewayPaymentStatus.SUCCESS.value, GatewayPaymentStatus.FAILED.value


def _already(actor: Actor) -> bool:
    found = db.session.scalar(sa.select(sa.func.count()).select_from(StatementImport).where(
        StatementImport.imported_by == actor.label))
    end_read()
    return bool(found)


def _busiest_online(today: date) -> tuple[int, str, dict[date, list[ChannelPayment]]] | None:
    """The ONLINE channel with most successes, and its successes per past day (at least MIN_PAYMENTS)."""
    start = shanghai_day_bounds(today - timedelta(days=60))[0]
    end = shanghai_day_bounds(today)[0]
    rows = list(db.session.execute(
        sa.select(ChannelPayment, Channel.code).join(Channel, Channel.id == ChannelPayment.channel_id)
        .where(Channel.kind == ChannelKind.ONLINE, ChannelPayment.status == ChannelPaymentStatus.SUCCESS,
               ChannelPayment.completed_at >= start, ChannelPayment.completed_at < end)
        .order_by(ChannelPayment.id)).all())
    for cp, _code in rows:
        db.session.expunge(cp)
    end_read()
    counts: dict[str, int] = {}
    for _cp, code in rows:
        counts[code] = counts.get(code, 0) + 1
    if not counts:
        return None
    code = max(sorted(counts), key=lambda c: counts[c])
    by_day: dict[date, list[ChannelPayment]] = {}
    channel_id = 0
    for cp, c in rows:
        if c == code and cp.completed_at is not None:
            channel_id = cp.channel_id
            by_day.setdefault(cp.completed_at.astimezone(SHANGHAI).date(), []).append(cp)
    return channel_id, code, {d: ps for d, ps in by_day.items() if len(ps) >= MIN_PAYMENTS}


def _line(cp: ChannelPayment, amount: Decimal | None = None, status: str = SUCCESS) -> Line:
    return Line("payment", cp.channel_transaction_id or f"GWDEMO{cp.id:012d}", cp.channel_payment_id,
                amount if amount is not None else cp.amount, status, cp.completed_at)


def _statement(day: date, payments: list[ChannelPayment], faults: str) -> list[Line]:
    if faults == "clean":
        return [_line(cp) for cp in payments]
    if faults == "dropped":
        return [_line(cp) for cp in payments[1:]]
    _first, second, third, *rest = payments
    stamp = day.strftime("%Y%m%d")
    unknown = Line("payment", f"GW{stamp}235959DEMO0001", f"CPX{stamp}DEMO01", Decimal("88.00"), SUCCESS,
                   datetime.combine(day, datetime.min.time(), SHANGHAI) + timedelta(hours=23, minutes=59))
    changed = _line(second, second.amount + Decimal("1.00"))
    return [changed, changed, _line(third, status=FAILED), *[_line(cp) for cp in rest], unknown]


def _receipts(today: date, actor: Actor) -> int:
    day = today - timedelta(days=1)
    memos = [("2026DEMO01", Decimal("12800.00"), "华东重工设备销售有限公司", "6222020200198765432", "货款"),
             ("2026DEMO02", Decimal("3560.50"), "某某个人", "6217000011119999", "往来款"),
             ("2026DEMO03", Decimal("45000.00"), "北方特种装备贸易有限公司", "6217000010087654321",
              "付款 WZZZZ-Z9999")]
    lines = tuple(BankLine(position=Position(n, 1), value_date=day, booking_date=day, amount=amount,
                           direction=Direction.CREDIT, currency="CNY", payer_name=name, payer_account=account,
                           memo=memo, bank_reference=f"DEMO-{ref}", our_account=ACCOUNT)
                  for n, (ref, amount, name, account, memo) in enumerate(memos, start=1))
    report = wire_matching.match_statement(ParsedStatement(StatementFormat.CSV, "UTF-8", "demo", lines), actor)
    return len(report.unidentified)


def seed_reconciliations(actor: Actor, today: date) -> list[str]:
    if _already(actor):
        return ["  reconciliation: demo runs already present; nothing changed"]
    found = _busiest_online(today)
    made: list[str] = []
    if found is not None:
        channel_id, code, by_day = found
        days = sorted(by_day, reverse=True)[:DAYS]
        for day, faults in zip(days, ("every-class", "dropped", "clean"), strict=False):
            imported = import_statement(channel_id, code, day, StatementSource.GATEWAY,
                                        _statement(day, by_day[day], faults), actor)
            runs.reconcile(channel_id, day, imported.import_id, actor)
            made.append(f"{day.isoformat()} {code} ({faults})")
        for ledger_channel in ledger_statement.internal_channel_ids() if days else ():
            ledger_statement.reconcile_ledger(ledger_channel, days[0], actor)  # the newest day's ledgers
    receipts = _receipts(today, actor)
    return [f"  reconciliation: runs of {', '.join(made) or 'no day (no online payments)'}; "
            f"{receipts} unidentified receipt(s)"]
