"""The life of a request: DataPass's table of states and events, held by any sequence of
attempts, on the pure rule and on the stored requests."""

from __future__ import annotations

import pytest
from api_particulier_habilitation.states import (
    RULES,
    Event,
    NotAllowed,
    Role,
    State,
    next_state,
)
from hypothesis import given
from hypothesis import strategies as st

ALLOWED = {
    # (event, role): states it may fire from
    (Event.submit, Role.requester): {State.draft, State.changes_requested},
    (Event.request_changes, Role.instructor): {State.submitted},
    (Event.refuse, Role.instructor): {State.submitted, State.changes_requested},
    (Event.approve, Role.instructor): {State.submitted},
    # Keys can always be revoked; the workflow refuses a request that never had any.
    (Event.revoke, Role.instructor): set(State) - {State.revoked},
    (Event.archive, Role.requester): {State.draft, State.changes_requested},
    (Event.archive, Role.instructor): set(State) - {State.validated, State.archived},
    (Event.reopen, Role.requester): {State.validated},
}
attempts = st.lists(
    st.tuples(
        st.sampled_from([e for e in Event if e is not Event.create]),
        st.sampled_from([Role.requester, Role.instructor]),
    ),
    max_size=40,
)


@given(attempts)
def test_any_sequence_follows_the_table(sequence: list[tuple[Event, Role]]) -> None:
    state = State.draft
    approved = False
    for event, role in sequence:
        before = state
        allowed = event is Event.message or before in ALLOWED.get((event, role), set())
        try:
            state = next_state(before, event, role)
        except NotAllowed as refused:
            assert not allowed, (before, event, role)
            assert refused.message  # a sentence for the person
            assert state is before
            continue
        assert allowed, (before, event, role)
        if event is Event.message:
            assert state is before
        approved = approved or state is State.validated
        # Nothing but a revocation leaves an archived request; nothing but the
        # instructors validates.
        assert before is not State.archived or event in (Event.message, Event.revoke)
        if state is State.validated and before is not State.validated:
            assert event is Event.approve and role is Role.instructor


@given(attempts)
def test_a_requester_only_writes_on_a_datapass_request(
    sequence: list[tuple[Event, Role]],
) -> None:
    """A request instructed in DataPass changes there: its requester may only write."""
    for event, role in sequence:
        for state in State:
            if role is Role.requester and event is not Event.message:
                with pytest.raises(NotAllowed):
                    next_state(state, event, role, from_datapass=True)
            else:
                try:
                    expected = next_state(state, event, role)
                except NotAllowed:
                    continue
                assert next_state(state, event, role, from_datapass=True) is expected


def test_every_event_has_a_rule_and_the_instructors_never_submit() -> None:
    assert set(RULES) == set(Event) - {Event.create}
    for state in State:
        with pytest.raises(NotAllowed):
            next_state(state, Event.submit, Role.instructor)
    with pytest.raises(NotAllowed, match="Brouillon"):
        next_state(State.draft, Event.approve, Role.instructor)
