"""A reseller's history across March 2026 (Asia/Shanghai) with known statement figures, made through
the services (orders, a wallet top-up, WALLET and CREDIT checkouts, a refund, a STOP), each step run
at its own time (time-machine), so every row carries the time it would have had. Used by the
statement figure, screen and PDF tests; ``EXPECTED`` holds the figures worked out by hand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import time_machine

from app.domain.timeutil import SHANGHAI
from app.extensions import db
from app.models import Channel, Document, Reseller, WalletEntry
from app.services.documents import storage
from app.services.ledgers import wallet
from app.services.orders.update import OrderChanges, update_payment_order
from app.services.statements.document import request_now
from app.services.statements.period import Month

from .engine import make_order
from .factories import ORDER_API_CLIENT, add_channel, make_reseller
from .files import minimal_pdf
from .refunds import pay, refund

MARCH = Month(2026, 3)
D = Decimal


def shanghai(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)  # type: ignore[misc]


def at(when: datetime, action: Callable[[], Any]) -> Any:
    """Run ``action`` as if the clock said ``when`` (the clock keeps ticking from there)."""
    with time_machine.travel(when, tick=True):
        result = action()
        db.session.remove()
    return result


def ensure_world(code: str = "R1001") -> dict[str, int]:
    """R1001 (credit limit 1,000,000.00) and R1002, the WALLET and CREDIT channels: made if missing,
    dated 2025-11-01. Returns the resellers' ids by code."""
    def make() -> dict[str, int]:
        ids = {}
        for c, limit in ((code, "1000000.00"), ("R1002", "0.00")):
            existing = db.session.scalar(sa.select(Reseller).where(Reseller.code == c))
            if existing is not None and not db.session.scalar(
                    sa.select(sa.func.count(WalletEntry.id)).where(WalletEntry.reseller_id == existing.id)):
                existing.wallet_balance = D("0.00")  # a balance set without entries (the web portal fixture)
                db.session.commit()
            ids[c] = existing.id if existing is not None else make_reseller(c, credit_limit=limit)
        for kind in ("WALLET", "CREDIT"):
            if not db.session.scalar(sa.select(Channel.id).where(Channel.code == kind)):
                add_channel(kind, kind)
        return ids
    return at(shanghai(2025, 11, 1, 9), make)


def build_march(code: str = "R1001") -> dict[str, str]:
    """The reseller (no wallet entries yet):

    - 2025-12-01 order D 3,000.00, deadline 2025-12-15 (unpaid: > 90 days late at the end of March)
    - 2026-02-01 wallet top-up 500,000.00; 2026-02-10 order A 1,000.00, deadline 2026-02-20
    - 2026-02-15 A paid 400.00 from the wallet                  → owed on 1 March: 4,000 − 400 = 3,600
    - 2026-03-05 order B 2,000.00 (FINAL_PAYMENT), deadline 2026-03-10
    - 2026-03-12 B paid 700.00 on CREDIT, then 500.00 from the wallet
    - 2026-03-20 100.00 of B refunded (LATEST: the wallet payment) back to the wallet
    - 2026-03-25 order E 800.00, deadline 2026-03-28; 2026-03-26 E stopped
    - 2026-04-02 order F 999.00 and 2026-04-03 A paid 100.00 (after the period: not counted)
    """
    rid = ensure_world(code)[code]
    setup = {"R1001": rid}
    ids: dict[str, str] = {}

    def top_up() -> None:
        wallet.post(rid, D("500000.00"), "TOPUP", reference=None, actor="test")
        db.session.commit()

    ids["D"] = at(shanghai(2025, 12, 1, 10), lambda: make_order(code, "3000.00", deadline=shanghai(2025, 12, 15, 18)))
    at(shanghai(2026, 2, 1, 9), top_up)
    ids["A"] = at(shanghai(2026, 2, 10, 10), lambda: make_order(code, "1000.00", deadline=shanghai(2026, 2, 20, 18)))
    at(shanghai(2026, 2, 15, 11), lambda: pay(setup, ids["A"], ("400.00", "WALLET")))
    ids["B"] = at(shanghai(2026, 3, 5, 10), lambda: make_order(code, "2000.00", payment_type="FINAL_PAYMENT",
                                                               deadline=shanghai(2026, 3, 10, 18)))
    at(shanghai(2026, 3, 12, 14), lambda: pay(setup, ids["B"], ("700.00", "CREDIT")))
    at(shanghai(2026, 3, 12, 15), lambda: pay(setup, ids["B"], ("500.00", "WALLET")))
    at(shanghai(2026, 3, 20, 9), lambda: refund(ids["B"], "100.00"))
    ids["E"] = at(shanghai(2026, 3, 25, 10), lambda: make_order(code, "800.00", deadline=shanghai(2026, 3, 28, 18)))
    at(shanghai(2026, 3, 26, 10), lambda: update_payment_order(
        ORDER_API_CLIENT, ids["E"], OrderChanges(action="STOP", reason="cancelled", present=frozenset({"action"}))))
    ids["F"] = at(shanghai(2026, 4, 2, 10), lambda: make_order(code, "999.00"))
    at(shanghai(2026, 4, 3, 10), lambda: pay(setup, ids["A"], ("100.00", "WALLET")))
    return ids


