"""A statement line as the reconciliation stores it, and the fingerprint that makes an import
idempotent: the same lines in the same order give the same SHA-256."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class Line:
    line_type: str  # payment | refund | payout
    channel_transaction_id: str
    reference: str  # our number (merchantOrderNo)
    amount: Decimal
    status: str
    completed_at: datetime | None


def fingerprint(lines: list[Line]) -> str:
    digest = hashlib.sha256()
    for line in lines:
        when = line.completed_at.isoformat() if line.completed_at else ""
        digest.update(f"{line.line_type}|{line.channel_transaction_id}|{line.reference}|{line.amount:.2f}|"
                      f"{line.status}|{when}\n".encode())
    return digest.hexdigest()
