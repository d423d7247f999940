"""Named domain errors. Views translate them into API codes or form messages."""

from __future__ import annotations


class DomainError(Exception):
    code = "STATE_CONFLICT"
    http_status = 409

    def __init__(self, message: str, *, field: str | None = None, errors: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or ([{"field": field, "message": message}] if field else None)


class ValidationFailed(DomainError):
    code = "VALIDATION_ERROR"
    http_status = 422


class NotFound(DomainError):
    code = "NOT_FOUND"
    http_status = 404


class StateConflict(DomainError):
    code = "STATE_CONFLICT"
    http_status = 409


class DuplicatePaymentOrder(DomainError):
    code = "DUPLICATE_PAYMENT_ORDER"
    http_status = 409


class RequestInProgress(DomainError):
    code = "REQUEST_IN_PROGRESS"
    http_status = 409


class IdempotencyKeyReused(DomainError):
    code = "IDEMPOTENCY_KEY_REUSED"
    http_status = 422


class CreditRecordMismatch(DomainError):
    code = "CREDIT_RECORD_MISMATCH"
    http_status = 422


class Forbidden(DomainError):
    code = "FORBIDDEN"
    http_status = 403
