"""Rules about reseller companies that more than one part of the code must state the same way."""

from __future__ import annotations

from .enums import ResellerStatus

# A payment order may be created only for a reseller in one of these states (docs/DOMAIN.md §3).
TAKING_NEW_ORDERS: tuple[str, ...] = (ResellerStatus.ACTIVE.value,)


def takes_new_orders(status: str) -> bool:
    return status in TAKING_NEW_ORDERS
