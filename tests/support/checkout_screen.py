"""Helpers of the checkout screen tests: orders made through the service, reading rows back, and
checking out through the screen (the form, its tokens, the live validation)."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import PaymentOrder

from .engine import make_order
from .html import dom
from .web import csrf_token

HX = {"HX-Request": "true"}


def orders(app, *amounts: str, reseller: str = "R1001", **kw) -> list[str]:
    with app.app_context():
        return [make_order(reseller=reseller, amount=a, **kw) for a in amounts]


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def order_row(app, payment_id: str) -> PaymentOrder:
    with app.app_context():
        o = db.session.scalar(sa.select(PaymentOrder).where(PaymentOrder.payment_id == payment_id))
        db.session.expunge(o)
        return o


def form_rows(rows: list[tuple[str, str, str]]) -> dict:
    data = {}
    for i, (pid, amount, channel) in enumerate(rows):
        data[f"rows-{i}-payment_id"], data[f"rows-{i}-amount"], data[f"rows-{i}-channel"] = pid, amount, channel
    return data


def checkout_token(client, ids: list[str], lang: str = "en") -> tuple[str, str]:
    """(CSRF token, form token) of the checkout page for ``ids``."""
    page = client.get(f"/checkout?ids={','.join(ids)}&lang={lang}")
    assert page.status_code == 200
    token = dom(page).one(tag="input", name="token")["value"]
    return csrf_token(client, f"/checkout?ids={','.join(ids)}"), token


def submit(client, rows, token: str | None = None, csrf: str | None = None):
    ids = [r[0] for r in rows]
    csrf_default, token_default = checkout_token(client, ids)
    data = {"csrf_token": csrf or csrf_default, "token": token or token_default, **form_rows(rows)}
    return client.post("/checkout", data=data)


def pay(client, rows) -> str:
    """Check out ``rows`` through the screen; the merged payment id."""
    response = submit(client, rows)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return response.headers["Location"].rsplit("/", 1)[1]


def validate_live(client, rows):
    token = csrf_token(client, "/checkout")
    return client.post("/checkout/validate", data={"token": "t" * 32, **form_rows(rows)},
                       headers={**HX, "X-CSRFToken": token})


def row_errors(response) -> dict[str, list[str]]:
    """paymentId -> its error messages, from a full page (alloc-error inside alloc-row) or from the
    live answer (each row's feedback, swapped in out of band)."""
    tree = dom(response)
    rows = tree.all("alloc-row") or tree.all("alloc-feedback")
    return {r["data-payment-id"]: [e.text for e in r.all("alloc-error")] for r in rows}
