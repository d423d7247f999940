"""/admin/alerts (docs/SCREENS.md): the alerts with filters, acknowledge (note optional) and resolve
(note required) by admins only, audited; finance sees the alerts about money read-only on /finance;
/admin links to them; /metrics carries the new series (docs/ARCHITECTURE.md "Metrics")."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import Alert, AuditEntry
from app.rate_limits import hit
from app.services.alerts.raising import raise_alert
from app.services.platform.unit_of_work import transaction
from tests.support import screen_setup
from tests.support.html import dom
from tests.support.routes import ADMIN, FIN
from tests.support.web import csrf_token


@screen_setup.in_app
def _raise(kind: str, subject: str) -> int:
    with transaction():
        return raise_alert(kind, f"{kind} about {subject}", subject=subject)


@screen_setup.in_app
def _alert(alert_id: int) -> tuple[str, str | None, str | None]:
    a = db.session.get_one(Alert, alert_id)
    result = (a.state, a.acknowledge_note, a.resolution_note)
    db.session.rollback()
    return result


@screen_setup.in_app
def _audited() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.target_type == "alert")
                                   .order_by(AuditEntry.id)))


def test_admin_filters_acknowledges_and_resolves_finance_reads_its_alerts(app, signed_in, portal):
    manual = _raise("payout_manual", "D-100")
    _raise("payout_manual", "D-100")  # a repeat: the same row, counted
    dead = _raise("webhook_endpoint_dead", "7")
    admin = signed_in(ADMIN)
    page = dom(admin.get("/admin/alerts?lang=en").get_data(as_text=True))
    row = page.one(f"alert-row-{manual}")
    assert (row["data-state"], row["data-count"]) == ("OPEN", "2") and "Payout needs manual settlement" in row.text
    page.one(f"alert-ack-{manual}"), page.one(f"alert-resolve-{manual}"), page.one(f"alert-row-{dead}")
    only = dom(admin.get("/admin/alerts?kind=webhook_endpoint_dead").get_data(as_text=True))
    assert only.all(f"alert-row-{manual}") == [] and only.one(f"alert-row-{dead}")
    bad = admin.get("/admin/alerts?state=GONE&kind=%3Cscript%3E")
    assert bad.status_code == 422 and {e["data-field"] for e in dom(bad.get_data(as_text=True)).all("field-error")} \
        == {"state", "kind"}
    health = dom(admin.get("/admin").get_data(as_text=True)).one("health-open-alerts")
    assert health["data-count"] == "2"

    token = csrf_token(admin, "/admin/alerts")
    answer = admin.post(f"/admin/alerts/{manual}/acknowledge", data={"csrf_token": token, "note": "on it"})
    assert answer.status_code == 303 and _alert(manual) == ("ACKNOWLEDGED", "on it", None)
    refused = admin.post(f"/admin/alerts/{manual}/resolve", data={"csrf_token": token, "note": " "})
    assert refused.status_code == 422 and _alert(manual)[0] == "ACKNOWLEDGED"
    assert dom(refused.get_data(as_text=True)).one("field-error", data_field="note")
    assert admin.post(f"/admin/alerts/{manual}/resolve", data={"csrf_token": token, "note": "x" * 501}
                      ).status_code == 422
    assert admin.post(f"/admin/alerts/{manual}/acknowledge", data={"csrf_token": token}).status_code == 409
    done = admin.post(f"/admin/alerts/{manual}/resolve", data={"csrf_token": token, "note": "settled"})
    assert done.status_code == 303 and _alert(manual) == ("RESOLVED", "on it", "settled")
    assert _audited() == ["alert.acknowledge", "alert.resolve"]
    resolved = dom(admin.get("/admin/alerts?state=RESOLVED").get_data(as_text=True))
    assert resolved.one(f"alert-row-{manual}")["data-state"] == "RESOLVED"
    assert resolved.all(f"alert-resolve-{manual}") == []

    # finance: the money alerts, read-only, on its dashboard; it may not act
    other = _raise("large_payment_failed", "CP-1")
    finance = signed_in(FIN)
    desk = dom(finance.get("/finance").get_data(as_text=True)).one("desk-alerts")
    assert desk.one(f"alert-row-{other}") and desk.all(f"alert-row-{dead}") == []  # the webhook one is not theirs
    assert desk.all(f"alert-ack-{other}") == [] and desk.all(f"alert-resolve-{other}") == []
    assert finance.get("/admin/alerts").status_code == 403
    fin_token = csrf_token(finance, "/finance/vouchers")
    assert finance.post(f"/admin/alerts/{other}/resolve", data={"csrf_token": fin_token, "note": "x"}
                        ).status_code == 403
    assert _alert(other)[0] == "OPEN"


def test_metrics_show_the_new_series_after_the_events(app, client, portal):
    _raise("callback_missing", "CP-9")
    client.post("/api/v1/payment/callback/online/NO_SUCH_CHANNEL", data=b"{}")  # refused: counted
    with app.test_request_context():
        assert hit("1 per minute", "metrics-test", "k") is True
        assert hit("1 per minute", "metrics-test", "k") is False
    text = client.get("/metrics").get_data(as_text=True)
    assert 'portal_alerts_open{kind="callback_missing"} 1.0' in text
    assert 'portal_alerts_open{kind="payout_manual"} 0.0' in text  # every known kind, 0 when none is open
    assert 'portal_alerts_raised_total{kind="callback_missing"}' in text
    assert any(line.startswith('portal_callbacks_total{kind="payment",outcome="rejected"}')
               for line in text.splitlines())
    for queue in ("high", "default", "low", "documents"):
        assert f'portal_queue_depth{{queue="{queue}"}}' in text
        assert f'portal_queue_oldest_job_age_seconds{{queue="{queue}"}}' in text
    assert 'portal_rate_limit_refusals_total{scope="metrics-test"} 1.0' in text
    assert 'portal_state_scrape_errors{part="queues"} 0.0' in text
    assert 'portal_state_scrape_errors{part="alerts"} 0.0' in text
    for name in ("portal_settlement_delay_seconds histogram", "portal_webhook_attempts_total counter",
                 "portal_rate_limit_refusals_total counter", "portal_http_requests_total counter"):
        assert f"# TYPE {name}" in text
    assert 'endpoint="callbacks.online_payment"' in text  # requests by route name, not by raw path
