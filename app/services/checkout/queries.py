"""Read side of checkout and merged payments, for the portal: the channels a reseller may choose with
their limits, its merged payments with channel payments, allocations and vouchers, the history list
and the approval queue. Every query is scoped to one reseller: another company's payment is None."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from ...channels.wire import WireAdapter
from ...domain.enums import (
    ChannelKind,
    ChannelPaymentStatus,
    MergedPaymentStatus,
    TransactionStatus,
    TransactionType,
    VoucherStatus,
)
from ...domain.payment_states import MERGED_FINAL
from ...extensions import db
from ...models import Channel, ChannelPayment, MergedPayment, PaymentOrder, PaymentTransaction, Reseller, User, Voucher
from ..channel_config import lookup as channel_config
from ..ledgers import credit_line
from ..platform.day_range import on_shanghai_days
from .validation import spent_today

ZERO = Decimal("0.00")
# The statuses the history filter offers (REJECTED is only on rows of older versions).
MERGED_STATUSES = tuple(s for s in MergedPaymentStatus if s != MergedPaymentStatus.REJECTED)
MAX_PAGE_SIZE = 100


# --- checkout -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChannelHint:
    """A channel the reseller may pay with, and what limits it: per payment, per day, funds."""

    code: str
    kind: str
    name: str
    name_en: str
    min_amount: Decimal
    max_amount: Decimal | None
    daily_limit: Decimal | None
    left_today: Decimal | None
    funds: Decimal | None  # WALLET: the balance; CREDIT: the available credit

    def display_name(self, language: str) -> str:
        return self.name_en or self.name if language == "en" else self.name or self.name_en


@dataclass(frozen=True)
class Funds:
    wallet_balance: Decimal
    available_credit: Decimal
    approval_threshold: Decimal


def funds(reseller_id: int) -> Funds:
    r = db.session.get_one(Reseller, reseller_id)
    return Funds(r.wallet_balance, credit_line.available(r), r.approval_threshold)


def channel_hints(reseller_id: int) -> list[ChannelHint]:
    """Enabled channels available to the reseller, in display order, with what is left today."""
    f = funds(reseller_id)
    hints = []
    for ch in channel_config.channels_for(reseller_id):
        left = None
        if ch.daily_limit_per_reseller is not None:
            left = max(ZERO, ch.daily_limit_per_reseller - spent_today(reseller_id, ch.id))
        money = (f.wallet_balance if ch.kind == ChannelKind.WALLET
                 else f.available_credit if ch.kind == ChannelKind.CREDIT else None)
        hints.append(ChannelHint(ch.code, ch.kind, ch.name, ch.name_en or "", ch.min_amount, ch.max_amount,
                                 ch.daily_limit_per_reseller, left, money))
    return hints


def orders_by_payment_id(reseller_id: int, payment_ids: list[str]) -> dict[str, PaymentOrder]:
    """The reseller's own orders among ``payment_ids`` (others are simply absent)."""
    if not payment_ids:
        return {}
    return {o.payment_id: o for o in db.session.scalars(sa.select(PaymentOrder).where(
        PaymentOrder.payment_id.in_(payment_ids), PaymentOrder.reseller_id == reseller_id))}


# --- one merged payment ---------------------------------------------------------------------------

@dataclass(frozen=True)
class AllocationLine:
    payment_id: str
    order_id: str
    payment_type: str
    amount: Decimal
    status: str  # the allocation's TransactionStatus
    transaction_id: str = ""
    channel_transaction_id: str | None = None  # the bank's serial / the channel's transaction id
    completed_at: datetime | None = None


@dataclass
class ChannelPart:
    cp: ChannelPayment
    name: str
    name_en: str
    lines: list[AllocationLine] = field(default_factory=list)
    wire: dict | None = None  # WIRE: the receiving account
    vouchers: list[Voucher] = field(default_factory=list)  # newest first

    @property
    def pending_voucher(self) -> Voucher | None:
        return next((v for v in self.vouchers if v.status == VoucherStatus.PENDING), None)

    @property
    def latest_voucher(self) -> Voucher | None:
        return self.vouchers[0] if self.vouchers else None

    @property
    def accepts_voucher(self) -> bool:
        return (self.cp.channel_kind == ChannelKind.WIRE and self.cp.status == ChannelPaymentStatus.PROCESSING
                and self.pending_voucher is None)

    def display_name(self, language: str) -> str:
        return self.name_en or self.name if language == "en" else self.name or self.name_en


@dataclass
class MergedView:
    mp: MergedPayment
    parts: list[ChannelPart]
    paid: Decimal
    created_by: str | None
    approved_by: str | None
    created_by_user_id: int | None

    @property
    def is_final(self) -> bool:
        return self.mp.status in MERGED_FINAL

    @property
    def can_cancel(self) -> bool:
        """What the screen offers; ``checkout/cancellation.cancel`` has the last word (it asks the bank)."""
        return (self.mp.status in (MergedPaymentStatus.PENDING_APPROVAL, MergedPaymentStatus.PROCESSING)
                and not any(p.cp.status == ChannelPaymentStatus.SUCCESS or p.pending_voucher for p in self.parts))

    @property
    def can_refresh(self) -> bool:
        return any(p.cp.channel_kind == ChannelKind.ONLINE and p.cp.status == ChannelPaymentStatus.PROCESSING
                   for p in self.parts)


