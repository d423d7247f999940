"""WALLET and CREDIT: there is no outside statement, so our own ledger is read as the channel's
statement of the day and matched against the channel payments like any other (matching.py): a
ledger entry without its payment is MISSING_IN_SYSTEM, a payment without its entry
MISSING_IN_CHANNEL, different sums AMOUNT_MISMATCH.

The balances are checked too (``balance_differences``, one grouped query): every reseller's
``wallet_balance`` must equal the sum of its wallet entries, its ``credit_used`` the sum of its credit
entries. The result is two run figures, ``balancesChecked`` (how many resellers) and
``balanceDifferences`` (``[{"reseller", "balance", "entries"}]``, empty when all agree), written on
every reconciliation of the channel's day (also when the statement itself did not change), and a
difference raises the critical alert ``ledger_balance_mismatch`` (cleared once none is left).

A WALLET payment is one ``PAYMENT`` wallet entry referencing the channel payment (amount negative);
a CREDIT payment one ``USE`` credit entry per order, summed per channel payment."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from ...domain.enums import ChannelKind, CreditEntryType, GatewayPaymentStatus, StatementSource, WalletEntryType
from ...domain.timeutil import shanghai_day_bounds
from ...extensions import db
from ...models import Channel, CreditEntry, Reseller, WalletEntry
from ..alerts.kinds import LEDGER_BALANCE_MISMATCH
from ..alerts.raising import clear_alert, raise_alert
from ..platform.actor import Actor
from ..platform.unit_of_work import end_read, transaction
from . import progress, runs
from .lines import Line
from .statement_import import import_statement

INTERNAL_KINDS = (ChannelKind.WALLET, ChannelKind.CREDIT)


def internal_channel_ids() -> list[int]:
    ids = list(db.session.scalars(sa.select(Channel.id).where(Channel.kind.in_(INTERNAL_KINDS)).order_by(Channel.id)))
    end_read()
    return ids


def ledger_lines(kind: str, day: date) -> list[Line]:
    start, end = shanghai_day_bounds(day)
    if kind == ChannelKind.WALLET:
        w = WalletEntry
        wallet_rows = db.session.execute(
            sa.select(w.reference, -sa.func.sum(w.amount), sa.func.min(w.id), sa.func.min(w.created_at))
            .where(w.entry_type == WalletEntryType.PAYMENT, w.created_at >= start, w.created_at < end,
                   w.reference.is_not(None))
            .group_by(w.reference).order_by(sa.func.min(w.id))).all()
        return [Line("payment", f"WL{first:010d}", str(ref), amount, GatewayPaymentStatus.SUCCESS, at)
                for ref, amount, first, at in wallet_rows]
    c = CreditEntry
    rows = db.session.execute(
        sa.select(c.reference, sa.func.sum(c.amount), sa.func.min(c.created_at))
        .where(c.entry_type == CreditEntryType.USE, c.created_at >= start, c.created_at < end,
               c.reference.is_not(None))
        .group_by(c.reference).order_by(sa.func.min(c.id))).all()
    return [Line("payment", f"CL{ref}", str(ref), amount, GatewayPaymentStatus.SUCCESS, at)
            for ref, amount, at in rows]


def balance_differences(kind: str) -> tuple[int, list[dict[str, str]]]:
    """(resellers checked, those whose balance is not the sum of their entries), one grouped query."""
    entry, balance = ((WalletEntry, Reseller.wallet_balance) if kind == ChannelKind.WALLET
                      else (CreditEntry, Reseller.credit_used))
    sums = (sa.select(entry.reseller_id.label("rid"), sa.func.sum(entry.amount).label("total"))
            .group_by(entry.reseller_id).subquery())
    total = sa.func.coalesce(sums.c.total, 0)
    checked = int(db.session.scalar(sa.select(sa.func.count(Reseller.id))) or 0)
    rows = db.session.execute(sa.select(Reseller.code, balance, total)
                              .outerjoin(sums, sums.c.rid == Reseller.id)
                              .where(balance != total).order_by(Reseller.code)).all()
    return checked, [{"reseller": code, "balance": f"{held:.2f}", "entries": f"{Decimal(summed):.2f}"}
                     for code, held, summed in rows]


def _check_balances(channel_id: int, code: str, kind: str, day: date, actor: Actor) -> list[dict[str, str]]:
    checked, differences = balance_differences(kind)
    end_read()
    with transaction():
        runs.record_figures(channel_id, day, {"balancesChecked": checked, "balanceDifferences": differences})
        subject = f"{kind}-balances"
        if differences:
            raise_alert(LEDGER_BALANCE_MISMATCH, f"{len(differences)} {kind.lower()} balances differ from their "
                        "ledger entries", subject=subject, channel=code, day=day.isoformat(),
                        resellers=",".join(d["reseller"] for d in differences)[:400])
        else:
            clear_alert(LEDGER_BALANCE_MISMATCH, subject, actor, note="every balance equals its entries")
    return differences


def reconcile_ledger(channel_id: int, day: date, actor: Actor = runs.RECONCILIATION) -> dict:
    channel = db.session.get_one(Channel, channel_id)
    code, kind = channel.code, channel.kind
    end_read()
    progress.mark(channel_id, day, progress.FETCHING)
    lines = ledger_lines(kind, day)
    end_read()
    imported = import_statement(channel_id, code, day, StatementSource.LEDGER, lines, actor)
    reconciled = imported.created or not runs.is_current(channel_id, day, imported.import_id)
    end_read()
    if reconciled:
        runs.reconcile(channel_id, day, imported.import_id, actor)
    else:
        progress.mark(channel_id, day, progress.DONE, lines=len(lines), unchanged=1)
    differences = _check_balances(channel_id, code, kind, day, actor)
    return {"imported": imported.created, "reconciled": reconciled, "lines": len(lines),
            "balanceDifferences": len(differences)}
