"""The hosted pay page (browser, unsigned): shows the amount and merchant order, and three buttons,
each a plain form POST: pay, decline, "bank processing". No external assets, no script."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template_string

from .gateway import Gateway, GatewayError
from .util import display_cny

bp = Blueprint("sandbox_pages", __name__)

ACTIONS = {"pay": "SUCCESS", "decline": "FAILED", "processing": "PROCESSING"}

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sandbox Bank Gateway</title>
<style>
 body { font-family: system-ui, sans-serif; background: #f3f5f8; margin: 0; color: #1d2733; }
 main { max-width: 28rem; margin: 4rem auto; background: #fff; border-radius: 8px; padding: 2rem;
        box-shadow: 0 1px 4px rgba(0,0,0,.12); }
 h1 { font-size: 1.1rem; margin: 0 0 1.5rem; color: #44546a; }
 .amount { font-size: 2rem; font-weight: 600; margin: .25rem 0 1rem; }
 dl { display: grid; grid-template-columns: auto 1fr; gap: .4rem 1rem; margin: 0 0 1.5rem; }
 dt { color: #6b7785; } dd { margin: 0; word-break: break-all; }
 form { display: inline-block; margin: 0 .5rem .5rem 0; }
 button { font-size: 1rem; padding: .6rem 1.1rem; border-radius: 6px; border: 1px solid #b8c2cc;
          background: #fff; cursor: pointer; }
 button.primary { background: #1c64f2; border-color: #1c64f2; color: #fff; }
 .status { font-weight: 600; }
 .note { color: #6b7785; font-size: .85rem; }
 .error { color: #b42318; }
</style>
</head>
<body>
<main>
<h1>Sandbox Bank Gateway &mdash; test payment</h1>
{% if error %}<p class="error" data-testid="gateway-error">{{ error }}</p>{% endif %}
{% if p %}
<div>Amount to pay</div>
<div class="amount" data-testid="gateway-amount" data-amount="{{ p.amount }}">{{ amount_display }}</div>
<dl>
 <dt>Merchant</dt><dd data-testid="gateway-merchant">{{ p.merchant_no }}</dd>
 <dt>Merchant order</dt><dd data-testid="gateway-order">{{ p.merchant_order_no }}</dd>
 <dt>Subject</dt><dd>{{ p.subject }}</dd>
 <dt>Gateway transaction</dt><dd data-testid="gateway-txn">{{ p.gateway_txn_id }}</dd>
 <dt>Status</dt><dd class="status" data-testid="gateway-status" data-status="{{ p.status }}">{{ p.status }}</dd>
 {% if p.fail_reason %}<dt>Reason</dt><dd>{{ p.fail_reason }}</dd>{% endif %}
</dl>
{% if p.status == "PENDING" %}
<form method="post" action="/pay/{{ p.gateway_txn_id }}/pay">
 <button type="submit" class="primary" data-testid="gateway-pay">Pay {{ amount_display }}</button>
</form>
<form method="post" action="/pay/{{ p.gateway_txn_id }}/decline">
 <button type="submit" data-testid="gateway-decline">Decline</button>
</form>
<form method="post" action="/pay/{{ p.gateway_txn_id }}/processing">
 <button type="submit" data-testid="gateway-processing">Bank processing</button>
</form>
<p class="note">Sandbox: no money moves. "Bank processing" leaves the payment PROCESSING; it resolves later.</p>
{% else %}
<p><a href="{{ p.return_url }}" data-testid="gateway-return">Return to the merchant</a></p>
{% endif %}
{% endif %}
</main>
</body>
</html>
"""


def _render(payment: dict | None, status: int = 200, error: str | None = None):
    html = render_template_string(PAGE, p=payment, error=error,
                                  amount_display=display_cny(payment["amount"]) if payment else "")
    return html, status, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}


def _gateway() -> Gateway:
    return current_app.extensions["sandbox"]


@bp.get("/pay/<txn_id>")
def pay_page(txn_id: str):
    payment = _gateway().get_payment(txn_id)
    if payment is None:
        return _render(None, 404, f"Unknown transaction {txn_id}")
    return _render(payment)


@bp.post("/pay/<txn_id>/<action>")
def pay_action(txn_id: str, action: str):
    if action not in ACTIONS:
        return _render(None, 404, f"Unknown action {action}")
    g = _gateway()
    try:
        payment = g.act_on_payment(txn_id, ACTIONS[action])
    except GatewayError as exc:
        payment = g.get_payment(txn_id)
        return _render(payment, exc.http_status, exc.message)
    return redirect(payment["return_url"], code=303)
