"""Words for codes on the screens: statuses, types, channel kinds, roles (codes stay in the URL and
in ``data-*`` attributes; people read these)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l

LABELS = {
    # payment order status
    "UNPAID": _l("Unpaid"), "PAYING": _l("Paying"), "PARTIAL_PAID": _l("Partially paid"), "PAID": _l("Paid"),
    "STOPPED": _l("Stopped"), "FROZEN": _l("Frozen"),
    # refund status of an order
    "NO_REFUND": _l("No refund"), "REFUNDING": _l("Refunding"), "PARTIAL_REFUNDED": _l("Partially refunded"),
    "FULL_REFUNDED": _l("Fully refunded"), "REFUND_FAILED": _l("Refund failed"),
    # payment types
    "ADVANCE_PAYMENT": _l("Advance payment"), "FINAL_PAYMENT": _l("Final payment"), "OTHER_FEE": _l("Other fee"),
    "CREDIT_REPAYMENT": _l("Credit repayment"),
    # merged / channel payments, transactions, refunds, disbursements, vouchers
    "PENDING_APPROVAL": _l("Waiting for approval"), "PROCESSING": _l("Processing"), "SUCCEEDED": _l("Succeeded"),
    "PARTIALLY_SUCCEEDED": _l("Partially succeeded"), "FAILED": _l("Failed"), "EXPIRED": _l("Expired"),
    "CANCELLED": _l("Cancelled"), "REJECTED": _l("Rejected"), "PENDING": _l("Pending"), "SUCCESS": _l("Succeeded"),
    "PARTIALLY_FAILED": _l("Partially failed"), "INIT": _l("Created"), "MANUAL": _l("Needs manual check"),
    "CONFIRMED": _l("Confirmed"), "APPROVED": _l("Approved"), "OPEN": _l("Open"), "REPAID": _l("Repaid"),
    "OVERDUE": _l("Overdue"),
    # disbursement batches (PENDING, REJECTED, QUEUED, PROCESSING, MANUAL, SUCCESS, FAILED are above)
    "DRAFT": _l("Draft"), "RUNNING": _l("Running"), "COMPLETED": _l("Completed"),
    "PAYMENT": _l("Payment"), "REFUND": _l("Refund"),
    # channel kinds
    "ONLINE": _l("Online bank"), "WALLET": _l("Enterprise wallet"), "WIRE": _l("Wire transfer"),
    "CREDIT": _l("Credit line"),
    # refund strategies and types
    "LATEST": _l("Newest first"), "SPECIFIED": _l("Specified transaction"), "PROPORTIONAL": _l("Proportional"),
    "FULL": _l("Full"), "PARTIAL": _l("Partial"),
    # wallet and credit entries
    "TOPUP": _l("Top-up"), "PAYMENT_RELEASE": _l("Released reservation"), "EXCESS": _l("Overpayment credited"),
    "ADJUST": _l("Adjustment"), "USE": _l("Credit used"), "RELEASE": _l("Credit released"),
    "REPAY": _l("Repayment"),
    # documents: kinds and states (FAILED is above)
    "RECEIPT": _l("Payment receipt"), "STATEMENT": _l("Monthly statement"), "REPORT": _l("Report"),
    "QUEUED": _l("Queued"), "RENDERING": _l("Being made"), "READY": _l("Ready"),
    # why a document failed (DocumentFailure)
    "BAD_DATA": _l("The data cannot make this document yet."),
    "RENDER_ERROR": _l("The document could not be printed."),
    "TOO_LARGE": _l("The document is too large to print."),
    "STUCK": _l("Printing was interrupted several times."),
    "UNKNOWN_TYPE": _l("This kind of document cannot be made."),
    # reconciliation: classes, runs, exceptions (OPEN is above)
    "MATCHED": _l("Matched"), "AMOUNT_MISMATCH": _l("Amount differs"), "STATUS_MISMATCH": _l("Status differs"),
    "MISSING_IN_SYSTEM": _l("Missing in our system"), "MISSING_IN_CHANNEL": _l("Missing at the channel"),
    "DUPLICATE": _l("Duplicate line"), "RESOLVED": _l("Resolved"),  # RUNNING, COMPLETED: with the batches
    # reconciliation: the actions on an exception (ReconAction)
    "REQUERY": _l("Ask the channel again"), "ACCEPT_CHANNEL": _l("Accept the channel's figure"),
    "LINK_PAYMENT": _l("Link to a payment"), "WRITE_OFF": _l("Write off (nothing moves)"),
    "REVERSE": _l("Reverse what the channel did not take"),
    "SYSTEM": _l("Resolved by the system"),
    # how far a reconciliation run has got (QUEUED and FAILED are above; DONE shows as words)
    "WAITING": _l("Waiting for the statement"), "FETCHING": _l("Reading the statement"),
    "SETTLING": _l("Settling what the channel saw succeed"), "MATCHING": _l("Matching"),
    # roles
    "reseller_operator": _l("Reseller operator"), "reseller_approver": _l("Reseller approver"),
    "finance": _l("Finance"), "admin": _l("Administrator"),
}


def label(code: str | None) -> str:
    """The person's word for a code; an unknown code is shown as it is."""
    if not code:
        return ""
    text = LABELS.get(code)
    return str(text) if text is not None else code


