"""Fixtures for the payment engine: resellers, users and channels of every kind (``engine_setup``), an
ONLINE channel on the real sandbox gateway (``online``) and its payouts for refunds (``wire``). The
helpers are in tests/support/engine.py and tests/support/refunds.py."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.extensions import db
from app.models import Merchant, Reseller
from app.services.ledgers import wallet
from app.services.platform import crypto
from tests.support.factories import add_channel, add_user
from tests.support.online_gateway import API_SECRET, CALLBACK_SECRET, MERCHANT
from tests.support.refunds import ACCOUNT


@pytest.fixture
def engine_setup(ctx, make_reseller):
    """R1001 (wallet 500,000.00, credit 1,000,000.00) and R1002; WALLET, CREDIT and WIRE channels."""
    r1 = make_reseller("R1001", credit_limit="1000000.00")
    r2 = make_reseller("R1002")
    wallet.post(r1, Decimal("500000.00"), "TOPUP", reference=None, actor="test")
    db.session.commit()
    users = {}
    for email, role, code in (("op1@r1001.example", "reseller_operator", "R1001"),
                              ("ap1@r1001.example", "reseller_approver", "R1001"),
                              ("op2@r1002.example", "reseller_operator", "R1002"),
                              ("fin@example.com", "finance", None)):
        users[email.split("@")[0]] = add_user(email, role, {"R1001": r1, "R1002": r2}.get(code))
    add_channel("WALLET", "WALLET")
    add_channel("CREDIT", "CREDIT")
    add_channel("WIRE_ICBC", "WIRE", expire_seconds=7 * 86400,
                config={"account_name": "收款公司", "account_no": "6222020200112233445", "bank_name": "ICBC"})
    return {"R1001": r1, "R1002": r2, "users": users}


@pytest.fixture
def online(app, gateway, portal_http, engine_setup):
    """An ONLINE channel pointing at the sandbox; callbacks come back to ``portal_http``."""
    gateway.reset()
    gateway.set_faults(drop_rate=0.0, duplicate_rate=0.0, out_of_order=False, query_error_rate=0.0,
                       callback_delay_ms=0, callback_retry_base_ms=50, processing_resolves_to="SUCCESS")
    old = app.config["PUBLIC_BASE_URL"]
    app.config["PUBLIC_BASE_URL"] = portal_http
    add_channel("ONLINE_UNIONPAY", "ONLINE", config={"base_url": gateway.base_url, "merchant_no": MERCHANT},
                secrets={"api_secret": API_SECRET, "callback_secret": CALLBACK_SECRET}, confirm_timeout_seconds=900)
    yield gateway
    app.config["PUBLIC_BASE_URL"] = old


@pytest.fixture
def wire(app, online, engine_setup, tmp_path):
    """The sandbox gateway with M1001 (single 50,000, daily 100,000) paying out; R1001 has a refund
    account at ICBC."""
    db.session.add(Merchant(merchant_id="M1001", name="Payouts", active=True, single_limit=Decimal("50000.00"),
                            daily_limit=Decimal("100000.00")))
    r = db.session.get(Reseller, engine_setup["R1001"])
    r.refund_account_no_enc, r.refund_account_name, r.refund_bank_code = crypto.encrypt(ACCOUNT), "华东设备", "ICBC"
    db.session.commit()
    online.set_faults(payout_outcome="success", payout_delay_ms=100, payout_timeout_sleep_ms=15000)
    saved = app.config.get("DISBURSE_BANK_TIMEOUT_SECONDS")
    yield online
    app.config["DISBURSE_BANK_TIMEOUT_SECONDS"] = saved
