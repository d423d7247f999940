"""The state machines of channel payments and merged payments (app/domain/payment_states.py): every
(state, event) pair of both tables, the final states, what a set of channel payments means for their
merged payment, and the transitions settlement relies on."""

from __future__ import annotations

from itertools import combinations_with_replacement, product

import pytest

from app.domain.enums import ChannelPaymentStatus as CP
from app.domain.enums import GatewayPaymentStatus as GW
from app.domain.enums import MergedPaymentStatus as MP
from app.domain.errors import StateConflict
from app.domain.payment_states import (
    CHANNEL_PAYMENT_FINAL,
    CHANNEL_PAYMENT_TRANSITIONS,
    EVENT_FOR_OUTCOME,
    MERGED_FINAL,
    MERGED_TRANSITIONS,
    OUTCOME_FOR_GATEWAY_STATUS,
    ChannelPaymentEvent,
    IllegalTransition,
    MergedPaymentEvent,
    merged_event_for,
    next_channel_payment_status,
    next_merged_status,
)

# The tables as docs/DOMAIN.md §4 states them, written out again so that a change to either side shows.
CHANNEL_EXPECTED = {
    (CP.PENDING, ChannelPaymentEvent.APPROVE): CP.PROCESSING,
    (CP.PENDING, ChannelPaymentEvent.EXPIRE): CP.EXPIRED,
    (CP.PENDING, ChannelPaymentEvent.CANCEL): CP.CANCELLED,
    (CP.PROCESSING, ChannelPaymentEvent.SUCCEED): CP.SUCCESS,
    (CP.PROCESSING, ChannelPaymentEvent.FAIL): CP.FAILED,
    (CP.PROCESSING, ChannelPaymentEvent.EXPIRE): CP.EXPIRED,
    (CP.PROCESSING, ChannelPaymentEvent.CANCEL): CP.CANCELLED,
}
MERGED_EXPECTED = {
    (MP.PENDING_APPROVAL, MergedPaymentEvent.APPROVE): MP.PROCESSING,
    (MP.PENDING_APPROVAL, MergedPaymentEvent.ALL_CANCELLED): MP.CANCELLED,
    (MP.PENDING_APPROVAL, MergedPaymentEvent.ALL_EXPIRED): MP.EXPIRED,
    (MP.PENDING_APPROVAL, MergedPaymentEvent.NONE_SUCCEEDED): MP.FAILED,
    (MP.PROCESSING, MergedPaymentEvent.ALL_SUCCEEDED): MP.SUCCEEDED,
    (MP.PROCESSING, MergedPaymentEvent.SOME_SUCCEEDED): MP.PARTIALLY_SUCCEEDED,
    (MP.PROCESSING, MergedPaymentEvent.ALL_CANCELLED): MP.CANCELLED,
    (MP.PROCESSING, MergedPaymentEvent.ALL_EXPIRED): MP.EXPIRED,
    (MP.PROCESSING, MergedPaymentEvent.NONE_SUCCEEDED): MP.FAILED,
}


def test_the_tables_are_the_documented_ones():
    assert CHANNEL_PAYMENT_TRANSITIONS == CHANNEL_EXPECTED
    assert MERGED_TRANSITIONS == MERGED_EXPECTED


@pytest.mark.parametrize("state, event", list(product(CP, ChannelPaymentEvent)), ids=str)
def test_every_channel_payment_pair(state, event):
    if (state, event) in CHANNEL_EXPECTED:
        assert next_channel_payment_status(state, event) is CHANNEL_EXPECTED[(state, event)]
        assert next_channel_payment_status(state.value, event) is CHANNEL_EXPECTED[(state, event)]  # as stored
    else:
        with pytest.raises(IllegalTransition, match=f"a {state} channel payment cannot {event.lower()}"):
            next_channel_payment_status(state, event)


@pytest.mark.parametrize("state, event", list(product(MP, MergedPaymentEvent)), ids=str)
def test_every_merged_payment_pair(state, event):
    if (state, event) in MERGED_EXPECTED:
        assert next_merged_status(state, event) is MERGED_EXPECTED[(state, event)]
        assert next_merged_status(state.value, event) is MERGED_EXPECTED[(state, event)]
    else:
        with pytest.raises(IllegalTransition, match=f"a {state} merged payment cannot take {event.lower()}"):
            next_merged_status(state, event)


