"""What a notification may say: a kind with its parameters. The words are the screens' business
(``app/labels.py`` ``notification_text``), chosen in the reader's language when shown."""

from __future__ import annotations

from enum import StrEnum


class NotificationKind(StrEnum):
    PAYMENT_RESULT = "PAYMENT_RESULT"  # {mergedPaymentId, status, totalAmount}
    APPROVAL_WAITING = "APPROVAL_WAITING"  # {mergedPaymentId, totalAmount}
    VOUCHER_REJECTED = "VOUCHER_REJECTED"  # {mergedPaymentId, channelPaymentId, reason}
    STATEMENT_READY = "STATEMENT_READY"  # {documentNumber, month}
    DEADLINE_REMINDER = "DEADLINE_REMINDER"  # {paymentId, orderId, stage, deadline, payableAmount}
