"""Webhooks out (docs/DOMAIN.md §7): endpoints, fan-out of outbox events, delivery with retries, replay.

``fan_out`` turns committed PENDING outbox events into one ``WebhookDelivery`` per matching enabled
endpoint, a batch of events per transaction. ``deliver_due`` claims a batch of due deliveries (a
short lease, committed), POSTs them with no transaction open — ``WEBHOOK_CONCURRENCY`` at a time,
on keep-alive connections (``sender.Sends``: the threads and ``connections.Connections`` of a whole
``dispatch_outbox`` job) — then records every result and the attempt log (``webhook_attempts``) in
one more transaction. Neither needs a job per event. On PostgreSQL a fan-out batch's deliveries and
a sent batch's results are each written by one set-based statement (``batch_pg.py``).

Several workers may run both at once: on PostgreSQL rows are taken with ``FOR UPDATE SKIP
LOCKED``; on SQLite every transaction is ``BEGIN IMMEDIATE``, so they take turns. Delivery is at
least once: a worker that dies mid-HTTP leaves its lease to expire and the event goes out again
with the same ``webhook-id`` (the outbox event id), on which receivers dedupe. Every function
takes ``now`` so that tests can run the day-long schedule on a fake clock.
"""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from cryptography.fernet import InvalidToken
from flask import current_app

from ...domain.enums import DeliveryStatus, OutboxStatus
from ...domain.errors import NotFound, StateConflict
from ...extensions import db
from ...metrics import WEBHOOK_ATTEMPTS
from ...models import ApiClient, OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from ...models.types import now_utc
from ..alerts.kinds import WEBHOOK_ENDPOINT_DEAD
from ..alerts.raising import clear_alert, raise_alert
from ..audit import log as audit
from ..platform import crypto, upsert
from ..platform.actor import SYSTEM, Actor
from ..platform.unit_of_work import end_read, rows_changed, transaction
from . import address_policy, batch_pg
from . import sender as webhook_sender
from .endpoints import matches
from .sender import Sends

STATUSES = tuple(DeliveryStatus)
# When each attempt is due, counted from the first one: ten attempts over about a day (the
# Standard Webhooks / Svix schedule, stretched to 24 h). Each wait varies by ±10 % (JITTER) so that
# a receiver's outage does not make every retry arrive in the same second.
SCHEDULE = tuple(timedelta(seconds=s) for s in (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600,
                                                14 * 3600, 20 * 3600, 24 * 3600))
MAX_ATTEMPTS = len(SCHEDULE)
JITTER = 0.10
# A claimed delivery is not claimed again before its lease ends; worst case per send is about
# three timeouts (connect, write, read), and a batch runs WEBHOOK_CONCURRENCY sends at a time.
LEASE_MARGIN = timedelta(seconds=60)
# A fan-out of at least this many events refreshes the deliveries' statistics (PostgreSQL).
ANALYZE_AFTER_EVENTS = 1000

D = WebhookDelivery.__table__
E = WebhookEndpoint.__table__


def _is_pg() -> bool:
    return db.engine.dialect.name == "postgresql"


def _insert_ignoring_duplicates(table: sa.Table) -> upsert.Insert:
    return upsert.insert(table).on_conflict_do_nothing(index_elements=["event_id", "endpoint_id"])


def fan_out(batch: int = 500, now: datetime | None = None, max_batches: int | None = None) -> int:
    """Turn PENDING outbox events (in id order) into deliveries, one transaction per ``batch``
    events, until none is left (or ``max_batches``). Returns how many events were taken.

    Each event gets one delivery per enabled endpoint of an active client whose filter matches,
    due at once, and becomes DISPATCHED. Idempotent: (event, endpoint) is unique."""
    taken = batches = 0
    while max_batches is None or batches < max_batches:
        n = _fan_out_batch(batch, now or now_utc())
        taken += n
        batches += 1
        if n < batch:
            break
    if taken >= ANALYZE_AFTER_EVENTS and _is_pg():
        # A burst: the table's statistics (from before it) say no delivery is due, and the claim's
        # planner then joins and sorts every due row for each batch of 100 (37 ms per claim with
        # 5,100 due; quadratic in the burst). Fresh statistics keep the claim an index scan.
        with transaction():
            db.session.execute(sa.text("ANALYZE webhook_deliveries"))
    return taken


