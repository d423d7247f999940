"""The product's words as enums (docs/DOMAIN.md §2–§9). Values are the API strings."""

from enum import StrEnum


class PaymentType(StrEnum):
    ADVANCE_PAYMENT = "ADVANCE_PAYMENT"
    FINAL_PAYMENT = "FINAL_PAYMENT"
    OTHER_FEE = "OTHER_FEE"
    CREDIT_REPAYMENT = "CREDIT_REPAYMENT"


class PaymentStatus(StrEnum):
    UNPAID = "UNPAID"
    PAYING = "PAYING"
    PARTIAL_PAID = "PARTIAL_PAID"
    PAID = "PAID"
    FAILED = "FAILED"
    STOPPED = "STOPPED"
    FROZEN = "FROZEN"


class RefundStatus(StrEnum):
    NO_REFUND = "NO_REFUND"
    REFUNDING = "REFUNDING"
    PARTIAL_REFUNDED = "PARTIAL_REFUNDED"
    FULL_REFUNDED = "FULL_REFUNDED"
    REFUND_FAILED = "REFUND_FAILED"


class RelatedBusinessType(StrEnum):
    """The kinds of ``relatedBusinessType`` the portal itself sets (callers may send others)."""

    CREDIT_RECORD = "CREDIT_RECORD"


class OrderAction(StrEnum):
    STOP = "STOP"
    FREEZE = "FREEZE"
    UNFREEZE = "UNFREEZE"


class TransactionType(StrEnum):
    PAYMENT = "PAYMENT"
    REFUND = "REFUND"


class TransactionStatus(StrEnum):
    PROCESSING = "PROCESSING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"


class MergedPaymentStatus(StrEnum):
    PENDING_APPROVAL = "PENDING_APPROVAL"
    PROCESSING = "PROCESSING"
    SUCCEEDED = "SUCCEEDED"
    PARTIALLY_SUCCEEDED = "PARTIALLY_SUCCEEDED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"


class ChannelPaymentStatus(StrEnum):
    PENDING = "PENDING"  # created, waiting for approval; nothing asked of the channel yet
    PROCESSING = "PROCESSING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


class ChannelKind(StrEnum):
    ONLINE = "ONLINE"
    WALLET = "WALLET"
    WIRE = "WIRE"
    CREDIT = "CREDIT"


class Role(StrEnum):
    RESELLER_OPERATOR = "reseller_operator"
    RESELLER_APPROVER = "reseller_approver"
    FINANCE = "finance"
    ADMIN = "admin"


RESELLER_ROLES = frozenset({Role.RESELLER_OPERATOR, Role.RESELLER_APPROVER})


class ResellerStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


class Scope(StrEnum):
    PAYMENTS = "payments"
    REFUNDS = "refunds"
    CREDIT = "credit"
    FINANCE = "finance"
    DISBURSE = "disburse"
    RESELLERS = "resellers"
    WEBHOOKS = "webhooks"


class CreditRecordStatus(StrEnum):
    OPEN = "OPEN"
    REPAID = "REPAID"
    OVERDUE = "OVERDUE"


class RefundOrderStatus(StrEnum):
    PROCESSING = "PROCESSING"
    SUCCESS = "SUCCESS"
    PARTIALLY_FAILED = "PARTIALLY_FAILED"
    FAILED = "FAILED"


class RefundType(StrEnum):
    FULL = "FULL"
    PARTIAL = "PARTIAL"


class RefundStrategy(StrEnum):
    LATEST = "LATEST"
    SPECIFIED = "SPECIFIED"
    PROPORTIONAL = "PROPORTIONAL"


class PayoutSource(StrEnum):
    """Who asked for a payout: settlement through the API, a WIRE refund, or a finance batch."""

    API = "API"
    REFUND = "REFUND"
    BATCH = "BATCH"


class DisbursementStatus(StrEnum):
    INIT = "INIT"
    PROCESSING = "PROCESSING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    MANUAL = "MANUAL"