# What the March statement of R1001 must say.
EXPECTED = {
    "owed": {"opening": D("3600.00"), "created": D("2800.00"), "created_count": 2, "paid": D("1200.00"),
             "stopped": D("800.00"), "stopped_count": 1, "closing": D("4400.00")},
    "orders": [("ADVANCE_PAYMENT", 1, D("800.00")), ("FINAL_PAYMENT", 1, D("2000.00"))],
    "payments": [("CREDIT", "CREDIT", 1, D("700.00")), ("WALLET", "WALLET", 1, D("500.00"))],
    "refunds": [("WALLET", "WALLET", 1, D("100.00"))],
    # A: 600.00 unpaid, deadline 20 Feb (39 days before the end of March); B: 800.00, 10 Mar (21 days);
    # D: 3,000.00, 15 Dec (106 days); E is stopped.
    "aging": [("0-30", 1, D("800.00")), ("31-60", 1, D("600.00")), ("61-90", 0, D("0.00")),
              (">90", 1, D("3000.00"))],
    "wallet": {"opening": D("499600.00"), "money_in": D("100.00"), "money_out": D("500.00"),
               "closing": D("499200.00"), "entries": 2},
    "credit_used": {"opening": D("0.00"), "money_in": D("700.00"), "money_out": D("0.00"), "closing": D("700.00"),
                    "entries": 1},
    # (kind, owed change, refunded, balance after)
    "lines": [("ORDER", D("2000.00"), D("0.00"), D("5600.00")), ("PAYMENT", D("-700.00"), D("0.00"), D("4900.00")),
              ("PAYMENT", D("-500.00"), D("0.00"), D("4400.00")), ("REFUND", D("0.00"), D("100.00"), D("4400.00")),
              ("ORDER", D("800.00"), D("0.00"), D("5200.00")), ("STOPPED", D("-800.00"), D("0.00"), D("4400.00"))],
}


def stored_statement(code: str = "R1001", month: Month = MARCH) -> str:
    """A READY statement of ``code`` whose bytes are a minimal PDF, stored through the pipeline's own
    claim and store (no WeasyPrint run): for tests of who may download it. Returns its number."""
    rid = db.session.scalar(sa.select(Reseller.id).where(Reseller.code == code))
    number = request_now(ORDER_API_CLIENT, rid, month)
    doc_id = db.session.scalar(sa.select(Document.id).where(Document.number == number))
    attempt = storage.claim(doc_id)
    assert attempt is not None and storage.store(doc_id, attempt, minimal_pdf(), {})
    return number
