"""Configuration from environment variables, with safe defaults.

Secrets that are not given are generated once and kept under ``instance/`` so
that restarts keep sessions and encrypted columns readable.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet


def _instance_secret(instance_path: Path, name: str, factory) -> str:
    path = instance_path / name
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    value = factory()
    # Written with 0600 so that other local users cannot read it, to a private temporary name that
    # is then linked into place: processes starting together (gunicorn workers, the worker, the
    # scheduler) never read a half-written file, and the first to link wins for all of them.
    tmp = instance_path / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(value)
        os.link(tmp, path)
    except FileExistsError:
        return path.read_text().strip()
    finally:
        tmp.unlink(missing_ok=True)
    return value


def load_config(instance_path: str, overrides: dict | None = None) -> dict:
    ipath = Path(instance_path)
    env = os.environ
    overrides = overrides or {}

    def get(name, default=None):
        if name in overrides:
            return overrides[name]
        return env.get(name, default)

    database_url = get("DATABASE_URL") or f"sqlite:///{ipath / 'portal.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://"):]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]

    # Several machines (docs/ARCHITECTURE.md "No local state") must share these two: a key generated
    # into one machine's instance/ folder would split sessions and make the other machines' encrypted
    # columns unreadable. SECRETS_FROM_ENV=1 forbids the generated fallback.
    if str(get("SECRETS_FROM_ENV", "0")).lower() in ("1", "true"):
        missing = [name for name in ("SECRET_KEY", "ENCRYPTION_KEYS") if not get(name)]
        if missing:
            raise RuntimeError(
                f"SECRETS_FROM_ENV=1 but {' and '.join(missing)} not set: every process of the deployment "
                "needs the same values from its environment (docs/ARCHITECTURE.md, 'No local state')"
            )
    secret_key = get("SECRET_KEY") or _instance_secret(ipath, "secret_key", lambda: secrets.token_hex(32))
    # Comma-separated Fernet keys, newest first: encrypt with the first, decrypt with any.
    enc_keys = get("ENCRYPTION_KEYS") or _instance_secret(
        ipath, "encryption_keys", lambda: Fernet.generate_key().decode()
    )

    public_base_url = get("PUBLIC_BASE_URL", f"http://127.0.0.1:{get('PORT', '8000')}")
    cfg = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False},
        "SECRET_KEY": secret_key,
        "ENCRYPTION_KEYS": [k.strip() for k in enc_keys.split(",") if k.strip()],
        "REDIS_URL": get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "RQ_QUEUE_PREFIX": get("RQ_QUEUE_PREFIX", ""),
        "MAX_CONTENT_LENGTH": int(get("MAX_CONTENT_LENGTH", str(12 * 1024 * 1024))),
        "API_MAX_BODY_BYTES": int(get("API_MAX_BODY_BYTES", str(64 * 1024))),
        # /metrics: addresses that may read it directly (default loopback), or a bearer token.
        "METRICS_ALLOW": [a.strip() for a in get("METRICS_ALLOW", "127.0.0.1,::1").split(",") if a.strip()],
        "METRICS_TOKEN": get("METRICS_TOKEN") or None,
        "IDEMPOTENCY_TTL_DAYS": int(get("IDEMPOTENCY_TTL_DAYS", "7")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Secure whenever the public URL is https (and per request behind TLS: web_sessions.py).
        "SESSION_COOKIE_SECURE": get("SESSION_COOKIE_SECURE", "0") == "1" or public_base_url.startswith("https://"),
        "SESSION_IDLE_MINUTES": int(get("SESSION_IDLE_MINUTES", "30")),
        "SESSION_MAX_HOURS": int(get("SESSION_MAX_HOURS", "12")),
        "SESSION_KEY_PREFIX": get("SESSION_KEY_PREFIX", f"{get('RQ_QUEUE_PREFIX', '')}session:"),
        # The rate limiter's counters (app/rate_limits.py): every process of one deployment counts
        # under the same prefix; deployments sharing a Redis keep theirs apart by RQ_QUEUE_PREFIX.
        "RATELIMIT_KEY_PREFIX": get("RATELIMIT_KEY_PREFIX", f"{get('RQ_QUEUE_PREFIX', '')}LIMITS"),
        "TESTING": get("TESTING", False),
        # Where banks send callbacks and browsers come back to.
        # The portal creates a CREDIT_REPAYMENT order per credit record itself (else the credit system does).
        "AUTO_CREDIT_REPAYMENT_ORDERS": get("AUTO_CREDIT_REPAYMENT_ORDERS", "0") == "1",
        "PUBLIC_BASE_URL": public_base_url,
        # Read only by the migration that moved uploaded vouchers into the database (8a257a95a3bc).
        "VOUCHER_DIR": get("VOUCHER_DIR", str(ipath / "vouchers")),
        "VOUCHER_MAX_BYTES": int(get("VOUCHER_MAX_BYTES", str(10 * 1024 * 1024))),
        # Payouts (代付): the ONLINE channel row whose gateway pays out, the bank codes accepted (comma
        # list; empty: the built-in list) and the merchant that pays WIRE refunds (services/refunds/wire.py).
        "DISBURSE_CHANNEL_CODE": get("DISBURSE_CHANNEL_CODE", "ONLINE_UNIONPAY"),
        "BANK_CODES": get("BANK_CODES", ""),
        "REFUND_PAYOUT_MERCHANT_ID": get("REFUND_PAYOUT_MERCHANT_ID", "M1001"),
        # Hosts (names or addresses, comma list) that webhooks and notifyUrl deliveries may reach on a
        # loopback or private address: a deployment's own receivers, e.g. the sandbox on 127.0.0.1.
        # Empty (the default): only public addresses (services/webhooks/address_policy.py).
        "WEBHOOK_ALLOWED_HOSTS": get("WEBHOOK_ALLOWED_HOSTS", ""),
        # Webhook sends a worker makes at once (threads, each on its own keep-alive connection):
        # services/webhooks/delivery.py.
        "WEBHOOK_CONCURRENCY": int(get("WEBHOOK_CONCURRENCY", "8")),
        # Queue a delivery run right after a commit that wrote events (services/webhooks/wake.py);
        # off: only the scheduler's tick every 5 s delivers.
        "WEBHOOK_WAKE_ON_COMMIT": str(get("WEBHOOK_WAKE_ON_COMMIT", "1")).lower() in ("1", "true"),
        # Reconciliation (services/reconciliation/online_fetch.py): an ONLINE statement still not
        # published this many hours after its day closed raises an alert for admins.
        "RECON_STATEMENT_ALERT_HOURS": int(get("RECON_STATEMENT_ALERT_HOURS", "6")),
        # Deadline reminders (services/orders/reminders.py): these days before the deadline, then on
        # the day and once overdue.
        "REMINDER_DAYS_BEFORE": get("REMINDER_DAYS_BEFORE", "7,3,1"),
        # The documents' sweep (services/documents/sweep.py) enqueues a QUEUED document again when
        # its render job is gone and the document was asked for this long ago.
        "DOCUMENT_REDISPATCH_SECONDS": int(get("DOCUMENT_REDISPATCH_SECONDS", "120")),
        # Alerts (services/alerts): a payment of at least this amount that fails raises one; a
        # payment without its channel's result this many hours after it started raises one.
        "ALERT_LARGE_PAYMENT_AMOUNT": get("ALERT_LARGE_PAYMENT_AMOUNT", "50000.00"),
        "ALERT_CALLBACK_MISSING_HOURS": int(get("ALERT_CALLBACK_MISSING_HOURS", "24")),
        # E-mail of notifications (services/notifications/mail.py): smtp://[user:password@]host[:port]
        # (smtps:// for TLS from the start, ?starttls=1 to upgrade); empty: no e-mail is sent or planned.
        # scripts/run points it at the local mail catcher (python -m sandbox.mailcatcher).
        "SMTP_URL": get("SMTP_URL", ""),
        "MAIL_FROM": get("MAIL_FROM", "Reseller Payment Portal <noreply@portal.invalid>"),
        "SMTP_TIMEOUT": float(get("SMTP_TIMEOUT", "10")),
        # A mail still unsent this long after its notification is FAILED (the sweep stops retrying it).
        "MAIL_GIVE_UP_HOURS": int(get("MAIL_GIVE_UP_HOURS", "72")),
        # The sweep queues a PENDING mail again when its job is gone and was queued this long ago.
        "MAIL_REDISPATCH_SECONDS": int(get("MAIL_REDISPATCH_SECONDS", "120")),
    }
    cfg.update({k: v for k, v in overrides.items() if k.isupper() and k not in cfg})
    return cfg
