"""WALLET and CREDIT: there is no outside statement, so our own ledger is read as the channel's
statement of the day and matched against the channel payments like any other (matching.py): a
ledger entry without its payment is MISSING_IN_SYSTEM, a payment without its entry
MISSING_IN_CHANNEL, different sums AMOUNT_MISMATCH.

A WALLET payment is one ``PAYMENT`` wallet entry referencing the channel payment (amount negative);
a CREDIT payment one ``USE`` credit entry per order, summed per channel payment."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from ...domain.enums import ChannelKind, CreditEntryType, GatewayPaymentStatus, StatementSource, WalletEntryType
from ...domain.timeutil import shanghai_day_bounds
from ...extensions import db
from ...models import Channel, CreditEntry, WalletEntry
from ..platform.actor import Actor
from ..platform.unit_of_work import end_read
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


def reconcile_ledger(channel_id: int, day: date, actor: Actor = runs.RECONCILIATION) -> dict:
    channel = db.session.get_one(Channel, channel_id)
    code, kind = channel.code, channel.kind
    end_read()
    progress.mark(channel_id, day, progress.FETCHING)
    lines = ledger_lines(kind, day)
    end_read()
    imported = import_statement(channel_id, code, day, StatementSource.LEDGER, lines, actor)
    if not imported.created and runs.is_current(channel_id, day, imported.import_id):
        end_read()
        progress.mark(channel_id, day, progress.DONE, lines=len(lines), unchanged=1)
        return {"imported": False, "reconciled": False, "lines": len(lines)}
    end_read()
    runs.reconcile(channel_id, day, imported.import_id, actor)
    return {"imported": imported.created, "reconciled": True, "lines": len(lines)}
