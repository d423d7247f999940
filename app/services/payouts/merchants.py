"""Payout merchants (代付 payer accounts, docs/API.md §9): id, name, active, single and daily limits,
configured by an admin or ``flask merchants create``."""

from __future__ import annotations

import re
from decimal import Decimal

import sqlalchemy as sa

from ...domain.errors import ValidationFailed
from ...domain.money import at_most_two_decimals, money_str
from ...extensions import db
from ...models import Merchant
from ..audit import log as audit
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction


def lock_merchant(merchant_id: str) -> Merchant:
    """The active merchant, locked on PostgreSQL (it serialises the daily-limit check); else 422."""
    stmt = sa.select(Merchant).where(Merchant.merchant_id == merchant_id)
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update()  # serialises the daily-limit check per merchant
    merchant = db.session.scalar(stmt)
    if merchant is None or not merchant.active:
        raise ValidationFailed("unknown or inactive merchant", field="merchantId")
    return merchant


def upsert_merchant(actor: Actor, merchant_id: str, name: str, single_limit: Decimal, daily_limit: Decimal,
                    active: bool = True) -> tuple[Merchant, bool]:
    """Create or update a payout merchant and its limits (audited). Returns (merchant, created)."""
    if not re.match(r"^[A-Za-z0-9_-]{1,32}$", merchant_id or ""):
        raise ValidationFailed("merchant id must be 1–32 of A-Z a-z 0-9 _ -", field="merchantId")
    if single_limit <= 0 or daily_limit <= 0 or not at_most_two_decimals(single_limit) \
            or not at_most_two_decimals(daily_limit):
        raise ValidationFailed("limits must be positive with at most two decimals", field="singleLimit")
    with transaction():
        m = db.session.scalar(sa.select(Merchant).where(Merchant.merchant_id == merchant_id))
        created = m is None
        before = None
        if m is None:
            m = Merchant(merchant_id=merchant_id)
            db.session.add(m)
        else:
            before = {"name": m.name, "active": m.active, "singleLimit": money_str(m.single_limit),
                      "dailyLimit": money_str(m.daily_limit)}
        m.name, m.active, m.single_limit, m.daily_limit = name, active, single_limit, daily_limit
        db.session.flush()
        audit.record(actor, "merchant.create" if created else "merchant.update", "merchant", merchant_id, before,
                     {"name": name, "active": active, "singleLimit": money_str(single_limit),
                      "dailyLimit": money_str(daily_limit)})
    return m, created
