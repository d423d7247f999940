"""Verification codes: a receipt carries a random code (printed and in its QR code) that anyone can
check at the public page ``/verify/<code>``. The page confirms the key facts the document printed
(number, kind, amount, date, the payer's name partly masked) and nothing else: no order numbers,
no bank serials, no account. A code is 16 characters from 32 (80 bits): not guessable, so the
page's rate limit (docs/SECURITY.md) only stops enumeration from wasting the database's time.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from ...domain.enums import DocumentState
from ...extensions import db
from ...models import Document

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or typed from paper
CODE_LENGTH = 16
CODE_PATTERN = re.compile(rf"^[{ALPHABET}]{{{CODE_LENGTH}}}$")


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def verify_url(code: str) -> str:
    """The public address the QR code carries."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + f"/verify/{code}"


def mask_name(name: str) -> str:
    """A company name with its middle hidden: 上海星辰贸易有限公司 → 上海******公司."""
    if len(name) <= 4:
        return name[:1] + "*" * (len(name) - 1)
    keep = 2
    return name[:keep] + "*" * (len(name) - 2 * keep) + name[-keep:]


@dataclass(frozen=True)
class Verified:
    number: str
    kind: str
    doc_type: str
    ready_at: datetime
    facts: dict[str, Any]


def lookup(code: str) -> Verified | None:
    """The READY document that carries ``code`` and the facts it printed; None for a code that is
    malformed, unknown or on a document not (yet) issued."""
    if not CODE_PATTERN.match(code or ""):
        return None
    doc = db.session.scalar(sa.select(Document).where(Document.verification_code == code,
                                                      Document.state == DocumentState.READY))
    if doc is None or doc.ready_at is None:
        return None
    return Verified(doc.number, doc.kind, doc.doc_type, doc.ready_at, dict(doc.facts or {}))
