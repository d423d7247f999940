"""Payouts whose outcome is unknown (a timeout, PROCESSING at the bank): the worker asks the bank
with backoff (5 s, doubling) and, after MAX_POLL_ATTEMPTS unknown answers, parks them as MANUAL for
finance. Never guesses: only the bank's final word (or finance's) makes a payout final."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from ...domain.enums import DisbursementStatus, PayoutAnswer
from ...extensions import db
from ...models import Disbursement
from ...models.types import now_utc
from ..alerts.kinds import PAYOUT_MANUAL
from ..alerts.raising import raise_alert
from ..audit import log as audit
from ..platform.actor import SYSTEM
from ..platform.unit_of_work import transaction
from . import bank as payout_bank
from .creation import call_bank
from .final_state import FINAL, FIRST_POLL, OPEN, apply_answer, lock_known

MAX_POLL_ATTEMPTS = 8


def poll_due(now: datetime | None = None, batch: int = 50) -> dict[str, int]:
    """Ask the bank about due INIT/PROCESSING orders; back off 5 s doubling, MANUAL after
    MAX_POLL_ATTEMPTS unknown answers. Takes ``now`` so tests can run the schedule on a fake clock."""
    now = now or now_utc()
    counts = {"polled": 0, "final": 0, "manual": 0}
    with transaction():
        stmt = (sa.select(Disbursement).where(Disbursement.status.in_(OPEN), Disbursement.next_poll_at <= now)
                .order_by(Disbursement.next_poll_at).limit(batch))
        if db.engine.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        due = [(d.order_no, d.status) for d in db.session.scalars(stmt)]
        for d in db.session.scalars(sa.select(Disbursement).where(
                Disbursement.order_no.in_([n for n, _ in due]))):
            d.next_poll_at = now + timedelta(minutes=2)  # a lease: no other worker takes it meanwhile
    for order_no, status in due:
        counts["polled"] += 1
        answer = call_bank(order_no) if status == DisbursementStatus.INIT else payout_bank.query(order_no)
        if answer.status == PayoutAnswer.NOT_FOUND:  # the first call never reached the bank: send it (same number)
            answer = call_bank(order_no)
        if answer.status in FINAL:
            apply_answer(order_no, answer, SYSTEM, now=now)
            counts["final"] += 1
            continue
        with transaction():
            d = lock_known(order_no)
            if d.status not in OPEN:
                continue
            d.poll_attempts += 1
            d.updated_at = now
            if d.poll_attempts >= MAX_POLL_ATTEMPTS:
                d.status, d.next_poll_at = DisbursementStatus.MANUAL, None
                audit.record(SYSTEM, "disbursement.manual", "disbursement", d.order_no, {"status": status},
                             {"status": d.status, "pollAttempts": d.poll_attempts})
                raise_alert(PAYOUT_MANUAL, "a payout's outcome is unknown after every poll: finance settles it "
                            "from the bank statement", subject=d.order_no, order=d.order_no,
                            amount=f"{d.amount:.2f}", attempts=d.poll_attempts)
                counts["manual"] += 1
            else:
                if d.status == DisbursementStatus.INIT and answer.status == PayoutAnswer.PROCESSING:
                    d.status = DisbursementStatus.PROCESSING
                d.next_poll_at = now + FIRST_POLL * (2 ** d.poll_attempts)
    return counts