def _user_emails(user_ids: set[int | None]) -> dict[int | None, str]:
    """Emails by user id, to look up with a nullable user column (None finds nothing)."""
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    return {uid: email for uid, email in db.session.execute(sa.select(User.id, User.email).where(User.id.in_(ids)))}


def _views(mps: list[MergedPayment]) -> list[MergedView]:
    if not mps:
        return []
    mp_pks = [mp.id for mp in mps]
    cps = db.session.scalars(sa.select(ChannelPayment).where(ChannelPayment.merged_payment_id.in_(mp_pks))
                             .order_by(ChannelPayment.id)).all()
    names = dict((c.id, (c.name, c.name_en or "")) for c in db.session.scalars(
        sa.select(Channel).where(Channel.id.in_({cp.channel_id for cp in cps}))))
    lines = db.session.execute(
        sa.select(PaymentTransaction.channel_payment_id, PaymentTransaction.amount, PaymentTransaction.status,
                  PaymentOrder.payment_id, PaymentOrder.order_id, PaymentOrder.payment_type,
                  PaymentTransaction.transaction_id, PaymentTransaction.channel_transaction_id,
                  PaymentTransaction.completed_at)
        .join(PaymentOrder, PaymentOrder.id == PaymentTransaction.payment_order_id)
        .where(PaymentTransaction.merged_payment_id.in_(mp_pks),
               PaymentTransaction.transaction_type == TransactionType.PAYMENT)
        .order_by(PaymentTransaction.id)).all()
    vouchers = db.session.scalars(sa.select(Voucher).where(Voucher.channel_payment_id.in_([cp.id for cp in cps]))
                                  .order_by(Voucher.id.desc())).all() if cps else []
    lines_by_cp: dict[int | None, list[AllocationLine]] = defaultdict(list)
    for cp_pk, amount, status, payment_id, order_id, payment_type, txn_id, channel_txn_id, completed_at in lines:
        lines_by_cp[cp_pk].append(AllocationLine(payment_id, order_id, payment_type, amount, status, txn_id,
                                                 channel_txn_id, completed_at))
    vouchers_by_cp: dict[int, list[Voucher]] = defaultdict(list)
    for v in vouchers:
        vouchers_by_cp[v.channel_payment_id].append(v)
    parts_by_mp: dict[int, list[ChannelPart]] = defaultdict(list)
    for cp in cps:
        name, name_en = names.get(cp.channel_id, (cp.channel_code, cp.channel_code))
        wire = WireAdapter.instructions(channel_config.config_by_id(cp.channel_id)) \
            if cp.channel_kind == ChannelKind.WIRE else None
        parts_by_mp[cp.merged_payment_id].append(ChannelPart(cp, name, name_en, lines_by_cp[cp.id], wire,
                                                             vouchers_by_cp[cp.id]))
    emails = _user_emails({u for mp in mps for u in (mp.created_by_user_id, mp.approved_by_user_id)})
    views = []
    for mp in mps:
        parts = parts_by_mp[mp.id]
        paid = sum((ln.amount for p in parts for ln in p.lines if ln.status == TransactionStatus.SUCCESS), ZERO)
        views.append(MergedView(mp, parts, paid, emails.get(mp.created_by_user_id),
                                emails.get(mp.approved_by_user_id), mp.created_by_user_id))
    return views


def merged_payment(reseller_id: int, merged_payment_id: str) -> MergedView | None:
    mp = db.session.scalar(sa.select(MergedPayment).where(MergedPayment.merged_payment_id == merged_payment_id,
                                                          MergedPayment.reseller_id == reseller_id))
    return _views([mp])[0] if mp is not None else None


# --- lists ----------------------------------------------------------------------------------------

@dataclass
class Page:
    items: list
    page: int
    page_size: int
    total: int


def list_merged(reseller_id: int, statuses: list[str] | None = None, created_from: date | None = None,
                created_to: date | None = None, page: int = 1, page_size: int = 20) -> Page:
    """The reseller's merged payments, newest first (days are Shanghai calendar days, both included)."""
    page = max(page, 1)
    page_size = min(max(page_size, 1), MAX_PAGE_SIZE)
    conds = [MergedPayment.reseller_id == reseller_id]
    if statuses:
        conds.append(MergedPayment.status.in_(statuses))
    conds.extend(on_shanghai_days(MergedPayment.created_at, created_from, created_to))
    mps = db.session.scalars(sa.select(MergedPayment).where(*conds)
                             .order_by(MergedPayment.created_at.desc(), MergedPayment.id.desc())
                             .limit(page_size).offset((page - 1) * page_size)).all()
    total = db.session.scalar(sa.select(sa.func.count(MergedPayment.id)).where(*conds)) or 0
    return Page(_views(list(mps)), page, page_size, total)


def awaiting_approval(reseller_id: int) -> list[MergedView]:
    """The reseller's payments waiting for an approver, oldest first."""
    mps = db.session.scalars(sa.select(MergedPayment).where(
        MergedPayment.reseller_id == reseller_id, MergedPayment.status == MergedPaymentStatus.PENDING_APPROVAL)
        .order_by(MergedPayment.created_at, MergedPayment.id)).all()
    return _views(list(mps))
