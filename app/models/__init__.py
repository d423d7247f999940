"""All models, one module per aggregate; importing this package registers every table."""

from .alert import Alert
from .api_client import ApiClient, IdempotencyKey, WebhookEndpoint
from .audit import AuditEntry, OutboxEvent, WebhookDelivery
from .bank_receipt import BankReceipt
from .channel import Channel, channel_resellers
from .disbursement import Disbursement, Merchant
from .disbursement_batch import DisbursementBatch, DisbursementBatchRow
from .document import Document, DocumentContent
from .ledger import CreditEntry, CreditRecord, WalletEntry
from .merged_payment import ChannelPayment, MergedPayment
from .money_flow import MoneyFlowDay, OpenOrderDay
from .notification import MailOptOut, Notification
from .payment_order import PaymentOrder, StatusLog
from .reconciliation import (
    ReconciliationException,
    ReconciliationResult,
    ReconciliationRun,
    StatementImport,
    StatementLine,
)
from .reseller import Reseller
from .stored_file import StoredFile, StoredFileChunk
from .transaction import ChannelEvent, PaymentTransaction, Refund, Voucher
from .user import PasswordReset, User
from .wallet_change import WalletChange
from .webhook import WebhookAttempt

__all__ = [
    "Alert", "ApiClient", "AuditEntry", "BankReceipt", "Channel", "ChannelEvent", "ChannelPayment", "CreditEntry",
    "CreditRecord",
    "Disbursement", "DisbursementBatch", "DisbursementBatchRow",
    "Document", "DocumentContent", "IdempotencyKey", "MailOptOut", "Merchant", "MergedPayment", "MoneyFlowDay",
    "OpenOrderDay",
    "Notification",
    "OutboxEvent",
    "PasswordReset", "PaymentOrder", "ReconciliationException", "ReconciliationResult", "ReconciliationRun",
    "StatementImport", "StatementLine", "StoredFile", "StoredFileChunk",
    "PaymentTransaction", "Refund", "Reseller", "StatusLog", "User", "Voucher", "WalletChange", "WalletEntry",
    "WebhookAttempt", "WebhookDelivery", "WebhookEndpoint", "channel_resellers",
]
