"""Reading alerts: the lists of ``/admin/alerts`` and the ``/finance`` panel, and the open counts
by kind (``/admin`` health, ``/metrics``)."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from ...extensions import db
from ...models import Alert
from ...models.alert import AlertState

PAGE = 200


def list_alerts(state: str | None = None, kind: str | None = None, kinds: Iterable[str] | None = None,
                limit: int = PAGE) -> list[Alert]:
    """Newest activity first. ``state``: one state, or ``None`` for the unresolved ones (OPEN and
    ACKNOWLEDGED), or ``"ALL"``. ``kinds``: only these (finance's view)."""
    stmt = sa.select(Alert)
    if state is None:
        stmt = stmt.where(Alert.state != AlertState.RESOLVED)
    elif state != "ALL":
        stmt = stmt.where(Alert.state == state)
    if kind:
        stmt = stmt.where(Alert.kind == kind)
    if kinds is not None:
        stmt = stmt.where(Alert.kind.in_(sorted(kinds)))
    return list(db.session.scalars(stmt.order_by(Alert.last_seen_at.desc(), Alert.id.desc()).limit(limit)))


def open_by_kind() -> dict[str, int]:
    """Unresolved alerts (OPEN or ACKNOWLEDGED) per kind."""
    rows = db.session.execute(sa.select(Alert.kind, sa.func.count()).where(Alert.state != AlertState.RESOLVED)
                              .group_by(Alert.kind))
    return {kind: int(n) for kind, n in rows}
