"""Secrets and bank accounts encrypted at rest with rotatable keys (MultiFernet).

``ENCRYPTION_KEYS`` lists keys newest first: new values are encrypted with the first key, any
listed key decrypts. To rotate: prepend a new key, run ``flask keys rotate`` (re-encrypts every
row under the newest key), then drop the old key.
"""

from __future__ import annotations

import re

from cryptography.fernet import Fernet, MultiFernet
from flask import current_app


def _fernet() -> MultiFernet:
    keys = current_app.config["ENCRYPTION_KEYS"]
    return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def rotate(token: str) -> str:
    return _fernet().rotate(token.encode()).decode()


def mask_account(account_no: str) -> str:
    """At most the first 4 and last 4 digits: ``6222 **** **** 1234``."""
    digits = re.sub(r"\D", "", account_no)
    if len(digits) <= 8:
        return "**** " + digits[-4:] if len(digits) > 4 else "****"
    return f"{digits[:4]} **** **** {digits[-4:]}"
