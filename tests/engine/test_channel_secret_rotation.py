"""A rotated ONLINE callback secret, end to end with the real sandbox gateway over HTTP (issue 15):
the portal rotates (admin, ``channel_config.settings.rotate_callback_secret``), the gateway follows
through its own configuration (``PUT /_sandbox/merchants/<no>/callback-secret``, as a merchant
console would); during the overlap callbacks signed with either secret settle, after it the old
one is refused and the payment waits, untouched, until the gateway signs with the current one."""

from __future__ import annotations

from datetime import timedelta

from app.domain.timeutil import utcnow
from app.extensions import db
from app.models import ChannelPayment
from app.services.channel_config import settings
from sandbox.testing import wait_until
from tests.support.engine import OPERATOR, check_invariants, checkout_online, detached, order

CODE = "ONLINE_UNIONPAY"
REFUSED = "rejected: bad or stale signature"


def _status(cp_id: int) -> str:
    db.session.expire_all()
    status = detached(db.session.get(ChannelPayment, cp_id)).status
    db.session.rollback()
    return status


def _pay(online, engine_setup) -> tuple[list[str], int, str]:
    pids, _res, cp = checkout_online(engine_setup)
    online.complete_payment(cp.channel_transaction_id, "SUCCESS")
    return pids, cp.id, cp.channel_transaction_id


def _refused_attempts(online, txn_id: str) -> int:
    return sum(1 for cb in online.admin_callbacks(txn_id) for d in cb["deliveries"]
               if d["httpStatus"] == 400 and REFUSED in (d["responseBody"] or ""))


def test_the_gateway_follows_a_rotation_and_the_old_secret_ends_with_the_overlap(online, engine_setup):
    first = settings.rotate_callback_secret(OPERATOR, CODE, timedelta(hours=1))
    # The gateway still signs with the secret it had: the overlap lets the callback settle.
    pids, cp_id, _txn = _pay(online, engine_setup)
    wait_until(lambda: _status(cp_id) == "SUCCESS")
    assert [order(p).payment_status for p in pids] == ["PAID", "PAID"]

    online.set_callback_secret(first)  # the merchant console follows the rotation
    pids, cp_id, _txn = _pay(online, engine_setup)
    wait_until(lambda: _status(cp_id) == "SUCCESS")

    # A second rotation, made two hours ago with a one-hour overlap: ``first`` ended an hour ago.
    second = settings.rotate_callback_secret(OPERATOR, CODE, timedelta(hours=1), now=utcnow() - timedelta(hours=2))
    pids, cp_id, txn = _pay(online, engine_setup)
    wait_until(lambda: _refused_attempts(online, txn) >= 2)  # refused, and retried by the gateway
    assert _status(cp_id) == "PROCESSING"
    assert [order(p).payment_status for p in pids] == ["PAYING", "PAYING"]

    online.set_callback_secret(second)  # the gateway's next retry is signed with the current secret
    wait_until(lambda: _status(cp_id) == "SUCCESS")
    assert [order(p).payment_status for p in pids] == ["PAID", "PAID"]
    check_invariants()


def test_the_gateway_refuses_a_secret_it_cannot_use_and_keeps_the_old_one(online, engine_setup):
    for body, status in (({"callbackSecret": "short"}, 400), ({"callbackSecret": "x" * 257}, 400),
                         ({"callbackSecret": "ünïcode-secret-123456"}, 400), ({}, 400), ({"callbackSecret": 7}, 400)):
        assert online.admin("PUT", "/_sandbox/merchants/MCH1001/callback-secret", body).status == status
    assert online.admin("PUT", "/_sandbox/merchants/NOPE/callback-secret",
                        {"callbackSecret": "a-good-enough-secret"}).status == 404
    pids, cp_id, _txn = _pay(online, engine_setup)  # still signed with the configured secret
    wait_until(lambda: _status(cp_id) == "SUCCESS")