def _fan_out_batch(batch: int, now: datetime) -> int:
    with transaction():
        stmt = (sa.select(OutboxEvent.id, OutboxEvent.event_type).where(OutboxEvent.status == OutboxStatus.PENDING)
                .order_by(OutboxEvent.id).limit(batch))
        if _is_pg():
            stmt = stmt.with_for_update(skip_locked=True)
        events = db.session.execute(stmt).all()
        if not events:
            return 0
        endpoints = db.session.execute(
            sa.select(WebhookEndpoint.id, WebhookEndpoint.event_types)
            .join(ApiClient, ApiClient.id == WebhookEndpoint.client_id)
            .where(WebhookEndpoint.enabled.is_(True), WebhookEndpoint.deleted_at.is_(None),
                   ApiClient.active.is_(True))
        ).all()
        stamp = now_utc()
        pairs = [(ev.id, ep.id) for ev in events for ep in endpoints if matches(ep.event_types, ev.event_type)]
        if _is_pg():  # one statement for the batch (the executemany below is one INSERT per delivery)
            batch_pg.insert_deliveries(pairs, [ev.id for ev in events], now, stamp)
            return len(events)
        if pairs:
            db.session.execute(_insert_ignoring_duplicates(D), [
                {"event_id": event_id, "endpoint_id": endpoint_id, "status": DeliveryStatus.PENDING, "attempts": 0,
                 "next_attempt_at": now, "created_at": stamp, "updated_at": stamp} for event_id, endpoint_id in pairs])
        db.session.execute(sa.update(OutboxEvent.__table__).where(OutboxEvent.id.in_([ev.id for ev in events]))
                           .values(status=OutboxStatus.DISPATCHED, dispatched_at=now))
    return len(events)


# --- delivery -------------------------------------------------------------------------------------

def retry_delay(attempt_no: int) -> timedelta | None:
    """The wait after failed attempt ``attempt_no`` (from 1), with jitter; None after the last."""
    if attempt_no >= MAX_ATTEMPTS:
        return None
    return (SCHEDULE[attempt_no] - SCHEDULE[attempt_no - 1]) * random.uniform(1 - JITTER, 1 + JITTER)


def _settings() -> tuple[float, int]:
    return (float(current_app.config.get("WEBHOOK_TIMEOUT_SECONDS", 10.0)),
            max(1, int(current_app.config.get("WEBHOOK_CONCURRENCY", 8))))


def sends() -> Sends:
    """Send threads and connections under the app's settings (WEBHOOK_TIMEOUT_SECONDS, WEBHOOK_CONCURRENCY)."""
    return Sends(*_settings())


def deliver_due(batch: int = 100, now: datetime | None = None, via: Sends | None = None) -> dict[str, int]:
    """Send up to ``batch`` deliveries that are due at ``now`` and record what happened.

    2xx: DELIVERED. 410: DEAD, and the endpoint is disabled (its other deliveries wait, paused,
    until it is enabled again). 3xx (never followed), other statuses, network errors and refused
    addresses: tried again on the schedule, DEAD after attempt MAX_ATTEMPTS. Returns counts."""
    if via is None:
        with sends() as own:
            return deliver_due(batch, now, own)
    fixed_clock = now is not None
    now = now or now_utc()
    allowed_hosts = address_policy.configured_allowed_hosts()  # read here: the sends run in threads
    targets = _claim(batch, now, via.timeout, via.workers)
    counts = {"claimed": len(targets), "delivered": 0, "retrying": 0, "dead": 0, "lease_lost": 0}
    if targets:
        _record(webhook_sender.send_all(targets, via, allowed_hosts), now if fixed_clock else None, counts)
    return counts


def _body(event_type: str, created_at: datetime, payload: object) -> bytes:
    stamp = created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps({"type": event_type, "timestamp": stamp, "data": payload},
                      ensure_ascii=False, separators=(",", ":"), default=str).encode()


def _secrets(row: sa.Row, now: datetime) -> tuple[str, ...]:
    """The endpoint's signing secrets: the current one, then the previous one while its grace lasts.
    Empty if the current one cannot be decrypted (the send then fails and is retried); a previous
    one that cannot be decrypted is left out."""
    try:
        found = [crypto.decrypt(row.secret_enc)]
    except InvalidToken:
        current_app.logger.error("webhook endpoint %s: secret cannot be decrypted (key removed?)", row.endpoint_id)
        return ()
    if row.previous_secret_enc and row.previous_secret_expires_at and row.previous_secret_expires_at > now:
        try:
            found.append(crypto.decrypt(row.previous_secret_enc))
        except InvalidToken:
            current_app.logger.warning("webhook endpoint %s: previous secret cannot be decrypted", row.endpoint_id)
    return tuple(found)