def test_an_illegal_transition_is_a_conflict():
    assert issubclass(IllegalTransition, StateConflict)


def test_a_word_outside_the_vocabulary_is_refused():
    with pytest.raises(ValueError):
        next_channel_payment_status("PAID", ChannelPaymentEvent.SUCCEED)
    with pytest.raises(ValueError):
        next_merged_status("DONE", MergedPaymentEvent.APPROVE)


@pytest.mark.parametrize("statuses, table, final", [
    (CP, CHANNEL_EXPECTED, CHANNEL_PAYMENT_FINAL),
    (MP, MERGED_EXPECTED, MERGED_FINAL),
], ids=["channel", "merged"])
def test_final_states_are_exactly_those_without_a_way_out(statuses, table, final):
    with_way_out = {state for state, _ in table}
    assert final == set(statuses) - with_way_out
    for state, event in product(final, {e for _, e in table}):
        assert (state, event) not in table


@pytest.mark.parametrize("statuses, table, start, unreachable", [
    (CP, CHANNEL_EXPECTED, {CP.PENDING, CP.PROCESSING}, set()),
    # REJECTED is kept for rows of older versions only: no event leads there.
    (MP, MERGED_EXPECTED, {MP.PENDING_APPROVAL, MP.PROCESSING}, {MP.REJECTED}),
], ids=["channel", "merged"])
def test_every_state_but_a_legacy_one_is_reachable(statuses, table, start, unreachable):
    reached, frontier = set(start), list(start)
    while frontier:
        state = frontier.pop()
        for (source, _), target in table.items():
            if source == state and target not in reached:
                reached.add(target)
                frontier.append(target)
    assert set(statuses) - reached == unreachable


# --- what the channel payments mean for their merged payment --------------------------------------

@pytest.mark.parametrize("statuses, event", [
    ([CP.SUCCESS], MergedPaymentEvent.ALL_SUCCEEDED),
    ([CP.SUCCESS, CP.SUCCESS, CP.SUCCESS], MergedPaymentEvent.ALL_SUCCEEDED),
    ([CP.SUCCESS, CP.FAILED], MergedPaymentEvent.SOME_SUCCEEDED),
    ([CP.EXPIRED, CP.SUCCESS], MergedPaymentEvent.SOME_SUCCEEDED),
    ([CP.CANCELLED, CP.SUCCESS, CP.CANCELLED], MergedPaymentEvent.SOME_SUCCEEDED),
    ([CP.CANCELLED], MergedPaymentEvent.ALL_CANCELLED),
    ([CP.CANCELLED, CP.CANCELLED], MergedPaymentEvent.ALL_CANCELLED),
    ([CP.EXPIRED], MergedPaymentEvent.ALL_EXPIRED),
    ([CP.EXPIRED, CP.EXPIRED], MergedPaymentEvent.ALL_EXPIRED),
    ([CP.FAILED], MergedPaymentEvent.NONE_SUCCEEDED),
    ([CP.FAILED, CP.EXPIRED], MergedPaymentEvent.NONE_SUCCEEDED),
    ([CP.CANCELLED, CP.EXPIRED], MergedPaymentEvent.NONE_SUCCEEDED),
    ([CP.FAILED, CP.CANCELLED, CP.EXPIRED], MergedPaymentEvent.NONE_SUCCEEDED),
    ([CP.SUCCESS, CP.PROCESSING], None),
    ([CP.PENDING], None),
    ([CP.FAILED, CP.PENDING], None),
    ([], None),
])
def test_merged_event_for_each_combination_class(statuses, event):
    assert merged_event_for(statuses) is event
    assert merged_event_for(reversed(statuses)) is event  # the order of the channel payments does not matter
    assert merged_event_for([s.value for s in statuses]) is event  # as read from the database


