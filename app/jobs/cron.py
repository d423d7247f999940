"""The schedule, in ``rq cron``'s config format (``rq.cron.register``).

Run it with ``python worker.py cron``, not with the stock ``rq cron app.jobs.cron``: RQ 3.0's
``rq cron`` enqueues with pickle whatever ``--serializer`` says, and the worker reads JSON only.
``worker.py cron`` loads this module into ``AppCronScheduler``, which enqueues the same entries
as JSON. Queue names carry RQ_QUEUE_PREFIX from the environment, as the app's queues do.
"""

from __future__ import annotations

import os

from rq import cron

from .alerts import check_alerts
from .disbursement_batches import resume_disbursement_batches
from .disbursements import deliver_disbursement_notifications, poll_disbursements
from .documents import sweep_documents
from .mail import sweep_notification_mails
from .maintenance import purge_idempotency_keys, seal_audit_log
from .payments import compensate_payments, create_repayment_orders, expire_payments, send_deadline_reminders
from .reconciliation import reconcile_yesterday
from .refunds import compensate_refunds
from .statements import render_monthly_statements
from .webhooks import dispatch_outbox

_prefix = os.environ.get("RQ_QUEUE_PREFIX", "")

# Every 10 s, so the chain is never far behind; a tick that waited 30 s in the queue is dropped
# (ttl), since the next one seals the same rows.
cron.register(seal_audit_log, f"{_prefix}default", interval=10, ttl=30, result_ttl=60, failure_ttl=7 * 86400,
              job_timeout=300)
cron.register(purge_idempotency_keys, f"{_prefix}low", cron="17 * * * *", result_ttl=86400,
              failure_ttl=7 * 86400, job_timeout=1800)

# Compensation: ONLINE payments past their confirmation time are queried at the bank.
cron.register(compensate_payments, f"{_prefix}default", interval=30, ttl=60, result_ttl=300, failure_ttl=7 * 86400,
              job_timeout=600)
cron.register(expire_payments, f"{_prefix}default", interval=60, ttl=120, result_ttl=300, failure_ttl=7 * 86400,
              job_timeout=600)
cron.register(send_deadline_reminders, f"{_prefix}low", cron="5 * * * *", result_ttl=86400, failure_ttl=7 * 86400,
              job_timeout=1800)
cron.register(create_repayment_orders, f"{_prefix}low", interval=300, ttl=600, result_ttl=3600, failure_ttl=7 * 86400,
              job_timeout=1800)
# Outbox -> webhooks every 5 s; a tick that waited 10 s is dropped (the next one does the same work).
cron.register(dispatch_outbox, f"{_prefix}default", interval=5, ttl=10, result_ttl=60, failure_ttl=7 * 86400,
              job_timeout=300)
# ONLINE refund parts still PROCESSING after a minute are queried at the bank.
cron.register(compensate_refunds, f"{_prefix}default", interval=60, ttl=120, result_ttl=300, failure_ttl=7 * 86400,
              job_timeout=600)
# Payouts with an unknown outcome: each is due by its own backoff (5 s doubling), so a 5 s tick is enough.
cron.register(poll_disbursements, f"{_prefix}default", interval=5, ttl=10, result_ttl=60, failure_ttl=7 * 86400,
              job_timeout=300)
cron.register(deliver_disbursement_notifications, f"{_prefix}default", interval=10, ttl=20, result_ttl=60,
              failure_ttl=7 * 86400, job_timeout=300)
# Approved payout batches whose run was lost (docs/DOMAIN.md §9): queued again on ``low``.
cron.register(resume_disbursement_batches, f"{_prefix}low", interval=300, ttl=600, result_ttl=3600,
              failure_ttl=7 * 86400, job_timeout=300)
# E-mail of notifications: PENDING mails whose job is gone are queued again (services/notifications/mail.py).
cron.register(sweep_notification_mails, f"{_prefix}low", interval=60, ttl=120, result_ttl=300, failure_ttl=7 * 86400,
              job_timeout=300)
cron.register(sweep_documents, f"{_prefix}default", interval=60, ttl=120, result_ttl=300, failure_ttl=7 * 86400,
              job_timeout=300)
# Last month's statement of every active reseller, on the first day of the month (the hourly runs of
# that day each ask only for what is missing; services/statements/schedule.py).
cron.register(render_monthly_statements, f"{_prefix}low", cron="23 * * * *", result_ttl=86400,
              failure_ttl=7 * 86400, job_timeout=1800)
# Reconciliation of yesterday (Asia/Shanghai), hourly: a statement published late, or corrected, is
# picked up by a later tick; one already reconciled changes nothing (app/jobs/reconciliation.py).
cron.register(reconcile_yesterday, f"{_prefix}low", cron="41 * * * *", result_ttl=86400,
              failure_ttl=7 * 86400, job_timeout=1800)
# Alerts found by looking (a payment without its channel's result after 24 h), every 10 minutes.
cron.register(check_alerts, f"{_prefix}low", interval=600, ttl=1200, result_ttl=3600, failure_ttl=7 * 86400,
              job_timeout=600)
