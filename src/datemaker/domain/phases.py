"""The phases inside a RUNNING event, in the same kind of table as the
lifecycle: round n, the break after it, and the final stretch in which
ratings stay open. Each change is recorded as an event with its round."""

from __future__ import annotations

from enum import Enum

from transitions import Machine

from datemaker.domain.errors import IllegalTransition


class Phase(str, Enum):
    ROUND = "round"
    BREAK = "break"
    FINAL = "final"


_TABLE = Machine(
    model=None,
    states=[p.value for p in Phase],
    transitions=[
        {"trigger": "end_round", "source": Phase.ROUND.value, "dest": Phase.BREAK.value},
        {"trigger": "end_last_round", "source": Phase.ROUND.value, "dest": Phase.FINAL.value},
        {"trigger": "start_round", "source": Phase.BREAK.value, "dest": Phase.ROUND.value},
    ],
    initial=Phase.ROUND.value,
    auto_transitions=False,
)


def next_phase(current: Phase, trigger: str) -> Phase:
    found = _TABLE.get_transitions(trigger=trigger, source=current.value)
    if not found:
        raise IllegalTransition(f"phase {current.value}", trigger)
    return Phase(found[0].dest)
