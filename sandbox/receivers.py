"""Webhook receivers of the upstream systems (sandbox/PROTOCOL.md §12): the order system, the credit
system and the finance system each have a URL the portal delivers its events to, and a page shows
what each received, with the Standard Webhooks signature checked (``webhook_signing.py``).

``POST /receivers/<system>``: the delivery is kept (verified or not). A verified one is answered
200 (a repeat of the same ``webhook-id`` too, counted, as a receiver that dedupes would); one whose
signature does not hold, or a system without a configured secret, 401, so the portal retries it
and its attempt log shows why. ``GET /receivers`` is the page; ``GET /receivers/received`` the
same as JSON.
"""

from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, render_template_string, request

from .gateway import Gateway
from .util import iso
from .webhook_signing import check

bp = Blueprint("sandbox_receivers", __name__)

RECEIVERS = {"order-system": "Order system", "credit-system": "Credit system", "finance-system": "Finance system"}
PAGE_ROWS = 100

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sandbox webhook receivers</title>
<style>
 body { font-family: system-ui, sans-serif; background: #f3f5f8; margin: 0; color: #1d2733; }
 main { max-width: 72rem; margin: 2rem auto; padding: 0 1rem; }
 section { background: #fff; border-radius: 8px; padding: 1rem 1.5rem; margin-bottom: 1.5rem;
           box-shadow: 0 1px 4px rgba(0,0,0,.12); }
 h1 { font-size: 1.3rem; } h2 { font-size: 1.05rem; margin: .2rem 0 .6rem; }
 table { border-collapse: collapse; width: 100%; font-size: .85rem; }
 th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #e4e8ee; vertical-align: top; }
 th { color: #6b7785; font-weight: 500; }
 code { font-size: .8rem; word-break: break-all; }
 .ok { color: #067647; font-weight: 600; } .bad { color: #b42318; font-weight: 600; }
 .note { color: #6b7785; font-size: .85rem; }
</style>
</head>
<body>
<main>
<h1>Sandbox webhook receivers</h1>
<p class="note">What the portal delivered to each upstream system, newest first (the last {{ rows }} of each).
A delivery is verified when its Standard Webhooks signature holds under the system's secret.</p>
{% for r in receivers %}
<section data-testid="receiver-{{ r.system }}">
<h2>{{ r.label }} <span class="note">POST {{ r.path }}</span></h2>
<p class="note">{% if r.secretConfigured %}Secret configured.{% else %}<span class="bad">No secret configured:
nothing can be verified.</span>{% endif %}
Received: <span data-testid="receiver-count">{{ r.total }}</span>, verified:
<span data-testid="receiver-verified">{{ r.verifiedCount }}</span>.</p>
{% if r["items"] %}
<table>
<thead><tr><th>Received</th><th>Event type</th><th>webhook-id</th><th>Signature</th><th>Times</th>
<th>Data</th></tr></thead>
<tbody>
{% for i in r["items"] %}
<tr data-testid="receipt" data-webhook-id="{{ i.webhookId }}" data-verified="{{ 'yes' if i.verified else 'no' }}">
 <td>{{ i.receivedAt }}</td><td data-testid="receipt-type">{{ i.eventType }}</td><td><code>{{ i.webhookId }}</code></td>
 <td>{% if i.verified %}<span class="ok">verified</span>
 {% else %}<span class="bad">refused: {{ i.problem }}</span>{% endif %}</td>
 <td>{{ i.times }}</td><td><code>{{ i.summary }}</code></td>
</tr>
{% endfor %}
</tbody>
</table>
{% else %}<p class="note">Nothing received yet.</p>{% endif %}
</section>
{% endfor %}
</main>
</body>
</html>
"""


def _gateway() -> Gateway:
    return current_app.extensions["sandbox"]


def _secret(system: str) -> str | None:
    return _gateway().config.webhook_secrets.get(system)


@bp.post("/receivers/<system>")
def receive(system: str):
    if system not in RECEIVERS:
        return jsonify({"code": "NOT_FOUND", "message": f"no receiver {system}"}), 404
    body = request.get_data(cache=False)
    headers = {k.lower(): v for k, v in request.headers.items()}
    secret = _secret(system)
    problem = check(secret, headers, body) if secret else "no secret configured for this receiver"
    webhook_id = headers.get("webhook-id", "")[:200]
    try:
        event_type = str(json.loads(body).get("type", ""))[:100]
    except (ValueError, AttributeError):
        event_type = ""
    now = _gateway().clock()
    with _gateway().store.tx() as db:
        if problem is None:
            seen = db.execute("UPDATE webhook_receipts SET times = times + 1, last_ts = ? WHERE system = ? AND "
                              "webhook_id = ? AND verified = 1", (now, system, webhook_id)).rowcount
            if seen:
                return jsonify({"code": "OK", "message": "duplicate"}), 200
        db.execute("INSERT INTO webhook_receipts (system, webhook_id, event_type, verified, problem, body, "
                   "received_ts, last_ts, times) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)",
                   (system, webhook_id, event_type, int(problem is None), problem,
                    body.decode("utf-8", "replace")[:20000], now, now))
    if problem is not None:
        return jsonify({"code": "UNAUTHORIZED", "message": problem}), 401
    return jsonify({"code": "OK", "message": "received"}), 200


def _summary(body: str) -> str:
    try:
        data = json.loads(body).get("data") or {}
    except (ValueError, AttributeError):
        return body[:120]
    keys = ("orderId", "paymentId", "paymentStatus", "status", "transactionId", "refundOrderId",
            "creditRecordId", "orderNo", "mergedPaymentId", "resellerId", "creditLimit", "paidAmount", "amount",
            "balance")
    return ", ".join(f"{k}={data[k]}" for k in keys if isinstance(data, dict) and k in data)[:200]


def received() -> list[dict]:
    out = []
    with _gateway().store.tx() as db:
        for system, label in RECEIVERS.items():
            total, verified = db.execute("SELECT count(*), coalesce(sum(verified), 0) FROM webhook_receipts "
                                         "WHERE system = ?", (system,)).fetchone()
            rows = db.execute("SELECT * FROM webhook_receipts WHERE system = ? ORDER BY id DESC LIMIT ?",
                              (system, PAGE_ROWS)).fetchall()
            out.append({
                "system": system, "label": label, "path": f"/receivers/{system}",
                "secretConfigured": bool(_secret(system)), "total": total, "verifiedCount": verified,
                "items": [{"webhookId": r["webhook_id"], "eventType": r["event_type"], "verified": bool(r["verified"]),
                           "problem": r["problem"], "times": r["times"], "receivedAt": iso(r["received_ts"]),
                           "summary": _summary(r["body"]), "body": r["body"]} for r in rows],
            })
    return out


@bp.get("/receivers")
def page():
    html = render_template_string(PAGE, receivers=received(), rows=PAGE_ROWS)
    return html, 200, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}


@bp.get("/receivers/received")
def received_json():
    return jsonify({"receivers": received()})
