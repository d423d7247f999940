from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.enums import ChannelKind
from ..extensions import db
from .base import Model
from .types import Money, UTCDateTime, now_utc, sql_values

if TYPE_CHECKING:
    from .reseller import Reseller

channel_resellers = sa.Table(
    "channel_resellers",
    db.metadata,
    sa.Column("channel_id", sa.ForeignKey("channels.id"), primary_key=True),
    sa.Column("reseller_id", sa.ForeignKey("resellers.id"), primary_key=True),
)


class Channel(Model):
    """A payment channel configured by the admin (docs/DOMAIN.md §5). ``kind`` picks the adapter;
    ``secrets_enc`` holds the channel's secrets as one encrypted JSON document."""

    __tablename__ = "channels"
    __table_args__ = (
        sa.CheckConstraint(f"kind IN {sql_values(ChannelKind)}", name="kind"),
        sa.CheckConstraint("min_amount >= 0", name="min_nonneg"),
        sa.CheckConstraint("max_amount IS NULL OR max_amount >= min_amount", name="max_ge_min"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    name_en: Mapped[str] = mapped_column(sa.String(100), default="")
    kind: Mapped[str] = mapped_column(sa.String(16))
    enabled: Mapped[bool] = mapped_column(default=True)
    min_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.01"))
    max_amount: Mapped[Decimal | None] = mapped_column(Money)
    daily_limit_per_reseller: Mapped[Decimal | None] = mapped_column(Money)
    supports_refund: Mapped[bool] = mapped_column(default=True)
    supports_partial_refund: Mapped[bool] = mapped_column(default=True)
    confirm_timeout_seconds: Mapped[int] = mapped_column(default=900)
    expire_seconds: Mapped[int] = mapped_column(default=86400)
    available_to_all: Mapped[bool] = mapped_column(default=True)
    config: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    secrets_enc: Mapped[str | None] = mapped_column(sa.Text)
    sort_order: Mapped[int] = mapped_column(default=0)
    # a maintenance window set by the admin (UTC): inside it the channel is not offered at checkout
    maintenance_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    maintenance_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc, nullable=False)

    resellers: Mapped[list[Reseller]] = relationship("Reseller", secondary=channel_resellers, lazy="selectin")
