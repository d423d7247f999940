"""All models, one module per aggregate; importing this package registers every table."""

from .api_client import ApiClient, IdempotencyKey, WebhookEndpoint
from .audit import AuditEntry, OutboxEvent, WebhookDelivery
from .channel import Channel, channel_resellers
from .disbursement import Disbursement, Merchant
from .document import Document, DocumentContent
from .ledger import CreditEntry, CreditRecord, WalletEntry
from .merged_payment import ChannelPayment, MergedPayment
from .payment_order import PaymentOrder, StatusLog
from .reseller import Reseller
from .transaction import ChannelEvent, PaymentTransaction, Refund, Voucher
from .user import PasswordReset, User
from .wallet_change import WalletChange
from .webhook import WebhookAttempt

__all__ = [
    "ApiClient", "AuditEntry", "Channel", "ChannelEvent", "ChannelPayment", "CreditEntry", "CreditRecord",
    "Disbursement", "Document", "DocumentContent", "IdempotencyKey", "Merchant", "MergedPayment", "OutboxEvent",
    "PasswordReset", "PaymentOrder",
    "PaymentTransaction", "Refund", "Reseller", "StatusLog", "User", "Voucher", "WalletChange", "WalletEntry",
    "WebhookAttempt", "WebhookDelivery", "WebhookEndpoint", "channel_resellers",
]
