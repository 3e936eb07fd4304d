"""The lifecycle of a dating event: its states (ids and names as the
platform's dashboards know them) and the one table of allowed transitions.

The `transitions` machine is used only as that table (model=None): binding it
to the aggregate would re-fire callbacks on every replay and break snapshots.
"""

from __future__ import annotations

from enum import IntEnum

from transitions import Machine

from datemaker.domain.errors import EventOver, IllegalTransition


class EventState(IntEnum):
    NOT_STARTED = 0
    REG_CONFIRM = 1
    READY = 2
    RUNNING = 3
    FINISHED = 4
    SKIPPED = 5
    CANCELLED = 6

    @property
    def is_over(self) -> bool:
        return self in FINAL_STATES


FINAL_STATES = frozenset({EventState.FINISHED, EventState.SKIPPED, EventState.CANCELLED})
LIVE_STATES = tuple(s for s in EventState if s not in FINAL_STATES)

_S = EventState
TRANSITIONS = [
    {"trigger": "open_confirmation", "source": _S.NOT_STARTED.name, "dest": _S.REG_CONFIRM.name},
    {"trigger": "fix_groups", "source": _S.REG_CONFIRM.name, "dest": _S.READY.name},
    {"trigger": "skip", "source": _S.REG_CONFIRM.name, "dest": _S.SKIPPED.name},
    {"trigger": "start", "source": _S.READY.name, "dest": _S.RUNNING.name},
    {"trigger": "finish", "source": _S.RUNNING.name, "dest": _S.FINISHED.name},
    {"trigger": "cancel", "source": [s.name for s in LIVE_STATES], "dest": _S.CANCELLED.name},
]

_TABLE = Machine(
    model=None,
    states=[s.name for s in EventState],
    transitions=TRANSITIONS,
    initial=_S.NOT_STARTED.name,
    auto_transitions=False,
)


def next_state(current: EventState, trigger: str) -> EventState:
    """The state `trigger` leads to from `current`; raises when not allowed."""
    found = _TABLE.get_transitions(trigger=trigger, source=current.name)
    if not found:
        if current.is_over:
            raise EventOver(current.name, trigger)
        raise IllegalTransition(current.name, trigger)
    return EventState[found[0].dest]


def allowed_triggers(current: EventState) -> list[str]:
    return sorted(_TABLE.get_triggers(current.name))
