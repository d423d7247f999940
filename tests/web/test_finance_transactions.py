"""/finance/transactions: every payment and refund transaction with filters, the totals of the filtered
set, pages, and a transaction's chain (order → merged payment → channel payment → callbacks → ledger
entries → audit); finance and admin only; a bad filter value is a 422 with its error next to the field."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import MergedPayment, PaymentTransaction
from app.services.transactions.search import TransactionFilter, search
from tests.support.html import dom
from tests.support.screen_setup import HTMX, in_app
from tests.support.statement_world import build_march

build = in_app(build_march)


@in_app
def _txns() -> dict[str, tuple[str, str | None]]:
    """amount text → (transaction id, merged payment id) of the March world's transactions."""
    rows = db.session.execute(sa.select(PaymentTransaction.amount, PaymentTransaction.transaction_id,
                                        MergedPayment.merged_payment_id)
                              .outerjoin(MergedPayment, MergedPayment.id == PaymentTransaction.merged_payment_id)).all()
    return {str(amount): (tid, mp) for amount, tid, mp in rows}


def _ids(d) -> list[str]:
    return [r["data-id"] for r in d.all("txn-row")]


def test_every_transaction_with_totals(portal, signed_in):
    build()
    t = _txns()
    d = dom(signed_in("finance@example.com").get("/finance/transactions?lang=en"))
    # Newest first: A's 100.00 (April), the refund, B's wallet and credit payments, A's 400.00 (February).
    assert _ids(d) == [t[a][0] for a in ("100.00", "-100.00", "500.00", "700.00", "400.00")]
    totals = [d.one(k).text for k in ("txn-count", "txn-received", "txn-refunded", "txn-net", "txn-in-flight")]
    assert totals == ["5", "¥1,700.00", "¥100.00", "¥1,600.00", "¥0.00"]


FILTERS = [
    ({"kind": "REFUND"}, ["-100.00"], "¥0.00", "¥100.00"),
    ({"channel": "CREDIT"}, ["700.00"], "¥700.00", "¥0.00"),
    ({"status": "SUCCESS", "kind": "PAYMENT", "channel": "WALLET"}, ["100.00", "500.00", "400.00"], "¥1,000.00",
     "¥0.00"),
    ({"createdFrom": "2026-03-01", "createdTo": "2026-03-31"}, ["-100.00", "500.00", "700.00"], "¥1,200.00", "¥100.00"),
    ({"completedFrom": "2026-03-12", "completedTo": "2026-03-12"}, ["500.00", "700.00"], "¥1,200.00", "¥0.00"),
    ({"minAmount": "450", "maxAmount": "700.00"}, ["500.00", "700.00"], "¥1,200.00", "¥0.00"),
    ({"minAmount": "100.00", "maxAmount": "100.00"}, ["100.00", "-100.00"], "¥100.00", "¥100.00"),  # by size
    ({"reseller": "R1002"}, [], "¥0.00", "¥0.00"),
    ({"reseller": "R1001", "status": "FAILED"}, [], "¥0.00", "¥0.00"),
]


@pytest.mark.parametrize(("query", "amounts", "received", "refunded"), FILTERS)
def test_filters_and_their_totals(portal, signed_in, query, amounts, received, refunded):
    build()
    t = _txns()
    d = dom(signed_in("finance@example.com").get("/finance/transactions", query_string={**query, "lang": "en"},
                                                 headers=HTMX))
    assert _ids(d) == [t[a][0] for a in amounts]
    assert (d.one("txn-count").text, d.one("txn-received").text, d.one("txn-refunded").text) == (
        str(len(amounts)), received, refunded)


def test_by_reference_and_merged_payment(portal, signed_in):
    build()
    t = _txns()
    client = signed_in("finance@example.com")
    by_merged = dom(client.get("/finance/transactions", query_string={"mergedPaymentId": t["700.00"][1]}))
    assert _ids(by_merged) == [t["700.00"][0]]
    by_reference = dom(client.get("/finance/transactions", query_string={"reference": t["-100.00"][0]}))
    assert _ids(by_reference) == [t["-100.00"][0]]
    nothing = dom(client.get("/finance/transactions", query_string={"reference": "GW-NONE"}))
    assert _ids(nothing) == [] and nothing.one("txn-count").text == "0"


def test_pages(portal, signed_in):
    build()
    first = in_app(search)(TransactionFilter(), 1, 2)
    second = in_app(search)(TransactionFilter(), 3, 2)
    assert (first.total, len(first.items), len(second.items)) == (5, 2, 1)
    page = dom(signed_in("finance@example.com").get("/finance/transactions?page=2"))
    assert _ids(page) == []  # 5 transactions fit on the first page of 50


