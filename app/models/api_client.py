from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Model
from .types import UTCDateTime, now_utc


class ApiClient(Model):
    """An upstream system. Its key is stored only as a SHA-256 hash (generated keys are 256-bit
    random, so a fast hash is enough); the hash is the lookup key, the prefix is for display."""

    __tablename__ = "api_clients"
    __table_args__ = (sa.Index("ix_api_clients_previous_key_hash", "previous_key_hash", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    key_prefix: Mapped[str] = mapped_column(sa.String(16))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scopes: Mapped[str] = mapped_column(sa.String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
    # A rotated key keeps working until previous_key_expires_at, so the client can switch without a
    # refused request (docs/SECURITY.md "API keys").
    previous_key_prefix: Mapped[str | None] = mapped_column(sa.String(16))
    previous_key_hash: Mapped[str | None] = mapped_column(sa.String(64))
    previous_key_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Written at most once a minute per client (authenticate), so it costs no write per request.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    endpoints: Mapped[list[WebhookEndpoint]] = relationship(
        "WebhookEndpoint", back_populates="client", cascade="all, delete-orphan"
    )

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(s for s in self.scopes.split(",") if s)


class WebhookEndpoint(Model):
    """Where the outbox delivers one API client's events (Standard Webhooks). Which addresses it
    may point at is the deployment's policy (``services/webhooks/address_policy.py``), not a
    column. A deleted endpoint keeps its row and delivery log (``deleted_at``), hidden and disabled."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("api_clients.id"), index=True)
    url: Mapped[str] = mapped_column(sa.String(500))
    secret_enc: Mapped[str] = mapped_column(sa.Text)
    # After a rotation the old secret still signs (a second ``v1,`` signature) until it expires,
    # so receivers can switch secrets without rejecting anything in between.
    previous_secret_enc: Mapped[str | None] = mapped_column(sa.Text)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    event_types: Mapped[str] = mapped_column(sa.Text, default="*")
    enabled: Mapped[bool] = mapped_column(default=True)
    description: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    client: Mapped[ApiClient] = relationship("ApiClient", back_populates="endpoints")


class IdempotencyKey(Model):
    """A client's idempotency key for one operation, written in the same transaction as the
    object it created, so a key can never point at nothing nor be left 'in progress'."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("client_id", "operation", "key", name="uq_idempotency_client_op_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("api_clients.id"))
    operation: Mapped[str] = mapped_column(sa.String(40))
    key: Mapped[str] = mapped_column(sa.String(128))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    response_code: Mapped[int] = mapped_column()
    resource_id: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
