"""One transaction's whole chain for the finance detail view: the payment order, the merged payment,
the channel payment, the channel's callbacks, the ledger entries it booked and the audit entries of
each of them. Read only.

Callbacks are ``channel_events`` of the channel payment's channel whose body names its channel
transaction id, received from the payment's creation on (a channel event has no key to the payment:
the body is what the bank sent). Ledger entries are the wallet and credit entries of the reseller
whose reference is the transaction (a refund part) or its channel payment (a WALLET / CREDIT payment)."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from ...domain.enums import TransactionType
from ...extensions import db
from ...models import (
    AuditEntry,
    ChannelEvent,
    ChannelPayment,
    CreditEntry,
    MergedPayment,
    PaymentOrder,
    PaymentTransaction,
    Reseller,
    WalletEntry,
)

MAX_EVENTS = 50


@dataclass
class Chain:
    txn: PaymentTransaction
    order: PaymentOrder
    reseller: Reseller
    original: PaymentTransaction | None
    merged: MergedPayment | None
    channel_payment: ChannelPayment | None
    callbacks: list[ChannelEvent] = field(default_factory=list)
    wallet_entries: list[WalletEntry] = field(default_factory=list)
    credit_entries: list[CreditEntry] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)


def chain_of(transaction_id: str) -> Chain | None:
    txn = db.session.scalar(sa.select(PaymentTransaction).where(PaymentTransaction.transaction_id == transaction_id))
    if txn is None:
        return None
    order = db.session.get_one(PaymentOrder, txn.payment_order_id)
    chain = Chain(
        txn=txn, order=order, reseller=db.session.get_one(Reseller, txn.reseller_id),
        original=(db.session.get(PaymentTransaction, txn.original_transaction_id)
                  if txn.original_transaction_id else None),
        merged=db.session.get(MergedPayment, txn.merged_payment_id) if txn.merged_payment_id else None,
        channel_payment=db.session.get(ChannelPayment, txn.channel_payment_id) if txn.channel_payment_id else None,
    )
    cp = chain.channel_payment
    # A payment's ledger entry names its channel payment; a refund part's names the part itself (the
    # channel payment it carries is its original payment's).
    paying = txn.transaction_type == TransactionType.PAYMENT
    references = [txn.transaction_id] + ([cp.channel_payment_id] if cp and paying else [])
    if cp is not None and cp.channel_transaction_id:
        chain.callbacks = list(db.session.scalars(
            sa.select(ChannelEvent).where(ChannelEvent.channel_code == cp.channel_code,
                                          ChannelEvent.received_at >= cp.created_at,
                                          ChannelEvent.body.contains(cp.channel_transaction_id, autoescape=True))
            .order_by(ChannelEvent.received_at).limit(MAX_EVENTS)))
    chain.wallet_entries = list(db.session.scalars(
        sa.select(WalletEntry).where(WalletEntry.reseller_id == txn.reseller_id, WalletEntry.reference.in_(references))
        .order_by(WalletEntry.id)))
    chain.credit_entries = list(db.session.scalars(
        sa.select(CreditEntry).where(CreditEntry.reseller_id == txn.reseller_id, CreditEntry.reference.in_(references))
        .order_by(CreditEntry.id)))
    targets = [("transaction", txn.transaction_id), ("payment_order", order.payment_id)]
    if cp is not None:
        targets.append(("channel_payment", cp.channel_payment_id))
    if chain.merged is not None:
        targets.append(("merged_payment", chain.merged.merged_payment_id))
    # By (target_type, target_id): the audit log's index.
    chain.audit = list(db.session.scalars(
        sa.select(AuditEntry).where(sa.or_(*[sa.and_(AuditEntry.target_type == kind, AuditEntry.target_id == ident)
                                             for kind, ident in targets]))
        .order_by(AuditEntry.id).limit(200)))
    return chain
