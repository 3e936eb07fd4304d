"""Every allowed and every forbidden lifecycle transition."""

from __future__ import annotations

import itertools

import pytest

from datemaker.domain.errors import EventOver, IllegalTransition
from datemaker.domain.lifecycle import EventState, allowed_triggers, next_state

S = EventState
ALLOWED = {
    (S.NOT_STARTED, "open_confirmation"): S.REG_CONFIRM,
    (S.REG_CONFIRM, "fix_groups"): S.READY,
    (S.REG_CONFIRM, "skip"): S.SKIPPED,
    (S.READY, "start"): S.RUNNING,
    (S.RUNNING, "finish"): S.FINISHED,
    (S.NOT_STARTED, "cancel"): S.CANCELLED,
    (S.REG_CONFIRM, "cancel"): S.CANCELLED,
    (S.READY, "cancel"): S.CANCELLED,
    (S.RUNNING, "cancel"): S.CANCELLED,
}
TRIGGERS = sorted({trigger for _, trigger in ALLOWED})
FORBIDDEN = [pair for pair in itertools.product(S, TRIGGERS) if pair not in ALLOWED]


def test_state_ids_and_names_are_the_platforms():
    assert [(s.value, s.name) for s in S] == [
        (0, "NOT_STARTED"), (1, "REG_CONFIRM"), (2, "READY"), (3, "RUNNING"),
        (4, "FINISHED"), (5, "SKIPPED"), (6, "CANCELLED"),
    ]


@pytest.mark.parametrize(("state", "trigger"), sorted(ALLOWED))
def test_allowed_transition_leads_to_its_state(state, trigger):
    assert next_state(state, trigger) is ALLOWED[(state, trigger)]


@pytest.mark.parametrize(("state", "trigger"), FORBIDDEN)
def test_forbidden_transition_raises_a_typed_error(state, trigger):
    with pytest.raises(IllegalTransition) as raised:
        next_state(state, trigger)
    assert isinstance(raised.value, EventOver) == state.is_over


def test_final_states_allow_nothing():
    for state in (S.FINISHED, S.SKIPPED, S.CANCELLED):
        assert allowed_triggers(state) == []
