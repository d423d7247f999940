"""Who is acting: passed into every service call that changes something, for the audit log."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    type: str  # user | api_client | system | channel
    id: str
    ip: str | None = None
    request_id: str | None = None
    client_id: int | None = None  # the ApiClient row, for API callers
    scopes: frozenset[str] = frozenset()

    @property
    def label(self) -> str:
        return f"{self.type}:{self.id}"


SYSTEM = Actor(type="system", id="system")
