"""``flask demo seed``: the demo data set (resellers, users, an API client, a payout merchant,
channels of every kind, ~200 payment orders with their payments, refunds, wallets and credit, and
the sandbox's webhook receivers as the API client's endpoints: ``receivers.py``; a few past days
reconciled with every class of difference and some unidentified bank receipts: ``reconciliations.py``).

Idempotent: every group is looked up by its natural key (reseller codes, user emails, channel
codes, client name, merchant id, order ids) and only what is missing is created, so a second run
creates no row and changes no balance. The orders are replayed from ``demo_plan`` in time order,
keeping the invariants of docs/DOMAIN.md §3 exactly as the services do: amounts are the sums of the
transactions, statuses are derived, and every change is in the status log.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from ..domain.enums import ChannelKind, CreditLineStatus
from ..domain.errors import ValidationFailed
from ..domain.timeutil import SHANGHAI
from ..extensions import db
from ..models import ApiClient, Channel, Merchant, PaymentOrder, Reseller, User
from ..models.types import now_utc
from ..services.accounts import api_clients
from ..services.accounts.users import create_user, hash_password, verify_password
from ..services.audit import log as audit
from ..services.channel_config import lookup as channel_config
from ..services.platform import crypto
from ..services.platform.actor import Actor
from ..services.platform.unit_of_work import transaction
from . import data as demo_data
from .plan import build_plan
from .receivers import seed_receivers
from .reconciliations import seed_reconciliations
from .replay import Replay

SEED_ACTOR = Actor(type="system", id="demo-seed")
ZERO = Decimal("0.00")


@dataclass
class SeedReport:
    lines: list[str] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)


def seed_demo(now: datetime | None = None) -> SeedReport:
    """Create whatever part of the demo data set is missing. Passwords and the API key come from
    DEMO_PASSWORD / DEMO_API_KEY when set, otherwise they are generated and reported once."""
    started = time.monotonic()
    password = os.environ.get("DEMO_PASSWORD") or None
    api_key = os.environ.get("DEMO_API_KEY") or None
    if password is not None and len(password) < 12:
        raise ValidationFailed("DEMO_PASSWORD must be at least 12 characters", field="DEMO_PASSWORD")
    if api_key is not None and len(api_key) < 24:
        raise ValidationFailed("DEMO_API_KEY must be at least 24 characters", field="DEMO_API_KEY")
    report = SeedReport()
    report.lines.append(f"Demo data (seed {demo_data.SEED}):")
    _seed_master_data(report)
    logins = _seed_users(report, password)
    client_id, key_lines = _seed_client(report, api_key)
    _seed_orders(report, now or now_utc(), client_id)
    report.lines += seed_reconciliations(SEED_ACTOR, (now or now_utc()).astimezone(SHANGHAI).date())
    report.lines += seed_receivers(SEED_ACTOR, client_id)
    report.lines += logins + key_lines
    report.lines.append(f"Done in {time.monotonic() - started:.2f} s.")
    return report


def _count(report: SeedReport, what: str, n: int) -> None:
    if n:
        report.created[what] = report.created.get(what, 0) + n


def _amount_of(what: str, n: int) -> str:
    """``_amount_of("payment_orders", 1)`` -> ``1 payment order``."""
    what = "status-log rows" if what == "status_log" else what.replace("_", " ")
    return f"{n} {what[:-1] if n == 1 and what.endswith('s') else what}"


def _seed_master_data(report: SeedReport) -> None:
    """Resellers, the payout merchant and the channels: one transaction."""
    with transaction():
        resellers = {r.code: r for r in db.session.scalars(sa.select(Reseller))}
        new = [_reseller(spec) for spec in demo_data.RESELLERS if spec["code"] not in resellers]
        resellers.update((r.code, r) for r in new)
        merchant = db.session.scalar(
            sa.select(Merchant.id).where(Merchant.merchant_id == demo_data.MERCHANT["merchant_id"]))
        if merchant is None:
            db.session.add(Merchant(active=True, **demo_data.MERCHANT))
            audit.record(SEED_ACTOR, "merchant.create", "merchant", demo_data.MERCHANT["merchant_id"], None,
                         {"singleLimit": f"{demo_data.MERCHANT['single_limit']:.2f}",
                          "dailyLimit": f"{demo_data.MERCHANT['daily_limit']:.2f}"})
        created, updated = _seed_channels(resellers)
    _count(report, "resellers", len(new))
    _count(report, "merchants", int(merchant is None))
    _count(report, "channels", created)
    made = ", ".join(_amount_of(what, n) for what, n in report.created.items())
    report.lines.append(f"  master data: created {made}" if made else "  master data: already present")
    if updated:
        report.lines.append(f"  channel secrets set from SANDBOX_MERCHANTS: {', '.join(updated)}")


def _reseller(spec: demo_data.ResellerSpec) -> Reseller:
    r = Reseller(code=spec["code"], name=spec["name"], status=spec["status"], credit_limit=spec["credit_limit"],
                 credit_used=ZERO, credit_term_days=spec["credit_term_days"],
                 credit_status=CreditLineStatus.ACTIVE,
                 approval_threshold=spec["approval_threshold"], wallet_balance=ZERO, version=1)
    if spec["account"]:  # the registered account for wire refunds, encrypted at rest
        r.refund_account_no_enc = crypto.encrypt(spec["account"][0])
        r.refund_account_name, r.refund_bank_code = spec["account"][1:]
    db.session.add(r)
    audit.record(SEED_ACTOR, "reseller.create", "reseller", r.code, None,
                 {"name": r.name, "status": r.status, "creditLimit": f"{r.credit_limit:.2f}"})
    return r


def _gateway_secrets() -> dict[str, dict[str, str]]:
    """Secrets per merchant number from SANDBOX_MERCHANTS, the sandbox gateway's own setting
    (``MCH1001:API_SECRET:CALLBACK_SECRET,...``), so that the portal and the gateway agree."""
    out = {}
    for spec in os.environ.get("SANDBOX_MERCHANTS", "").split(","):
        parts = spec.strip().split(":")
        if len(parts) == 3 and all(parts):
            out[parts[0]] = {"api_secret": parts[1].split("|")[0], "callback_secret": parts[2]}
    return out


def _seed_channels(resellers: dict[str, Reseller]) -> tuple[int, list[str]]:
    """Missing channels are created; an ONLINE channel's secrets come from SANDBOX_MERCHANTS when it
    names the channel's merchant (and are updated to it, keeping the old ones for rotation), else
    they are random. Returns (channels created, codes whose secrets were updated)."""
    existing = {c.code: c for c in db.session.scalars(sa.select(Channel))}
    from_env = _gateway_secrets()
    created, updated = 0, []
    for i, spec in enumerate(demo_data.CHANNELS):
        env = from_env.get(spec["config"].get("merchant_no", "")) if spec.get("secrets") else None
        ch = existing.get(spec["code"])
        if ch is None:
            ch = _channel(spec, i, resellers, env)
            db.session.add(ch)
            created += 1
            audit.record(SEED_ACTOR, "channel.create", "channel", ch.code, None,
                         {"kind": ch.kind, "name": ch.name, "availableToAll": ch.available_to_all})
            continue
        if ch.kind == ChannelKind.ONLINE and ch.config.get("base_url") != spec["config"]["base_url"]:
            # The sandbox listens elsewhere now (another SANDBOX_PORT): follow it.
            ch.config = {**ch.config, "base_url": spec["config"]["base_url"]}
            updated.append(ch.code)
        if env and (not ch.secrets_enc or any(json.loads(crypto.decrypt(ch.secrets_enc)).get(k) != v
                                              for k, v in env.items())):
            channel_config.set_secrets(ch, env)
            updated.append(ch.code)
            audit.record(SEED_ACTOR, "channel.set_secrets", "channel", ch.code, None, {"source": "SANDBOX_MERCHANTS"})
    return created, updated


def _channel(spec: demo_data.ChannelSpec, index: int, resellers: dict[str, Reseller],
             env_secrets: dict | None) -> Channel:
    only = spec.get("only_for")
    secrets_enc = None
    if spec.get("secrets"):
        values = env_secrets or {"api_secret": secrets.token_hex(32), "callback_secret": secrets.token_hex(32)}
        secrets_enc = crypto.encrypt(json.dumps(values))
    return Channel(code=spec["code"], name=spec["name"], name_en=spec["name_en"], kind=spec["kind"], enabled=True,
                   min_amount=Decimal("0.01"), max_amount=spec["max_amount"], supports_refund=True,
                   supports_partial_refund=spec.get("supports_partial_refund", True),
                   confirm_timeout_seconds=spec["confirm_timeout_seconds"], expire_seconds=spec["expire_seconds"],
                   available_to_all=only is None, config=spec["config"], secrets_enc=secrets_enc,
                   sort_order=(index + 1) * 10, resellers=[resellers[c] for c in only or []])


def _generate_password() -> str:
    alphabet = string.ascii_letters + string.digits
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(16))
        if any(c.isdigit() for c in pw) and any(c.islower() for c in pw) and any(c.isupper() for c in pw):
            return pw


def _seed_users(report: SeedReport, password: str | None) -> list[str]:
    """Missing users are created with DEMO_PASSWORD (or one generated password); with
    DEMO_PASSWORD set, existing demo users whose password differs are reset to it."""
    emails = [u[0] for u in demo_data.USERS]
    with transaction():
        existing = {u.email: (u.id, u.password_hash) for u in db.session.scalars(
            sa.select(User).where(User.email.in_(emails)))}
    from_env = password is not None
    if password is None and len(existing) < len(emails):
        password = _generate_password()
    created, reset = [], []
    for email, role, code, name in demo_data.USERS:
        if email not in existing:
            assert password is not None  # generated above when a user is missing
            create_user(SEED_ACTOR, email, password, role, code, name=name)
            created.append(email)
        elif password is not None and from_env and not verify_password(existing[email][1], password):
            with transaction():
                user = db.session.get_one(User, existing[email][0])
                user.password_hash = hash_password(password)
                user.session_version += 1  # signs out sessions made with the old password
                audit.record(SEED_ACTOR, "user.password_reset", "user", email, None, {"reason": "DEMO_PASSWORD"})
            reset.append(email)
    _count(report, "users", len(created))
    if password is None:
        return ["Logins: the demo users exist already; their password was shown at the first seed "
                "(set DEMO_PASSWORD to reset it)."]
    source = "from DEMO_PASSWORD" if from_env else "generated; shown only now"
    lines = [f"Logins (password {password} — {source}):"]
    for email, role, code, _ in demo_data.USERS:
        note = " [password reset to DEMO_PASSWORD]" if email in reset else ""
        if email not in created and not from_env:
            note = " [existed already: password unchanged]"
        lines.append(f"  {email:<26} {role:<18} {code or ''}{note}".rstrip())
    return lines


def _seed_client(report: SeedReport, key: str | None) -> tuple[int, list[str]]:
    """The upstream systems' API client with every scope; DEMO_API_KEY, when set, is its key."""
    digest = api_clients.hash_key(key) if key else None
    with transaction():
        row = db.session.execute(sa.select(ApiClient.id, ApiClient.key_hash).where(
            ApiClient.name == demo_data.API_CLIENT_NAME)).first()
        owner = db.session.scalar(sa.select(ApiClient.name).where(ApiClient.key_hash == digest)) if key else None
    if owner not in (None, demo_data.API_CLIENT_NAME):
        raise ValidationFailed(f"DEMO_API_KEY is the key of API client {owner}", field="DEMO_API_KEY")
    if row is None:
        client, key_used = api_clients.create_client(SEED_ACTOR, demo_data.API_CLIENT_NAME,
                                                     demo_data.API_CLIENT_SCOPES, key=key)
        _count(report, "API clients", 1)
        how = "from DEMO_API_KEY" if key else "generated; shown only now, store it"
        return client.id, [f"API client {demo_data.API_CLIENT_NAME} (all scopes): key {key_used} ({how})"]
    if key is None:
        return row.id, [f"API client {demo_data.API_CLIENT_NAME} exists; its key was shown at the first seed "
                        "(set DEMO_API_KEY to choose it)."]
    note = ""
    if row.key_hash != digest:
        with transaction():
            client = db.session.get_one(ApiClient, row.id)
            before = {"keyPrefix": client.key_prefix}
            assert digest is not None  # the key's, computed above
            client.key_hash, client.key_prefix = digest, key[:8]
            audit.record(SEED_ACTOR, "api_client.set_key", "api_client", demo_data.API_CLIENT_NAME, before,
                         {"keyPrefix": key[:8], "reason": "DEMO_API_KEY"})
        api_clients.clear_cache()
        note = ", stored key updated to it"
    return row.id, [f"API client {demo_data.API_CLIENT_NAME} (all scopes): key {key} (from DEMO_API_KEY{note})"]


def _seed_orders(report: SeedReport, now: datetime, client_id: int) -> None:
    plan = build_plan(now)
    order_ids = sorted({o.order_id for o in plan.orders})
    with transaction():
        present = db.session.scalar(
            sa.select(sa.func.count(PaymentOrder.id)).where(PaymentOrder.order_id.in_(order_ids)))
        if present:
            report.lines.append(f"  payment orders: demo data already present ({present} orders); nothing changed")
            return
        replay = Replay(now, client_id)
        counts = replay.run(plan)
        audit.record(SEED_ACTOR, "demo.seed", "demo", "payment_orders", None, counts)
        statuses = Counter(o.payment_status for o in replay.orders.values())
    for table, n in counts.items():
        _count(report, table, n)
    report.lines.append("  payment orders: created " + ", ".join(_amount_of(t, n) for t, n in counts.items()))
    report.lines.append("  order statuses: " + ", ".join(f"{s} {n}" for s, n in sorted(statuses.items())))
