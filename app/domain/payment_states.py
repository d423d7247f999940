"""The state machines of merged payments and channel payments (docs/DOMAIN.md §4), as tables.

A channel payment moves on events (approved, the channel's result, expiry, cancel); a merged payment
moves on approval and then on what its channel payments ended as. Every change of either goes
through ``next_channel_payment_status`` / ``next_merged_status``: a pair that is not in the table
raises ``IllegalTransition`` (409), so no code path can, say, succeed a payment that is waiting for
approval. ``tests/unit/test_payment_states.py`` walks every (state, event) pair of both tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from .enums import ChannelPaymentStatus as CP
from .enums import GatewayPaymentStatus as GW
from .enums import MergedPaymentStatus as MP
from .errors import StateConflict


class IllegalTransition(StateConflict):
    pass


class ChannelPaymentEvent(StrEnum):
    APPROVE = "APPROVE"  # the merged payment may go ahead: the channel is asked (or books at once)
    SUCCEED = "SUCCEED"  # the channel says it was paid (callback, query, voucher confirmed, ledger booked)
    FAIL = "FAIL"  # the channel says it was not paid (declined, voucher shortfall rejected)
    EXPIRE = "EXPIRE"  # nothing was paid in time (or never approved)
    CANCEL = "CANCEL"  # the reseller cancelled, or the approver rejected, before anything was paid


CHANNEL_PAYMENT_TRANSITIONS: dict[tuple[CP, ChannelPaymentEvent], CP] = {
    (CP.PENDING, ChannelPaymentEvent.APPROVE): CP.PROCESSING,
    (CP.PENDING, ChannelPaymentEvent.EXPIRE): CP.EXPIRED,
    (CP.PENDING, ChannelPaymentEvent.CANCEL): CP.CANCELLED,
    (CP.PROCESSING, ChannelPaymentEvent.SUCCEED): CP.SUCCESS,
    (CP.PROCESSING, ChannelPaymentEvent.FAIL): CP.FAILED,
    (CP.PROCESSING, ChannelPaymentEvent.EXPIRE): CP.EXPIRED,
    (CP.PROCESSING, ChannelPaymentEvent.CANCEL): CP.CANCELLED,
}

# What a channel payment ended as, read as the event that ends it (settlement's outcomes).
EVENT_FOR_OUTCOME: dict[CP, ChannelPaymentEvent] = {
    CP.SUCCESS: ChannelPaymentEvent.SUCCEED,
    CP.FAILED: ChannelPaymentEvent.FAIL,
    CP.EXPIRED: ChannelPaymentEvent.EXPIRE,
    CP.CANCELLED: ChannelPaymentEvent.CANCEL,
}

CHANNEL_PAYMENT_FINAL = frozenset({CP.SUCCESS, CP.FAILED, CP.EXPIRED, CP.CANCELLED})

# The gateway's final answers about an ONLINE payment, as the outcome they settle (its other answers
# settle nothing: PENDING and PROCESSING wait, NOT_FOUND raises an alert). Keyed by str: it is looked up
# with the gateway's own word, whatever that is.
OUTCOME_FOR_GATEWAY_STATUS: dict[str, CP] = {GW.SUCCESS: CP.SUCCESS, GW.FAILED: CP.FAILED, GW.EXPIRED: CP.EXPIRED}


class MergedPaymentEvent(StrEnum):
    APPROVE = "APPROVE"
    ALL_SUCCEEDED = "ALL_SUCCEEDED"  # every channel payment SUCCESS
    SOME_SUCCEEDED = "SOME_SUCCEEDED"  # at least one SUCCESS, at least one not
    ALL_CANCELLED = "ALL_CANCELLED"
    ALL_EXPIRED = "ALL_EXPIRED"
    NONE_SUCCEEDED = "NONE_SUCCEEDED"  # every other mix without a success (a failure among them)


MERGED_TRANSITIONS: dict[tuple[MP, MergedPaymentEvent], MP] = {
    (MP.PENDING_APPROVAL, MergedPaymentEvent.APPROVE): MP.PROCESSING,
    # Rejected by the approver or cancelled by the reseller; or never approved in time; or, when the
    # reseller cancels after part of it expired, a mix without a success.
    (MP.PENDING_APPROVAL, MergedPaymentEvent.ALL_CANCELLED): MP.CANCELLED,
    (MP.PENDING_APPROVAL, MergedPaymentEvent.ALL_EXPIRED): MP.EXPIRED,
    (MP.PENDING_APPROVAL, MergedPaymentEvent.NONE_SUCCEEDED): MP.FAILED,
    (MP.PROCESSING, MergedPaymentEvent.ALL_SUCCEEDED): MP.SUCCEEDED,
    (MP.PROCESSING, MergedPaymentEvent.SOME_SUCCEEDED): MP.PARTIALLY_SUCCEEDED,
    (MP.PROCESSING, MergedPaymentEvent.ALL_CANCELLED): MP.CANCELLED,
    (MP.PROCESSING, MergedPaymentEvent.ALL_EXPIRED): MP.EXPIRED,
    (MP.PROCESSING, MergedPaymentEvent.NONE_SUCCEEDED): MP.FAILED,
}

# REJECTED is allowed by the table's CHECK constraint for rows of older versions; no event leads there.
MERGED_FINAL = frozenset({MP.SUCCEEDED, MP.PARTIALLY_SUCCEEDED, MP.FAILED, MP.EXPIRED, MP.CANCELLED, MP.REJECTED})


def next_channel_payment_status(current: str, event: ChannelPaymentEvent) -> CP:
    try:
        return CHANNEL_PAYMENT_TRANSITIONS[(CP(current), event)]
    except KeyError:
        raise IllegalTransition(f"a {current} channel payment cannot {event.lower()}") from None


def next_merged_status(current: str, event: MergedPaymentEvent) -> MP:
    try:
        return MERGED_TRANSITIONS[(MP(current), event)]
    except KeyError:
        raise IllegalTransition(f"a {current} merged payment cannot take {event.lower()}") from None


def merged_event_for(channel_statuses: Iterable[str]) -> MergedPaymentEvent | None:
    """What the channel payments' states mean for their merged payment; None while any is open."""
    statuses = [CP(s) for s in channel_statuses]
    if not statuses or any(s not in CHANNEL_PAYMENT_FINAL for s in statuses):
        return None
    if all(s == CP.SUCCESS for s in statuses):
        return MergedPaymentEvent.ALL_SUCCEEDED
    if CP.SUCCESS in statuses:
        return MergedPaymentEvent.SOME_SUCCEEDED
    if all(s == CP.CANCELLED for s in statuses):
        return MergedPaymentEvent.ALL_CANCELLED
    if all(s == CP.EXPIRED for s in statuses):
        return MergedPaymentEvent.ALL_EXPIRED
    return MergedPaymentEvent.NONE_SUCCEEDED