def _claim(batch: int, now: datetime, timeout: float, workers: int) -> list[webhook_sender.Target]:
    """Take due deliveries: count the attempt and lease them past the end of this batch. Commits."""
    with transaction():
        stmt = (
            sa.select(D.c.id, D.c.attempts, D.c.endpoint_id, OutboxEvent.event_id, OutboxEvent.event_type,
                      OutboxEvent.created_at, OutboxEvent.payload, E.c.url, E.c.secret_enc,
                      E.c.previous_secret_enc, E.c.previous_secret_expires_at)
            .join(OutboxEvent, OutboxEvent.id == D.c.event_id).join(E, E.c.id == D.c.endpoint_id)
            .where(D.c.status == DeliveryStatus.PENDING, D.c.next_attempt_at <= now, E.c.enabled.is_(True),
                   E.c.deleted_at.is_(None))
            .limit(batch)
        )
        if _is_pg():
            # The index's own order (status, next_attempt_at): the scan stops after ``batch`` rows.
            stmt = stmt.order_by(D.c.next_attempt_at).with_for_update(of=D, skip_locked=True)
        else:
            stmt = stmt.order_by(D.c.next_attempt_at, D.c.id)
        rows = db.session.execute(stmt).all()
        if not rows:
            return []
        rounds = math.ceil(len(rows) / workers)
        lease_until = now + LEASE_MARGIN + timedelta(seconds=3 * timeout * rounds)
        db.session.execute(sa.update(D).where(D.c.id.in_([r.id for r in rows]))
                           .values(attempts=D.c.attempts + 1, next_attempt_at=lease_until, updated_at=now_utc()))
        secrets: dict[int, tuple[str, ...]] = {}
        bodies: dict[str, bytes] = {}
        targets = []
        for r in rows:
            if r.endpoint_id not in secrets:
                secrets[r.endpoint_id] = _secrets(r, now)
            if r.event_id not in bodies:
                bodies[r.event_id] = _body(r.event_type, r.created_at, r.payload)
            targets.append(webhook_sender.Target(
                delivery_id=r.id, attempt_no=r.attempts + 1, endpoint_id=r.endpoint_id, url=r.url,
                secrets=secrets[r.endpoint_id], msg_id=r.event_id,
                body=bodies[r.event_id]))
    return targets


def _record(outcomes: list[webhook_sender.Outcome], fixed_now: datetime | None, counts: dict[str, int]) -> None:
    """Write each outcome to its delivery (if this worker still holds it) and to the attempt log:
    one transaction for the batch, and on PostgreSQL one statement (``batch_pg.record_results``)."""
    stamp = now_utc()
    when = fixed_now or stamp
    results = []
    for o in outcomes:
        WEBHOOK_ATTEMPTS.labels(_attempt_outcome(o)).inc()
        result = {"id": o.delivery_id, "attempt_no": o.attempt_no, "status": DeliveryStatus.PENDING,
                  "next_attempt_at": None, "delivered_at": None, "status_code": o.status_code, "error": o.error,
                  "requested_at": fixed_now or o.started_at, "duration_ms": o.duration_ms, "excerpt": o.excerpt}
        if o.ok:
            result.update(status=DeliveryStatus.DELIVERED, delivered_at=when)
        elif o.gone or (delay := retry_delay(o.attempt_no)) is None:
            result.update(status=DeliveryStatus.DEAD)
        else:
            result.update(next_attempt_at=when + delay)
        results.append(result)
    with transaction():
        held = batch_pg.record_results(results, stamp) if _is_pg() else _record_rows(results, stamp)
        gone, dead, alive = set(), set(), set()
        for o, result in zip(outcomes, results, strict=True):
            endpoint_id, attempt_no = held.get(o.delivery_id, (0, 0))
            if attempt_no != o.attempt_no:
                counts["lease_lost"] += 1  # the lease ran out and another worker took it over
            elif result["status"] == DeliveryStatus.DELIVERED:
                counts["delivered"] += 1
                alive.add(endpoint_id)
            elif result["status"] == DeliveryStatus.DEAD:
                counts["dead"] += 1
                dead.add(endpoint_id)
                if o.gone:
                    gone.add(endpoint_id)
            else:
                counts["retrying"] += 1
        for endpoint_id in sorted(gone):
            if rows_changed(sa.update(E).where(E.c.id == endpoint_id, E.c.enabled.is_(True)).values(enabled=False)):
                audit.record(SYSTEM, "webhook_endpoint.disable", "webhook_endpoint", str(endpoint_id),
                             {"enabled": True}, {"enabled": False, "reason": "the receiver answered 410 Gone"})
        _endpoint_alerts(dead - alive, gone, alive - dead)