def _class_of(statuses: tuple[CP, ...]) -> MergedPaymentEvent | None:
    """The classes of docs/DOMAIN.md §4, each by its own defining property."""
    if not statuses or not set(statuses) <= CHANNEL_PAYMENT_FINAL:
        return None
    if set(statuses) == {CP.SUCCESS}:
        return MergedPaymentEvent.ALL_SUCCEEDED
    if CP.SUCCESS in statuses:
        return MergedPaymentEvent.SOME_SUCCEEDED
    if set(statuses) in ({CP.CANCELLED}, {CP.EXPIRED}):
        return MergedPaymentEvent.ALL_CANCELLED if CP.CANCELLED in statuses else MergedPaymentEvent.ALL_EXPIRED
    return MergedPaymentEvent.NONE_SUCCEEDED


COMBINATIONS = [c for size in range(1, 4) for c in combinations_with_replacement(CP, size)]


@pytest.mark.parametrize("statuses", COMBINATIONS, ids=lambda c: "+".join(c))
def test_every_combination_of_up_to_three_channel_payments(statuses):
    event = merged_event_for(statuses)
    assert event is _class_of(statuses)
    if event is None:
        return
    # A merged payment that was approved always has a transition for what its payments ended as.
    assert next_merged_status(MP.PROCESSING, event) in MERGED_FINAL
    # One still waiting for approval has asked no channel, so nothing of it can have been paid.
    if CP.SUCCESS in statuses:
        with pytest.raises(IllegalTransition):
            next_merged_status(MP.PENDING_APPROVAL, event)
    else:
        assert next_merged_status(MP.PENDING_APPROVAL, event) in MERGED_FINAL


# --- the transitions settlement uses ----------------------------------------------------------------

def test_settlement_outcomes_are_the_final_states_and_lead_to_themselves():
    assert set(EVENT_FOR_OUTCOME) == CHANNEL_PAYMENT_FINAL
    for outcome, event in EVENT_FOR_OUTCOME.items():
        assert next_channel_payment_status(CP.PROCESSING, event) is outcome


@pytest.mark.parametrize("outcome", [CP.CANCELLED, CP.EXPIRED])
def test_a_payment_waiting_for_approval_can_only_be_cancelled_or_expire(outcome):
    assert next_channel_payment_status(CP.PENDING, EVENT_FOR_OUTCOME[outcome]) is outcome


@pytest.mark.parametrize("outcome", [CP.SUCCESS, CP.FAILED])
def test_a_payment_waiting_for_approval_cannot_be_settled_by_a_channel(outcome):
    with pytest.raises(IllegalTransition):
        next_channel_payment_status(CP.PENDING, EVENT_FOR_OUTCOME[outcome])


@pytest.mark.parametrize("final, outcome", list(product(sorted(CHANNEL_PAYMENT_FINAL), repeat=2)), ids=str)
def test_a_final_payment_takes_no_second_outcome(final, outcome):
    with pytest.raises(IllegalTransition):
        next_channel_payment_status(final, EVENT_FOR_OUTCOME[outcome])


def test_approval_starts_the_channel_payments_and_the_merged_payment():
    assert next_channel_payment_status(CP.PENDING, ChannelPaymentEvent.APPROVE) is CP.PROCESSING
    assert next_merged_status(MP.PENDING_APPROVAL, MergedPaymentEvent.APPROVE) is MP.PROCESSING
    with pytest.raises(IllegalTransition):
        next_channel_payment_status(CP.PROCESSING, ChannelPaymentEvent.APPROVE)  # approved once only


@pytest.mark.parametrize("answer", list(GW), ids=str)
def test_the_gateway_answers_that_settle_a_payment(answer):
    """SUCCESS, FAILED and EXPIRED settle as the same outcome; PENDING, PROCESSING and NOT_FOUND settle nothing."""
    if answer in (GW.SUCCESS, GW.FAILED, GW.EXPIRED):
        outcome = OUTCOME_FOR_GATEWAY_STATUS[answer]
        assert outcome.value == answer.value
        assert next_channel_payment_status(CP.PROCESSING, EVENT_FOR_OUTCOME[outcome]) is outcome
    else:
        assert answer not in OUTCOME_FOR_GATEWAY_STATUS
    assert OUTCOME_FOR_GATEWAY_STATUS.get(answer.value) == OUTCOME_FOR_GATEWAY_STATUS.get(answer)  # raw text too
