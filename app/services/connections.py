"""Connections between areas that must not import each other, made once when the app is built.

Payouts know nothing of why a payout was made; an area that makes payouts for its own purpose
registers what must settle with them when they become final (payouts/final_state.py):

- REFUND payouts pay WIRE refund parts: the part settles with its payout (refunds/wire.py).
"""

from __future__ import annotations

from ..domain.enums import PayoutSource
from .payouts import final_state as payout_final_state
from .refunds import wire as refund_wire


def connect_areas() -> None:
    payout_final_state.on_final(PayoutSource.REFUND, refund_wire.on_payout_final)
