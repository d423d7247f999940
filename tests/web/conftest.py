"""Screens: people of every role, signed in through the real sign-in form (CSRF on), and the channels
of every kind (``shop``). The helpers are in tests/support/ (web, html, checkout_screen, screen_setup)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import MergedPayment, Notification, PaymentTransaction, Reseller, User, WalletEntry
from app.services.alerts.raising import raise_alert
from app.services.platform.unit_of_work import transaction
from tests.support import screen_setup, webhook_world
from tests.support.admin import audit_entry
from tests.support.batch_files import pending_batch
from tests.support.documents import failed_receipt, stored_receipt
from tests.support.factories import add_channel
from tests.support.statement_world import stored_statement
from tests.support.web import Portal, create_portal, sign_in


@pytest.fixture(autouse=True)
def web_app(app):
    """The app the tests/support/screen_setup.py helpers open their contexts on."""
    screen_setup.APP["app"] = app
    yield app


@pytest.fixture
def portal(app) -> Portal:
    """Resellers R1001 (wallet ¥500,000, credit ¥1,000,000) and R1002, and one user per entry of PEOPLE."""
    return create_portal(app)


@pytest.fixture
def signed_in(app, portal):
    """signed_in("operator@r1001.example") -> a test client with that user's session."""

    def make(email: str):
        client = app.test_client()
        response = sign_in(client, email)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return make


@pytest.fixture
def shop(app, portal):
    """The portal people plus WALLET, CREDIT and WIRE channels open to everyone."""
    with app.app_context():
        # The portal fixture sets the balances directly; their opening entries keep the ledger whole.
        for r in db.session.scalars(sa.select(Reseller).where(Reseller.wallet_balance > 0)):
            db.session.add(WalletEntry(reseller_id=r.id, entry_type="TOPUP", amount=r.wallet_balance,
                                       balance_after=r.wallet_balance, actor="tests", memo="opening balance"))
        db.session.commit()
        add_channel("WALLET", "WALLET", name="企业钱包", name_en="Company wallet", sort_order=1)
        add_channel("CREDIT", "CREDIT", name="信用额度", name_en="Credit line", sort_order=2)
        add_channel("WIRE_ICBC", "WIRE", name="工商银行电汇", name_en="ICBC wire", sort_order=3,
                    expire_seconds=7 * 86400,
                    config={"account_name": "收款公司", "account_no": "6222020200112233445", "bank_name": "ICBC"})
    return portal


@pytest.fixture
def operator(signed_in, shop):
    return signed_in("operator@r1001.example")


def user_id(email: str) -> int:
    found = db.session.scalar(sa.select(User.id).where(User.email == email))
    db.session.rollback()
    return found


class LazyObjects(Mapping[str, object]):
    """The route objects, each made the first time a path or form names it (``str.format_map``): the
    authz matrix runs once per route, and most routes name one or two of them. ``groups`` maps a
    builder to the names it makes (one builder may make several, e.g. a payment and its receipt)."""

    def __init__(self, values: dict[str, object], groups: list[tuple[Callable[[], dict], tuple[str, ...]]]):
        self._values = dict(values)
        self._builder = {name: build for build, names in groups for name in names}

    def __getitem__(self, name: str) -> object:
        if name not in self._values:
            self._values.update(self._builder[name]())  # KeyError for a name no builder makes
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter({*self._values, *self._builder})

    def __len__(self) -> int:
        return len({*self._values, *self._builder})