def _record_rows(results: list[dict], stamp: datetime) -> dict[int, tuple[int, int]]:
    """The general path of ``batch_pg.record_results`` (SQLite): find the deliveries still held,
    update them, log every attempt. Returns {delivery id: (endpoint id, attempt applied)}."""
    stmt = (sa.select(D.c.id, D.c.attempts, D.c.endpoint_id)
            .where(D.c.id.in_([r["id"] for r in results]), D.c.status == DeliveryStatus.PENDING)
            .order_by(D.c.id))
    pending = {r.id: (r.endpoint_id, r.attempts) for r in db.session.execute(stmt)}
    applied = [r for r in results if pending.get(r["id"], (0, 0))[1] == r["attempt_no"]]
    held = {r["id"]: pending[r["id"]] for r in applied}
    updates = [{"b_id": r["id"], "status": r["status"], "next_attempt_at": r["next_attempt_at"],
                "delivered_at": r["delivered_at"], "last_status_code": r["status_code"], "last_error": r["error"],
                "updated_at": stamp} for r in applied]
    if updates:
        db.session.execute(sa.update(D).where(D.c.id == sa.bindparam("b_id")), updates)
    db.session.execute(sa.insert(WebhookAttempt.__table__), [
        {"delivery_id": r["id"], "attempt_no": r["attempt_no"], "requested_at": r["requested_at"],
         "duration_ms": r["duration_ms"], "status_code": r["status_code"], "error": r["error"],
         "response_excerpt": r["excerpt"]} for r in results])
    return held


def _attempt_outcome(o: webhook_sender.Outcome) -> str:
    """The ``outcome`` label of ``portal_webhook_attempts_total``."""
    if o.ok:
        return "delivered"
    if o.gone:
        return "gone"
    return "http_error" if o.status_code is not None else "network_error"


def _endpoint_alerts(dead: set[int], gone: set[int], alive: set[int]) -> None:
    """An endpoint whose delivery went DEAD (all attempts failed, or 410 Gone: then it is also
    disabled) raises ``webhook_endpoint_dead``; one that accepted a delivery again clears it."""
    for endpoint_id in sorted(dead):
        raise_alert(WEBHOOK_ENDPOINT_DEAD, "a webhook endpoint answered 410 Gone and was disabled"
                    if endpoint_id in gone else "a webhook delivery failed every attempt",
                    subject=str(endpoint_id), endpoint=endpoint_id)
    for endpoint_id in sorted(alive):
        clear_alert(WEBHOOK_ENDPOINT_DEAD, str(endpoint_id), note="the endpoint accepted a delivery")


# --- replay and the admin screen ------------------------------------------------------------------

def replay(actor: Actor, delivery_id: int, now: datetime | None = None, *, endpoint_id: int | None = None,
           owner: int | None = None) -> None:
    """Send a delivery again from attempt 1, due now, with the same ``webhook-id``: a DEAD or
    DELIVERED one, or a PENDING one whose last attempt failed (it is not left to wait for its
    retry). One that is waiting for its first attempt is a StateConflict. With ``endpoint_id`` /
    ``owner`` (an API client's id) a delivery of another endpoint or client is NotFound."""
    with transaction():
        stmt = sa.select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
        if endpoint_id is not None or owner is not None:
            stmt = stmt.join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id).where(
                WebhookEndpoint.deleted_at.is_(None))
            if endpoint_id is not None:
                stmt = stmt.where(WebhookDelivery.endpoint_id == endpoint_id)
            if owner is not None:
                stmt = stmt.where(WebhookEndpoint.client_id == owner)
        d = db.session.scalar(stmt.with_for_update(of=WebhookDelivery) if _is_pg() else stmt)
        if d is None:
            raise NotFound(f"no webhook delivery {delivery_id}")
        if d.status == DeliveryStatus.PENDING and d.last_error is None:
            raise StateConflict(f"delivery {delivery_id} is waiting for its first attempt; nothing to replay")
        before = {"status": d.status, "attempts": d.attempts}
        d.status, d.attempts, d.next_attempt_at = DeliveryStatus.PENDING, 0, now or now_utc()
        d.last_status_code = d.last_error = d.delivered_at = None
        audit.record(actor, "webhook_delivery.replay", "webhook_delivery", str(delivery_id), before,
                     {"status": d.status, "attempts": 0})