def test_a_refunds_chain(portal, signed_in):
    build()
    t = _txns()
    d = dom(signed_in("finance@example.com").get(f"/finance/transactions/{t['-100.00'][0]}?lang=en"))
    assert "R1001" in d.one("chain-order").text
    entries = d.all("chain-ledger-entry")
    assert len(entries) == 1 and "¥100.00" in entries[0].text  # credited back to the wallet


def test_a_wallet_payments_chain(portal, signed_in):
    build()
    t = _txns()
    tid, merged = t["500.00"]
    d = dom(signed_in("admin@example.com").get(f"/finance/transactions/{tid}?lang=en"))
    assert merged in d.one("chain-merged").text
    assert "WALLET" in d.one("chain-channel-payment").text
    assert [e.text.count("-¥500.00") for e in d.all("chain-ledger-entry")] == [1]  # the wallet debit
    assert d.all("chain-audit-entry")  # the merged payment's submission at least


def test_unknown_transaction_is_404(portal, signed_in):
    assert signed_in("finance@example.com").get("/finance/transactions/TXN-NONE").status_code == 404


@pytest.mark.parametrize(("query", "field"), [
    ({"kind": "GIFT"}, "kind"),
    ({"status": "done"}, "status"),
    ({"channel": "BITCOIN"}, "channel"),
    ({"createdFrom": "2026-02-30"}, "createdFrom"),
    ({"createdTo": "31/03/2026"}, "createdTo"),
    ({"completedFrom": "0001-01-01"}, "completedFrom"),
    ({"createdFrom": "2026-03-10", "createdTo": "2026-03-01"}, "createdTo"),
    ({"completedFrom": "2026-03-10", "completedTo": "2026-03-01"}, "completedTo"),
    ({"minAmount": "1.005"}, "minAmount"),
    ({"minAmount": "-5"}, "minAmount"),
    ({"maxAmount": "abc"}, "maxAmount"),
    ({"maxAmount": "NaN"}, "maxAmount"),
    ({"minAmount": "10", "maxAmount": "5"}, "maxAmount"),
    ({"reference": "X" * 65}, "reference"),
])
def test_a_bad_filter_is_a_clear_error(portal, signed_in, query, field):
    answer = signed_in("finance@example.com").get("/finance/transactions", query_string={**query, "lang": "en"})
    assert answer.status_code == 422
    assert dom(answer).one(f"txn-error-{field}").text


def test_a_bad_filter_in_chinese(portal, signed_in):
    answer = signed_in("finance@example.com").get("/finance/transactions?minAmount=1.005&lang=zh")
    assert answer.status_code == 422 and "最多两位小数" in dom(answer).one("txn-error-minAmount").text


@pytest.mark.parametrize("who", ["operator@r1001.example", "approver@r1001.example"])
def test_resellers_are_refused(portal, signed_in, who):
    client = signed_in(who)
    assert client.get("/finance/transactions").status_code == 403
    assert client.get("/finance/transactions/TXN-NONE").status_code == 403


@pytest.mark.parametrize(("query", "amounts", "received", "refunded"), [
    ({}, ["100.00", "-100.00", "500.00", "700.00", "400.00"], "¥1,700.00", "¥100.00"),  # the day rows
    FILTERS[2],  # status, kind and channel: the day rows
    FILTERS[3],  # a created range: no sums above the cap
    FILTERS[0],  # below the cap: exact
])
def test_above_the_count_cap(portal, signed_in, monkeypatch, query, amounts, received, refunded):
    """With the cap at 2 (10,000 in the portal): a broader set shows "2+"; its sums come from the settled
    day rows when the filter allows (and equal the exact sums above), else the screen asks to narrow it."""
    from app.services.transactions import search as txn_search

    build()
    monkeypatch.setattr(txn_search, "COUNT_CAP", 2)
    d = dom(signed_in("finance@example.com").get("/finance/transactions", query_string={**query, "lang": "en"}))
    if len(amounts) <= 2:
        assert d.one("txn-count").text == str(len(amounts)) and not d.all("txn-totals-note")
        return
    assert d.one("txn-count").text == "2+" and len(_ids(d)) == len(amounts)
    allowed = set(query) <= {"channel", "kind", "status", "completedFrom", "completedTo"}
    sums = [d.one(k).text for k in ("txn-received", "txn-refunded", "txn-in-flight")]
    assert sums == ([received, refunded, "¥0.00"] if allowed else ["—", "—", "—"])
    note = d.one("txn-totals-note").text
    assert ("settled day totals" in note) == allowed and "More than 2 transactions" in note
