"""Reseller master data, as sent by upstream systems (docs/API.md §6) or the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from ...domain.enums import CreditLineStatus, ResellerStatus
from ...domain.errors import NotFound, StateConflict, ValidationFailed
from ...domain.event_types import EventType
from ...domain.money import money_str
from ...domain.timeutil import to_shanghai_iso
from ...extensions import db
from ...models import Reseller
from ..audit import log as audit
from ..platform import crypto, outbox
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction

CREDIT_FIELDS = frozenset({"creditLimit", "creditTermDays", "creditStatus"})


@dataclass
class BankAccount:
    account_no: str
    account_name: str
    bank_code: str


@dataclass
class ResellerChanges:
    name: str | None = None
    status: str | None = None
    credit_limit: Decimal | None = None
    credit_term_days: int | None = None
    credit_status: str | None = None
    approval_threshold: Decimal | None = None
    refund_bank_account: BankAccount | None = None
    present: frozenset[str] = frozenset()


def reseller_dict(r: Reseller) -> dict:
    account = None
    if r.refund_account_no_enc:
        account = {
            "accountNo": crypto.mask_account(crypto.decrypt(r.refund_account_no_enc)),
            "accountName": r.refund_account_name,
            "bankCode": r.refund_bank_code,
        }
    return {
        "resellerId": r.code,
        "name": r.name,
        "status": r.status,
        "creditLimit": money_str(r.credit_limit),
        "creditTermDays": r.credit_term_days,
        "creditStatus": r.credit_status,
        "approvalThreshold": money_str(r.approval_threshold),
        "refundBankAccount": account,
        "walletBalance": money_str(r.wallet_balance),
        "createdAt": to_shanghai_iso(r.created_at),
        "updatedAt": to_shanghai_iso(r.updated_at),
    }


def list_resellers() -> list[Reseller]:
    return list(db.session.scalars(sa.select(Reseller).order_by(Reseller.code)))


def get_reseller(code: str) -> Reseller:
    r = db.session.scalar(sa.select(Reseller).where(Reseller.code == code))
    if r is None:
        raise NotFound(f"reseller {code} does not exist")
    return r


def upsert_reseller(actor: Actor, code: str, ch: ResellerChanges) -> tuple[Reseller, bool]:
    """Create or update a reseller. Returns (reseller, created)."""
    with transaction():
        r = db.session.scalar(sa.select(Reseller).where(Reseller.code == code).with_for_update())
        created = r is None
        if r is None:
            if not ch.name:
                raise ValidationFailed("name is required for a new reseller", field="name")
            r = Reseller(code=code, name=ch.name, status=ResellerStatus.ACTIVE, credit_limit=Decimal("0.00"),
                         credit_used=Decimal("0.00"), wallet_balance=Decimal("0.00"), credit_term_days=30,
                         credit_status=CreditLineStatus.ACTIVE, approval_threshold=Decimal("1000000.00"), version=1)
            db.session.add(r)
            before = None
        else:
            before = reseller_dict(r)
        if ch.name is not None:
            r.name = ch.name
        if ch.status is not None:
            r.status = ch.status
        if ch.credit_limit is not None:
            if ch.credit_limit < r.credit_used:
                # The credit line never stands above its limit (a CHECK backs it): lowering the limit
                # waits until repayments bring the used credit down.
                raise StateConflict(f"creditLimit {ch.credit_limit:.2f} is below the credit in use "
                                    f"{r.credit_used:.2f}; lower it after repayments", field="creditLimit")
            r.credit_limit = ch.credit_limit
        if ch.credit_term_days is not None:
            r.credit_term_days = ch.credit_term_days
        if ch.credit_status is not None:
            r.credit_status = ch.credit_status
        if ch.approval_threshold is not None:
            r.approval_threshold = ch.approval_threshold
        if ch.refund_bank_account is not None:
            acct = ch.refund_bank_account
            r.refund_account_no_enc = crypto.encrypt(acct.account_no)
            r.refund_account_name = acct.account_name
            r.refund_bank_code = acct.bank_code
        if not created:
            r.version += 1
        db.session.flush()
        after = reseller_dict(r)
        audit.record(actor, "reseller.create" if created else "reseller.update", "reseller", code, before, after)
        outbox.emit(EventType.RESELLER_UPSERTED, "reseller", code, after)
    return r, created