@pytest.fixture
def route_objects(app, portal, tmp_path, monkeypatch):
    """What the paths of tests/support/routes.py name, each made when first named: a payment order of
    R1001, a wire payment of it with an uploaded voucher; a wallet payment of R1001 with its READY
    receipt, another whose receipt FAILED, a READY statement of R1001; an audit entry; an API client
    with a webhook endpoint and a delivery waiting; R1001's id and a top-up of it above its approval
    threshold asked by finance2@ (pending); the transaction of the wallet payment; a payout batch
    submitted by finance2@ (pending); an open reconciliation exception of the WALLET channel; an
    unidentified bank receipt (OPEN); the
    first notification of operator@r1001; and ids of nothing."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
    screen_setup.add_wire_channel()
    screen_setup.add_channel("WALLET", "WALLET")

    def order() -> dict:
        return {"payment_id": screen_setup.make_order("R1001", "1000.00")}

    def wire() -> dict:
        cp = screen_setup.wire_payment([(objects["payment_id"], "400.00")])
        return {"merged": cp.merged_payment_id, "voucher": screen_setup.upload(cp), "cp": cp.channel_payment_id}

    def paid() -> dict:
        paid = screen_setup.pay([(screen_setup.make_order("R1001", "300.00"), "300.00")], "WALLET")
        document, code = stored_receipt(paid.merged_payment_id)
        return {"paid": paid.merged_payment_id, "document": document, "code": code,
                "txn": screen_setup.in_app(_transaction_of)(paid.merged_payment_id),
                "notification": screen_setup.in_app(_first_notification)("operator@r1001.example")}

    def failed() -> dict:
        failed = screen_setup.pay([(screen_setup.make_order("R1001", "200.00"), "200.00")], "WALLET")
        return {"failed_document": failed_receipt(failed.merged_payment_id)}

    objects = LazyObjects(
        {"job": "0" * 32, "nothing": "X0000000000", "nothing_id": 99999999, "r1001": portal.r1001,
         "wire": "WIRE_ICBC", "r1001_code": "R1001", "fmt": "csv"},
        [(order, ("payment_id",)), (wire, ("merged", "voucher", "cp")),
         (paid, ("paid", "document", "code", "txn", "notification")), (failed, ("failed_document",)),
         (screen_setup.in_app(webhook_world.route_objects), ("api_client", "endpoint", "delivery")),
         (lambda: {"statement": screen_setup.in_app(stored_statement)()}, ("statement",)),
         (lambda: {"audit_entry": screen_setup.in_app(audit_entry)()}, ("audit_entry",)),
         (lambda: {"wallet_change": screen_setup.pending_wallet_top_up("R1001")}, ("wallet_change",)),
         (lambda: {"batch": pending_batch()}, ("batch",)),
         (lambda: {"recon_exception": screen_setup.recon_exception()}, ("recon_exception",)),
         (lambda: {"receipt": screen_setup.open_receipt()}, ("receipt",)),
         (lambda: {"finance2": screen_setup.in_app(user_id)("finance2@example.com")}, ("finance2",)),
         (lambda: {"alert": screen_setup.in_app(_open_alert)()}, ("alert",))])
    return objects


def _open_alert() -> int:
    """An OPEN alert (a payout parked as MANUAL), for the alert actions of /admin/alerts."""
    with transaction():
        return raise_alert("payout_manual", "a payout needs finance", subject="D-MATRIX")


def _first_notification(email: str) -> int:
    """The first notification of ``email`` (the wallet payments above told R1001's users their result)."""
    return db.session.scalar(sa.select(Notification.id).join(User, User.id == Notification.user_id)
                             .where(User.email == email).order_by(Notification.id).limit(1))


def _transaction_of(merged_payment_id: str) -> str:
    """The transaction of a merged payment of one allocation."""
    return db.session.scalar(sa.select(PaymentTransaction.transaction_id).join(
        MergedPayment, MergedPayment.id == PaymentTransaction.merged_payment_id).where(
        MergedPayment.merged_payment_id == merged_payment_id))


@pytest.fixture
def rq_worker(app):
    """A real RQ worker on this session's queues (TEST_REDIS_URL), run in burst mode by the test in an
    app context of its own (as worker.py does; requests must not share it: they would share ``g``)."""
    import signal

    from app.services.platform.queues import redis_connection
    from worker import build_worker

    prefix = app.config["RQ_QUEUE_PREFIX"]
    assert prefix.startswith("test-")

    def empty():
        with app.app_context():
            conn = redis_connection()
            for key in conn.scan_iter(match=f"*{prefix}*", count=500):
                if f"{prefix}session:".encode() not in key:  # the signed-in test clients' sessions stay
                    conn.delete(key)

    empty()
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def run(*queues: str) -> None:  # every queue, or only those named
        with app.app_context():
            assert build_worker(list(queues) or None).work(burst=True) is True

    yield run
    for sig, handler in handlers.items():
        signal.signal(sig, handler)
    empty()
