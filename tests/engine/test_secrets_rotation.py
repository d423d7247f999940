"""Secrets at rest: encrypted, rotatable without downtime (old and new callback secrets both verify while
rotating; encryption keys rotate with ``flask keys rotate``)."""

from __future__ import annotations

import json

import sqlalchemy as sa
from cryptography.fernet import Fernet

from app.channels.online import signature
from app.extensions import db
from app.models import Channel, Reseller
from app.services.accounts.resellers import BankAccount, ResellerChanges, upsert_reseller
from app.services.channel_config import lookup as channel_config
from app.services.platform import crypto
from tests.support.engine import OPERATOR
from tests.support.factories import add_channel


def _raw(table: str, column: str) -> list[str]:
    rows = db.session.execute(sa.text(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL")).scalars().all()
    db.session.rollback()
    return rows


def test_channel_secrets_are_encrypted_and_rotate_with_a_grace_period(engine_setup):
    add_channel("ONLINE_X", "ONLINE", config={"base_url": "http://127.0.0.1:9", "merchant_no": "M"},
                secrets={"api_secret": "api-old", "callback_secret": "cb-old-secret"})
    assert not any("cb-old-secret" in v for v in _raw("channels", "secrets_enc"))
    ch = db.session.scalar(sa.select(Channel).where(Channel.code == "ONLINE_X"))
    channel_config.set_secrets(ch, {"api_secret": "api-new", "callback_secret": "cb-new-secret"})
    db.session.commit()
    cfg = channel_config.config_by_code("ONLINE_X")
    assert cfg.secrets["callback_secret"] == "cb-new-secret"
    assert cfg.secrets["callback_secret_previous"] == "cb-old-secret"
    from app.channels.online import _secrets

    body = b'{"x":1}'
    for secret in ("cb-old-secret", "cb-new-secret"):
        assert signature.verify(_secrets(cfg, "callback_secret"), signature.sign(secret, body), body)
    assert not signature.verify(_secrets(cfg, "callback_secret"), signature.sign("cb-other", body), body)


def test_encryption_key_rotation_keeps_every_row_readable(app, engine_setup):
    upsert_reseller(OPERATOR, "R1001", ResellerChanges(
        refund_bank_account=BankAccount("6222020200112233445", "某公司", "ICBC")))
    add_channel("ONLINE_Y", "ONLINE", config={"base_url": "http://x", "merchant_no": "M"},
                secrets={"api_secret": "s1", "callback_secret": "s2"})
    old_keys = list(app.config["ENCRYPTION_KEYS"])
    new_key = Fernet.generate_key().decode()
    try:
        app.config["ENCRYPTION_KEYS"] = [new_key, *old_keys]
        result = app.test_cli_runner().invoke(args=["keys", "rotate"])
        assert result.exit_code == 0, result.output
        app.config["ENCRYPTION_KEYS"] = [new_key]  # the old key is dropped
        r = db.session.scalar(sa.select(Reseller).where(Reseller.code == "R1001"))
        assert crypto.decrypt(r.refund_account_no_enc) == "6222020200112233445"
        assert json.loads(crypto.decrypt(db.session.scalar(
            sa.select(Channel.secrets_enc).where(Channel.code == "ONLINE_Y"))))["api_secret"] == "s1"
        db.session.rollback()
        assert not any("6222020200112233445" in v for v in _raw("resellers", "refund_account_no_enc"))
    finally:
        app.config["ENCRYPTION_KEYS"] = old_keys
