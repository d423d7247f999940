"""How a new payment order is stored: two writers of the same rows behind one interface.

``OrderWriter.write_plain`` stores the plain case (an active reseller, not a credit repayment, no
replay, no natural-key twin) at once, outside the general path, or declines with None having
written nothing. On PostgreSQL that is one statement (``writer_pg``); elsewhere it always declines.
``write_checked`` is the general path, in the caller's transaction: every rule checked in Python,
then the order and its companion rows one statement each. Both write the same rows
(``new_order.new_order_rows``); ``tests/integration/test_create_paths.py`` keeps them in step.
"""

from __future__ import annotations

from typing import Protocol

import sqlalchemy as sa

from ...domain.enums import PaymentType, RelatedBusinessType
from ...domain.errors import ValidationFailed
from ...domain.reseller_rules import takes_new_orders
from ...extensions import db
from ...models import PaymentOrder, Reseller, StatusLog
from ...models.payment_order import NewOrderValues
from ..audit import log as audit
from ..platform import outbox
from ..platform.actor import Actor
from .credit_repayment import check_credit_repayment
from .new_order import NewPaymentOrder, new_order_rows
from .writer_pg import PostgresOrderWriter


class OrderWriter(Protocol):
    def write_plain(self, reseller_code: str, rows: dict[str, dict], lock: int | None) -> int | None:
        """Write ``rows`` by role (``order`` without ``reseller_id``, ``status``, ``audit``, ``outbox``,
        optionally ``key``) and return the new order's id; or write nothing and return None."""


class NoPlainWriter:
    """Databases without a one-statement writer: every create takes the general path."""

    def write_plain(self, reseller_code: str, rows: dict[str, dict], lock: int | None) -> int | None:
        return None


_PLAIN_WRITERS: dict[str, OrderWriter] = {"postgresql": PostgresOrderWriter()}
_NO_PLAIN_WRITER = NoPlainWriter()


def order_writer() -> OrderWriter:
    return _PLAIN_WRITERS.get(db.engine.dialect.name, _NO_PLAIN_WRITER)


# The general path's statements, built once; the values are bound per call (no statement building
# or cache-key walk per request).
_resellers = Reseller.__table__
_SELECT_RESELLER = sa.select(_resellers.c.id, _resellers.c.status).where(_resellers.c.code == sa.bindparam("code"))
_INSERT_ORDER = sa.insert(PaymentOrder.__table__).returning(PaymentOrder.__table__.c.id)


def _reseller_taking_orders(code: str) -> sa.Row:
    row = db.session.execute(_SELECT_RESELLER, {"code": code}).first()
    if row is None:
        raise ValidationFailed(f"reseller {code} is not known", field="resellerId")
    if not takes_new_orders(row.status):
        raise ValidationFailed(f"reseller {code} is suspended", field="resellerId")
    return row


def write_checked(actor: Actor, new: NewPaymentOrder) -> NewOrderValues:
    """The general path: checks, then the order and its companion rows one statement each."""
    reseller = _reseller_taking_orders(new.reseller_code)
    related_type = None
    if new.payment_type == PaymentType.CREDIT_REPAYMENT:
        check_credit_repayment(new, reseller.id)
        related_type = RelatedBusinessType.CREDIT_RECORD
    rows = new_order_rows(actor, new, reseller.id, related_type)
    order = rows.order
    order.id = db.session.execute(_INSERT_ORDER, rows.values).scalar_one()
    db.session.execute(sa.insert(StatusLog.__table__), {"payment_order_id": order.id, **rows.status_row})
    audit.insert_row(rows.audit_row)
    outbox.insert_row(rows.outbox_row)
    return order