# Memos the portal writes on wallet entries, by code (services/ledgers/wallet_memos.py); the
# parameters fill the placeholders. An entry without a code shows its memo as a person wrote it.
WALLET_MEMOS = {
    "EXCESS_OF_WIRE": _l("Excess of wire transfer %(reference)s"),
    "REPAYMENT_ABOVE_OUTSTANDING": _l("Repayment above what was owed on credit record %(record)s"),
    "REFUND": _l("Refund %(refund)s"),
    "REFUND_CREDIT_ALREADY_REPAID": _l("Refund %(refund)s: the credit was already repaid"),
    "PAYMENT": _l("Payment %(subject)s"),
    "TOPUP": _l("Deposit received (bank serial %(serial)s) %(note)s"),
    "ADJUSTMENT": _l("Adjustment by finance: %(reason)s"),
}


def wallet_memo(code: str | None, params: dict | None, text: str) -> str:
    """A wallet entry's memo in the reader's language."""
    template = WALLET_MEMOS.get(code or "")
    if template is None:
        return text or ""
    try:
        return str(template) % {k: str(v) for k, v in (params or {}).items()}
    except (KeyError, TypeError, ValueError):  # parameters of an older memo version: show the stored text
        return text or ""


# Notifications to people, by kind (services/notifications/kinds.py); worded when shown, in the
# reader's language. A parameter that is a code (a status, a reminder's stage) is worded too.
NOTIFICATIONS = {
    "PAYMENT_RESULT": _l("Payment %(mergedPaymentId)s of %(amount)s finished: %(status)s."),
    "APPROVAL_WAITING": _l("Payment %(mergedPaymentId)s of %(amount)s is waiting for your approval."),
    "VOUCHER_REJECTED": _l("Finance rejected the wire voucher of payment %(mergedPaymentId)s: %(reason)s"),
    "STATEMENT_READY": _l("Your statement for %(month)s is ready (%(documentNumber)s)."),
    "DEADLINE_REMINDER": _l("Order %(orderId)s (%(paymentId)s): %(amount)s to pay, %(when)s."),
}
REMINDER_STAGES = {
    "1d": _l("due tomorrow"),
    "day": _l("due today"),
    "overdue": _l("overdue"),
}


def _reminder_stage(stage: str) -> str:
    if stage in REMINDER_STAGES:
        return str(REMINDER_STAGES[stage])
    days = stage[:-1]
    if stage.endswith("d") and days.isdigit():
        return str(_l("due in %(days)s days", days=days))
    return stage


def notification_text(kind: str, params: dict | None) -> str:
    """A notification in the reader's language; an unknown kind or an older parameter set shows the
    kind's code rather than failing the page."""
    template = NOTIFICATIONS.get(kind)
    values = {k: str(v) for k, v in (params or {}).items()}
    if template is None:
        return kind
    amount = values.get("totalAmount") or values.get("payableAmount")
    values["amount"] = _yuan(amount) if amount else ""
    values["status"] = label(values.get("status"))
    values["when"] = _reminder_stage(values.get("stage", ""))
    try:
        return str(template) % values
    except (KeyError, TypeError, ValueError):
        return kind


def _yuan(text: str) -> str:
    """``¥1,250,000.00`` from a stored amount text (exact: Decimal, never float)."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    return f"-¥{abs(value):,.2f}" if value < 0 else f"¥{value:,.2f}"
