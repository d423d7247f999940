"""Creating a payment order (docs/DOMAIN.md §3, docs/API.md §2–3): idempotent by the client's key,
natural-key aware, in one transaction with its status log, audit entry and outbox event.

The plain case goes to the order writer first (one statement on PostgreSQL); whatever it declines,
and every case it cannot decide (a replay, a natural-key twin, an unknown or suspended reseller, a
credit repayment), takes the general path here, which answers it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from ...domain.enums import PaymentType
from ...domain.errors import DuplicatePaymentOrder, StateConflict
from ...models import PaymentOrder
from ...models.payment_order import NewOrderValues
from ..platform import idempotency, outbox
from ..platform.actor import Actor
from ..platform.unit_of_work import discard, transaction
from .lookup import find_by_natural_key, get_order_with_reseller
from .new_order import NewPaymentOrder, new_order_rows
from .writer import order_writer, write_checked

CREATE_OPERATION = "payment_order.create"


@dataclass
class CreateOutcome:
    order: PaymentOrder | NewOrderValues
    reseller_code: str
    status_code: int
    duplicate: bool
    view: dict | None = None  # the order's API view when already built (a fresh create)


def create_payment_order(actor: Actor, new: NewPaymentOrder, *, idempotency_key: str | None,
                         fingerprint: str) -> CreateOutcome:
    """Create one order (see the module docstring). A replay answers the stored status with the
    order as it is now."""
    if new.payment_type != PaymentType.CREDIT_REPAYMENT:
        created = write_plain(actor, new, idempotency_key, fingerprint)
        if created is not None:
            return created
    try:
        with transaction():
            if idempotency_key:
                stored = idempotency.claim(_key_owner(actor), CREATE_OPERATION, idempotency_key, fingerprint)
                if stored:
                    return _replay(stored.resource_id, stored.response_code)
            order = write_checked(actor, new)
            if idempotency_key:
                idempotency.store(_key_owner(actor), CREATE_OPERATION, idempotency_key, fingerprint, 201,
                                  order.payment_id)
        return CreateOutcome(order, new.reseller_code, 201, False)
    except IntegrityError:
        discard()
    # A concurrent request won the race on the idempotency key or on the natural key.
    with transaction():
        if idempotency_key:
            stored = idempotency.lookup(_key_owner(actor), CREATE_OPERATION, idempotency_key, fingerprint)
            if stored:
                return _replay(stored.resource_id, stored.response_code)
        existing = find_by_natural_key(new)
        if existing is None:
            raise StateConflict("the order could not be stored because of a concurrent change; retry")
        return _natural_key_duplicate(existing, new)


def _key_owner(actor: Actor) -> int:
    """The API client an idempotency key belongs to: a key comes only with an API request."""
    assert actor.client_id is not None, "an idempotency key without an API client"
    return actor.client_id


def write_plain(actor: Actor, new: NewPaymentOrder, idempotency_key: str | None,
                fingerprint: str) -> CreateOutcome | None:
    """The plain case through the order writer; None when it declined (nothing was written, or a
    replay will find it) and the general path must decide."""
    rows = new_order_rows(actor, new, reseller_id=None)
    order_row = dict(rows.values)
    del order_row["reseller_id"]
    written = {"order": order_row, "status": rows.status_row, "audit": rows.audit_row, "outbox": rows.outbox_row}
    lock = None
    if idempotency_key:
        written["key"] = idempotency.key_row(_key_owner(actor), CREATE_OPERATION, idempotency_key, fingerprint,
                                             201, rows.order.payment_id)
        lock = idempotency.lock_id(_key_owner(actor), CREATE_OPERATION, idempotency_key)
    order_id = order_writer().write_plain(new.reseller_code, written, lock)
    if order_id is None:
        return None
    outbox.committed_elsewhere()
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
