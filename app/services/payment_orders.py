"""Payment orders: creation (idempotent, natural-key aware), the order system's updates, and
the status rules applied after every change (DESIGN.md §3, API.md §2–3)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..domain.enums import OrderAction, PaymentStatus, PaymentType
from ..domain.errors import (
    CreditRecordMismatch,
    DuplicatePaymentOrder,
    NotFound,
    StateConflict,
    ValidationFailed,
)
from ..domain.order_status import ADMINISTRATIVE, derive_payment_status, derive_refund_status
from ..extensions import db
from ..models import CreditRecord, PaymentOrder, Reseller, StatusLog
from ..models.payment_order import OrderAmounts
from ..models.types import now_utc
from . import audit, idempotency, ids, order_create_pg, outbox
from .actor import Actor
from .order_view import order_dict
from .tx import transaction

CREATE_OPERATION = "payment_order.create"
ZERO = Decimal("0.00")


@dataclass
class NewPaymentOrder:
    order_id: str
    reseller_code: str
    payment_type: str
    payment_amount: Decimal
    payment_deadline: datetime | None = None
    business_desc: str = ""
    priority: int = 0
    related_business_id: str | None = None
    related_business_type: str | None = None
    business_expire_date: date | None = None
    tags: dict = field(default_factory=dict)
    credit_record_id: str | None = None


@dataclass
class CreateOutcome:
    order: PaymentOrder | NewOrderValues
    reseller_code: str
    status_code: int
    duplicate: bool
    view: dict | None = None  # the order's API view when already built (a fresh create)


def create_payment_order(actor: Actor, new: NewPaymentOrder, *, idempotency_key: str | None,
                         fingerprint: str) -> CreateOutcome:
    """Create one order in one transaction with its status log, audit entry, outbox event and
    idempotency key. A replay answers the stored status with the order as it is now."""
    if db.engine.dialect.name == "postgresql" and new.payment_type != PaymentType.CREDIT_REPAYMENT:
        created = _create_in_one_statement(actor, new, idempotency_key, fingerprint)
        if created is not None:
            return created
    try:
        with transaction():
            if idempotency_key:
                stored = idempotency.claim(actor.client_id, CREATE_OPERATION, idempotency_key, fingerprint)
                if stored:
                    return _replay(stored.resource_id, stored.response_code)
            order, reseller_code = _insert_order(actor, new)
            if idempotency_key:
                idempotency.store(actor.client_id, CREATE_OPERATION, idempotency_key, fingerprint, 201,
                                  order.payment_id)
        return CreateOutcome(order, reseller_code, 201, False)
    except IntegrityError:
        db.session.rollback()
    # A concurrent request won the race on the idempotency key or on the natural key.
    with transaction():
        if idempotency_key:
            stored = idempotency.lookup(actor.client_id, CREATE_OPERATION, idempotency_key, fingerprint)
            if stored:
                return _replay(stored.resource_id, stored.response_code)
        existing = _find_by_natural_key(new)
        if existing is None:
            raise StateConflict("the order could not be stored because of a concurrent change; retry")
        return _natural_key_duplicate(existing, new)


def _create_in_one_statement(actor: Actor, new: NewPaymentOrder, idempotency_key: str | None,
                             fingerprint: str) -> CreateOutcome | None:
    """PostgreSQL, the plain case in one round trip (``order_create_pg``); None when anything is
    not plain (unknown or suspended reseller, key in use or stored, natural-key twin, a lost
    connection): nothing was written, or a replay will find it, and the general path above decides."""
    rows = _new_order_rows(actor, new, reseller_id=None)
    order_row = dict(rows.values)
    del order_row["reseller_id"]
    written = {"order": order_row, "status": rows.status_row, "audit": rows.audit_row, "outbox": rows.outbox_row}
    lock = None
    if idempotency_key:
        written["key"] = idempotency.key_row(actor.client_id, CREATE_OPERATION, idempotency_key, fingerprint,
                                             201, rows.order.payment_id)
        lock = idempotency.lock_id(actor.client_id, CREATE_OPERATION, idempotency_key)
    order_id = order_create_pg.insert_order(new.reseller_code, written, lock)
    if order_id is None:
        return None
    rows.order.id = order_id
    return CreateOutcome(rows.order, new.reseller_code, 201, False, rows.view)


def _replay(payment_id: str, status_code: int) -> CreateOutcome:
    order, code = get_order_with_reseller(payment_id)
    return CreateOutcome(order, code, status_code, True)


def _natural_key_duplicate(existing: PaymentOrder, new: NewPaymentOrder) -> CreateOutcome:
    if existing.payment_amount != new.payment_amount:
        raise DuplicatePaymentOrder(
            f"order {existing.order_id} already has a {existing.payment_type} payment order "
            f"({existing.payment_id}) with a different amount"
        )
    return CreateOutcome(existing, new.reseller_code, 200, True)


def _find_by_natural_key(new: NewPaymentOrder) -> PaymentOrder | None:
    return db.session.scalar(
        sa.select(PaymentOrder).where(
            PaymentOrder.order_id == new.order_id,
            PaymentOrder.payment_type == new.payment_type,
            PaymentOrder.related_business_id == (_related_id(new) or ""),
            PaymentOrder.payment_status != PaymentStatus.STOPPED,
        )
    )


def _related_id(new: NewPaymentOrder) -> str | None:
    if new.payment_type == PaymentType.CREDIT_REPAYMENT:
        return new.credit_record_id
    return new.related_business_id


# The create path's statements, built once; the values are bound per call (no statement building
# or cache-key walk per request).
_resellers = Reseller.__table__
_SELECT_RESELLER = sa.select(_resellers.c.id, _resellers.c.status).where(_resellers.c.code == sa.bindparam("code"))
_INSERT_ORDER = sa.insert(PaymentOrder.__table__).returning(PaymentOrder.__table__.c.id)


def _active_reseller(code: str) -> Reseller:
    row = db.session.execute(_SELECT_RESELLER, {"code": code}).first()
    if row is None:
        raise ValidationFailed(f"reseller {code} is not known", field="resellerId")
    if row.status != "ACTIVE":
        raise ValidationFailed(f"reseller {code} is suspended", field="resellerId")
    return row


def _check_credit_repayment(new: NewPaymentOrder, reseller_id: int, exclude_order_id: int | None = None) -> None:
    """The record must be the reseller's and bound to ``order_id``; the amount may not exceed the
    outstanding amount minus the unpaid part of other open repayment orders. Locks the record."""
    record = db.session.scalar(
        sa.select(CreditRecord).where(CreditRecord.credit_record_id == new.credit_record_id).with_for_update()
    )
    if record is None or record.reseller_id != reseller_id or record.order_id != new.order_id:
        raise CreditRecordMismatch(
            "credit record is unknown, belongs to another reseller or is bound to another order",
            field="creditRecordId",
        )
    if exclude_order_id is None:
        twin = _find_by_natural_key(new)
        if twin is not None and twin.payment_amount == new.payment_amount:
            # A resend of the live repayment order: the natural-key rule answers it (200, duplicate),
            # its own amount must not count against it.
            return
    conditions = [
        PaymentOrder.payment_type == PaymentType.CREDIT_REPAYMENT,
        PaymentOrder.related_business_id == record.credit_record_id,
        PaymentOrder.payment_status.not_in([PaymentStatus.STOPPED, PaymentStatus.PAID]),
    ]
    if exclude_order_id is not None:
        conditions.append(PaymentOrder.id != exclude_order_id)
    open_unpaid = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(PaymentOrder.payment_amount - PaymentOrder.paid_amount), 0))
        .where(*conditions)
    )
    room = record.outstanding_amount - Decimal(open_unpaid)
    if new.payment_amount > room:
        raise ValidationFailed(
            f"repayment exceeds what is still owed on credit record {record.credit_record_id} "
            f"(at most {max(room, ZERO):.2f})",
            field="paymentAmount",
        )


class NewOrderValues(OrderAmounts):
    """A new order's column values as attributes, read like a stored ``PaymentOrder`` (its view,
    its type): the response needs no SELECT after the insert, nor an ORM instance."""

    def __init__(self, values: dict):
        self.__dict__.update(values)
        self.id: int | None = None


@dataclass
class _NewOrderRows:
    order: NewOrderValues
    values: dict
    view: dict
    status_row: dict
    audit_row: dict
    outbox_row: dict


def _new_order_rows(actor: Actor, new: NewPaymentOrder, reseller_id: int | None,
                    related_type: str | None = None) -> _NewOrderRows:
    now = now_utc()
    values = dict(
        payment_id=ids.payment_id(), order_id=new.order_id, reseller_id=reseller_id,
        payment_type=new.payment_type, payment_amount=new.payment_amount, paid_amount=ZERO,
        refunded_amount=ZERO, reserved_amount=ZERO, refunding_amount=ZERO, currency="CNY",
        payment_status=PaymentStatus.UNPAID.value, refund_status="NO_REFUND", last_attempt_failed=False,
        last_refund_failed=False, payment_deadline=new.payment_deadline, business_desc=new.business_desc or "",
        priority=new.priority, related_business_id=_related_id(new) or "",
        related_business_type=related_type or new.related_business_type,
        business_expire_date=new.business_expire_date, tags=new.tags or {}, created_by_client_id=actor.client_id,
        version=1, created_at=now, updated_at=now,
    )
    order = NewOrderValues(values)
    view = order_dict(order, new.reseller_code)
    return _NewOrderRows(
        order=order, values=values, view=view,
        status_row={"field": "payment", "from_status": None, "to_status": "UNPAID", "reason": "created",
                    "actor": actor.label, "created_at": now},
        audit_row=audit.entry_row(actor, "payment_order.create", "payment_order", order.payment_id, None, view),
        outbox_row=outbox.event_row("payment_order.created", "payment_order", order.payment_id, view),
    )


def _insert_order(actor: Actor, new: NewPaymentOrder) -> tuple[NewOrderValues, str]:
    """The general path: checks, then the order and its companion rows one statement each."""
    reseller = _active_reseller(new.reseller_code)
    related_type = None
    if new.payment_type == PaymentType.CREDIT_REPAYMENT:
        _check_credit_repayment(new, reseller.id)
        related_type = "CREDIT_RECORD"
    rows = _new_order_rows(actor, new, reseller.id, related_type)
    order = rows.order
    order.id = db.session.execute(_INSERT_ORDER, rows.values).scalar_one()
    db.session.execute(sa.insert(StatusLog.__table__), {"payment_order_id": order.id, **rows.status_row})
    audit.insert_row(rows.audit_row)
    outbox.insert_row(rows.outbox_row)
    return order, new.reseller_code


def get_order_with_reseller(payment_id: str) -> tuple[PaymentOrder, str]:
    row = db.session.execute(
        sa.select(PaymentOrder, Reseller.code)
        .join(Reseller, Reseller.id == PaymentOrder.reseller_id)
        .where(PaymentOrder.payment_id == payment_id)
    ).first()
    if row is None:
        raise NotFound(f"payment order {payment_id} does not exist")
    return row[0], row[1]


def _lock_order(payment_id: str) -> tuple[PaymentOrder, str]:
    row = db.session.execute(
        sa.select(PaymentOrder, Reseller.code)
        .join(Reseller, Reseller.id == PaymentOrder.reseller_id)
        .where(PaymentOrder.payment_id == payment_id)
        .with_for_update(of=PaymentOrder)
    ).first()
    if row is None:
        raise NotFound(f"payment order {payment_id} does not exist")
    return row[0], row[1]


def apply_status(order: PaymentOrder, actor: Actor, reason: str) -> tuple[str, str] | None:
    """Recompute the derived payment status (unless STOPPED/FROZEN) and log a change.
    Returns (from, to) when it changed. The refund status is recomputed too: it depends on the paid
    amount (a FULL_REFUNDED order paid again is PARTIAL_REFUNDED)."""
    apply_refund_status(order, actor, reason)
    if order.payment_status in ADMINISTRATIVE:
        return None
    new_status = derive_payment_status(
        amount=order.payment_amount, paid=order.paid_amount, reserved=order.reserved_amount,
        last_attempt_failed=order.last_attempt_failed,
    ).value
    return set_status(order, new_status, actor, reason)


def apply_refund_status(order: PaymentOrder, actor: Actor, reason: str) -> None:
    """Recompute the derived refund status (DESIGN.md §3) and log a change."""
    new = derive_refund_status(paid=order.paid_amount, refunded=order.refunded_amount,
                               refunding=order.refunding_amount, last_refund_failed=order.last_refund_failed).value
    if new != order.refund_status:
        db.session.add(StatusLog(payment_order_id=order.id, field="refund", from_status=order.refund_status,
                                 to_status=new, reason=reason[:500], actor=actor.label))
        order.refund_status = new


def set_status(order: PaymentOrder, new_status: str, actor: Actor, reason: str) -> tuple[str, str] | None:
    old = order.payment_status
    if old == new_status:
        return None
    order.payment_status = new_status
    db.session.add(StatusLog(payment_order_id=order.id, field="payment", from_status=old, to_status=new_status,
                             reason=reason, actor=actor.label))
    return old, new_status


@dataclass
class OrderChanges:
    payment_amount: Decimal | None = None
    payment_deadline: datetime | None = None
    business_desc: str | None = None
    priority: int | None = None
    tags: dict | None = None
    action: str | None = None
    reason: str | None = None
    present: frozenset[str] = frozenset()  # which fields the request named


def update_payment_order(actor: Actor, payment_id: str, changes: OrderChanges) -> tuple[PaymentOrder, str]:
    """The order system's PATCH: field updates or STOP / FREEZE / UNFREEZE, under a row lock."""
    with transaction():
        order, reseller_code = _lock_order(payment_id)
        before = order_dict(order, reseller_code)
        if order.payment_status == PaymentStatus.STOPPED:
            raise StateConflict("the payment order is STOPPED and can no longer be changed")
        in_flight = order.reserved_amount > 0 or order.refunding_amount > 0
        reason = changes.reason or ""
        transition = None
        if changes.action == OrderAction.FREEZE:
            if order.payment_status == PaymentStatus.FROZEN:
                raise StateConflict("the payment order is already FROZEN")
            if in_flight:
                raise StateConflict("money is in flight on this order; freeze it after the payment settles")
            transition = set_status(order, PaymentStatus.FROZEN.value, actor, reason or "frozen")
        elif changes.action == OrderAction.STOP:
            if in_flight:
                raise StateConflict("money is in flight on this order; stop it after the payment settles")
            transition = set_status(order, PaymentStatus.STOPPED.value, actor, reason or "stopped")
        elif changes.action == OrderAction.UNFREEZE:
            if order.payment_status != PaymentStatus.FROZEN:
                raise StateConflict("the payment order is not FROZEN")
            derived = derive_payment_status(
                amount=order.payment_amount, paid=order.paid_amount, reserved=order.reserved_amount,
                last_attempt_failed=order.last_attempt_failed,
            ).value
            transition = set_status(order, derived, actor, reason or "unfrozen")
        _apply_field_changes(order, reseller_code, changes)
        if "paymentAmount" in changes.present:
            transition = apply_status(order, actor, reason or "amount changed") or transition
        order.version += 1
        order.updated_at = now_utc()
        after = order_dict(order, reseller_code)
        audit.record(actor, f"payment_order.{(changes.action or 'update').lower()}", "payment_order",
                     order.payment_id, before, after)
        outbox.emit("payment_order.updated", "payment_order", order.payment_id, after)
        if transition:
            outbox.emit("payment_order.status_changed", "payment_order", order.payment_id,
                        {**after, "fromStatus": transition[0], "reason": reason})
    return order, reseller_code


def _apply_field_changes(order: PaymentOrder, reseller_code: str, changes: OrderChanges) -> None:
    if "paymentAmount" in changes.present:
        amount = changes.payment_amount
        if amount < order.paid_amount + order.reserved_amount:
            raise StateConflict(
                f"paymentAmount may not be below paid + reserved ({order.paid_amount + order.reserved_amount:.2f})"
            )
        if order.payment_type == PaymentType.CREDIT_REPAYMENT and amount > order.payment_amount:
            _check_credit_repayment(
                NewPaymentOrder(order_id=order.order_id, reseller_code=reseller_code,
                                payment_type=order.payment_type, payment_amount=amount - order.paid_amount,
                                credit_record_id=order.related_business_id),
                order.reseller_id, exclude_order_id=order.id,
            )
        order.payment_amount = amount
    if "paymentDeadline" in changes.present:
        order.payment_deadline = changes.payment_deadline
    if "businessDesc" in changes.present:
        order.business_desc = changes.business_desc or ""
    if "priority" in changes.present:
        order.priority = changes.priority or 0
    if "tags" in changes.present:
        order.tags = changes.tags or {}