class VoucherStatus(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    REJECTED = "REJECTED"


class WalletChangeKind(StrEnum):
    """What finance asks for on /finance/wallets (docs/DOMAIN.md §5)."""
    TOPUP = "TOPUP"
    ADJUST = "ADJUST"


class BatchStatus(StrEnum):
    """A disbursement batch (批量付款, docs/DOMAIN.md §9): uploaded and checked (DRAFT), submitted for a
    second finance user (PENDING), REJECTED by them, or approved and RUNNING until every row is final
    (COMPLETED)."""

    DRAFT = "DRAFT"
    PENDING = "PENDING"
    REJECTED = "REJECTED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"


class BatchRowState(StrEnum):
    """Where a row of a disbursement batch stands, from its payout: none yet (QUEUED), INIT or
    PROCESSING (PROCESSING), MANUAL, SUCCESS, or FAILED (its payout failed, or none could be made)."""

    QUEUED = "QUEUED"
    PROCESSING = "PROCESSING"
    MANUAL = "MANUAL"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"


class WalletChangeStatus(StrEnum):
    PENDING = "PENDING"  # above the approval threshold: waits for a second finance user
    APPROVED = "APPROVED"  # booked (at once, or by the second user)
    REJECTED = "REJECTED"


class WalletEntryType(StrEnum):
    TOPUP = "TOPUP"
    PAYMENT = "PAYMENT"
    PAYMENT_RELEASE = "PAYMENT_RELEASE"
    EXCESS = "EXCESS"
    REFUND = "REFUND"
    ADJUST = "ADJUST"


class CreditEntryType(StrEnum):
    USE = "USE"
    RELEASE = "RELEASE"
    REPAY = "REPAY"
    REFUND = "REFUND"
    REPAY_REVERSED = "REPAY_REVERSED"  # a refunded repayment brings the debt it paid back


class CreditLineStatus(StrEnum):
    """The status of a reseller's credit line (creditStatus, docs/API.md §5). A suspended reseller's credit
    line reads SUSPENDED whatever its own status."""

    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


class OutboxStatus(StrEnum):
    PENDING = "PENDING"  # waiting for the webhook fan-out
    DISPATCHED = "DISPATCHED"  # fanned out into webhook deliveries
    # A payout's notifyUrl row (services/payouts/notify.py) never is PENDING: NOTIFY, then SENT or DEAD.
    NOTIFY = "NOTIFY"
    SENT = "SENT"
    DEAD = "DEAD"


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    DEAD = "DEAD"


class WebhookDeliveryState(StrEnum):
    """A delivery as docs/API.md §10 names it (``services/webhooks/queries.api_state``): PENDING (no
    failed attempt yet), SUCCEEDED (stored DELIVERED), FAILED (pending, its last attempt failed; a
    retry is due), DEAD."""

    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    DEAD = "DEAD"


class GatewayPaymentStatus(StrEnum):
    """A payment as the ONLINE gateway reports it (query or callback, sandbox/PROTOCOL.md); NOT_FOUND is
    the adapter's word for the gateway's 404. Settlement maps the final ones to a ChannelPaymentStatus."""

    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    NOT_FOUND = "NOT_FOUND"


class GatewayRefundStatus(StrEnum):
    """A refund as the ONLINE gateway reports it; NOT_FOUND: the gateway never received the request."""

    PROCESSING = "PROCESSING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    NOT_FOUND = "NOT_FOUND"


class PayoutAnswer(StrEnum):
    """The payout gateway's answer as ``services/payouts/bank.py`` reads it: SUCCESS / FAILED / PROCESSING
    as the bank says, NOT_FOUND for an unknown payout, UNKNOWN when nothing readable came back."""

    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    PROCESSING = "PROCESSING"
    NOT_FOUND = "NOT_FOUND"
    UNKNOWN = "UNKNOWN"


class DocumentKind(StrEnum):
    """What a PDF document is, as the screens' ``data-kind`` says (docs/DOMAIN.md §5 "PDF documents")."""

    RECEIPT = "RECEIPT"
    STATEMENT = "STATEMENT"
    REPORT = "REPORT"


class DocumentState(StrEnum):
    """A document's life: QUEUED → RENDERING → READY, or FAILED (with a reason) → QUEUED on retry."""

    QUEUED = "QUEUED"
    RENDERING = "RENDERING"
    READY = "READY"
    FAILED = "FAILED"


class DocumentFailure(StrEnum):
    """Why a document FAILED, for the screens to say in the reader's language (the row's
    ``failure_reason`` keeps the details, in English)."""

    BAD_DATA = "BAD_DATA"  # the data cannot make this document (a payment with nothing paid)
    RENDER_ERROR = "RENDER_ERROR"  # the template or the printer failed
    TOO_LARGE = "TOO_LARGE"  # the worker ran out of memory
    STUCK = "STUCK"  # renderings started and never finished, MAX_ATTEMPTS times
    UNKNOWN_TYPE = "UNKNOWN_TYPE"  # no registered type of that name in this worker


class StatementLineKind(StrEnum):
    """What a monthly statement's detail line records (docs/DOMAIN.md §5 "Monthly statements")."""

    ORDER = "ORDER"  # an order created: owed up
    PAYMENT = "PAYMENT"  # a successful payment: owed down
    REFUND = "REFUND"  # a successful refund: money given back, owed unchanged
    STOPPED = "STOPPED"  # an order stopped: what it still owed is owed no more


class ReconClass(StrEnum):
    """The result of matching one statement line or one of our channel payments (docs/DOMAIN.md §8)."""

    MATCHED = "MATCHED"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    STATUS_MISMATCH = "STATUS_MISMATCH"
    MISSING_IN_SYSTEM = "MISSING_IN_SYSTEM"  # 漏单: the channel has it, we do not
    MISSING_IN_CHANNEL = "MISSING_IN_CHANNEL"
    DUPLICATE = "DUPLICATE"


class ReconRunState(StrEnum):
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"


class ReconRunStage(StrEnum):
    """How far a run's current work has got (services/reconciliation/progress.py)."""

    QUEUED = "QUEUED"
    WAITING = "WAITING"  # the channel has not published the statement yet: retried
    FETCHING = "FETCHING"
    SETTLING = "SETTLING"
    MATCHING = "MATCHING"
    DONE = "DONE"
    FAILED = "FAILED"


class ReconExceptionState(StrEnum):
    OPEN = "OPEN"
    RESOLVED = "RESOLVED"


class ReconAction(StrEnum):
    """How a reconciliation exception was resolved (docs/DOMAIN.md §8 "Resolving a difference")."""

    REQUERY = "REQUERY"  # the channel was asked again; its answer settled the payment
    ACCEPT_CHANNEL = "ACCEPT_CHANNEL"  # the channel's figure taken: settlement path or wallet credit
    LINK_PAYMENT = "LINK_PAYMENT"  # the line belongs to a payment whose number did not match
    WRITE_OFF = "WRITE_OFF"  # nothing moves: written off (resolved) with a reason
    REVERSE = "REVERSE"  # what we recorded but the channel did not take is taken back out (reversal.py)
    SYSTEM = "SYSTEM"  # resolved by the system (not on a corrected statement)


class BankReceiptState(StrEnum):
    """A credit line of a WIRE bank statement (docs/DOMAIN.md "Wire auto-match"): MATCHED confirmed a
    wire payment; OPEN is an unidentified receipt waiting for finance; ASSIGNED and RETURNED are
    finance's decisions on one."""

    MATCHED = "MATCHED"
    OPEN = "OPEN"
    ASSIGNED = "ASSIGNED"
    RETURNED = "RETURNED"


class BankReceiptReason(StrEnum):
    """Why a credit line was kept OPEN rather than matched."""

    NO_REFERENCE = "NO_REFERENCE"  # no reference code of ours in the memo: suggestions are ranked
    UNKNOWN_REFERENCE = "UNKNOWN_REFERENCE"  # code-shaped, but no WIRE payment has it
    ALREADY_FINAL = "ALREADY_FINAL"  # the payment it names was already confirmed, failed or expired
    SHORTFALL = "SHORTFALL"  # less arrived than expected: finance accepts or rejects the shortfall


class StatementSource(StrEnum):
    GATEWAY = "GATEWAY"  # an ONLINE channel's daily statement CSV
    LEDGER = "LEDGER"  # WALLET / CREDIT: our own ledger entries read as the channel's statement


class MailState(StrEnum):
    """The e-mail of a notification (docs/ARCHITECTURE.md "Mail"); no state: no e-mail was planned
    (opted out, no SMTP configured, or no address)."""

    PENDING = "PENDING"  # to send: a job is queued, retrying, or the sweep queues one again
    SENT = "SENT"  # the SMTP server accepted it
    FAILED = "FAILED"  # refused for good (a 5xx answer, a bad address) or still unsent after MAIL_GIVE_UP_HOURS
    SKIPPED = "SKIPPED"  # the reader opted out, or was disabled, before it went