def replay_dead(actor: Actor, endpoint_id: int | None = None, now: datetime | None = None) -> int:
    """Replay every DEAD delivery (of one endpoint, or all). Returns how many."""
    with transaction():
        stmt = sa.update(D).where(D.c.status == DeliveryStatus.DEAD)
        if endpoint_id is not None:
            stmt = stmt.where(D.c.endpoint_id == endpoint_id)
        n = rows_changed(stmt.values(
            status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now or now_utc(), last_status_code=None,
            last_error=None,
            delivered_at=None, updated_at=now_utc()))
        audit.record(actor, "webhook_delivery.replay_dead", "webhook_endpoint",
                     str(endpoint_id) if endpoint_id is not None else "*", None, {"replayed": n})
    return n


def replay_failed(actor: Actor, endpoint_id: int, since: datetime, until: datetime,
                  now: datetime | None = None) -> int:
    """Replay every failed delivery of one endpoint created in ``[since, until)``: DEAD ones, and
    PENDING ones whose last attempt failed (they are sent now, not at their retry). Returns how many."""
    failed = sa.or_(D.c.status == DeliveryStatus.DEAD,
                    sa.and_(D.c.status == DeliveryStatus.PENDING, D.c.last_error.is_not(None)))
    with transaction():
        if db.session.scalar(sa.select(E.c.id).where(E.c.id == endpoint_id, E.c.deleted_at.is_(None))) is None:
            raise NotFound(f"no webhook endpoint {endpoint_id}")
        n = rows_changed(sa.update(D).where(D.c.endpoint_id == endpoint_id, failed, D.c.created_at >= since,
                                            D.c.created_at < until).values(
            status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now or now_utc(), last_status_code=None,
            last_error=None, delivered_at=None, updated_at=now_utc()))
        audit.record(actor, "webhook_delivery.replay_failed", "webhook_endpoint", str(endpoint_id), None,
                     {"since": since.isoformat(), "until": until.isoformat(), "replayed": n})
    return n


def webhook_stats(endpoint_id: int | None = None) -> dict[str, int]:
    """Deliveries by status (PENDING, DELIVERED, DEAD), PAUSED (pending on a disabled endpoint),
    and OUTBOX_PENDING (events not yet fanned out)."""
    live = E.c.deleted_at.is_(None)  # a deleted endpoint's deliveries are history, not work
    q = (sa.select(D.c.status, sa.func.count()).select_from(D.join(E, E.c.id == D.c.endpoint_id)).where(live)
         .group_by(D.c.status))
    paused = (sa.select(sa.func.count()).select_from(D.join(E, E.c.id == D.c.endpoint_id))
              .where(D.c.status == DeliveryStatus.PENDING, E.c.enabled.is_(False), live))
    if endpoint_id is not None:
        q, paused = q.where(D.c.endpoint_id == endpoint_id), paused.where(D.c.endpoint_id == endpoint_id)
    stats: dict[str, int] = dict.fromkeys(STATUSES, 0)
    stats.update({status: n for status, n in db.session.execute(q)})
    stats["PAUSED"] = db.session.execute(paused).scalar_one()
    stats["OUTBOX_PENDING"] = db.session.execute(
        sa.select(sa.func.count()).select_from(OutboxEvent).where(OutboxEvent.status == OutboxStatus.PENDING)
    ).scalar_one()
    end_read()  # end the read at once: on SQLite every transaction holds the write lock
    return stats


def attempt_log(delivery_id: int) -> list[dict]:
    """Every attempt of one delivery, oldest first (plain values, for the admin screen)."""
    rows = db.session.execute(sa.select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id)
                              .order_by(WebhookAttempt.id)).scalars().all()
    log = [{"attempt_no": a.attempt_no, "requested_at": a.requested_at, "duration_ms": a.duration_ms,
            "status_code": a.status_code, "error": a.error, "response_excerpt": a.response_excerpt} for a in rows]
    end_read()
    return log
