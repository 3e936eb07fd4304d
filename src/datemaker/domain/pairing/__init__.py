"""The pairing engine: who dates whom, in which group and round, and why.

Pure domain code (standard library, numpy and scipy only): no I/O, no clock,
no global randomness. A `Plan` is recorded as one event; replay reads it back
through `Plan.from_record` and never recomputes it.

    plan = plan_event(participants, users_limit, reference_date=start.date(),
                      forbidden={(a, b): ("reported",)}, seed=seed)  # or plain pairs
    later = replan(plan, present, from_round=1, forbidden=pairs, seed=seed,
                   participants=participants)

Where the rules live:
    compatibility.py  who may date whom (one predicate; default: M with F)
    scoring.py        how well two people match (age, city, operator, rating)
    grouping.py       groups of at most users_limit, balanced and alike
    rounds.py         each group's rounds: every allowed pair meets once
    rotation.py       complete M/F groups: max(k, m) rounds, fair sit-outs
    colouring.py      other groups: the least rounds the shape allows
    ordering.py       round order when sit-outs are forced
    replan.py         re-pairing once we know who came
    midway.py         re-pairing the rounds to come when someone leaves mid-event
    model.py          the plan as frozen, JSON-friendly values
    reasons.py        the reason codes recorded with every decision
"""

from datemaker.domain.pairing import reasons
from datemaker.domain.pairing.compatibility import (
    Compatibility,
    KeptApartPairs,
    NeverMeet,
    forbidden_pairs,
    opposite_sex,
)
from datemaker.domain.pairing.model import Group, KeptApart, Pair, Plan, Round, SitOut, Unplaced
from datemaker.domain.pairing.planner import plan_event
from datemaker.domain.pairing.replan import replan
from datemaker.domain.pairing.scoring import ScoreWeights

__all__ = [
    "Compatibility",
    "Group",
    "KeptApart",
    "KeptApartPairs",
    "NeverMeet",
    "Pair",
    "Plan",
    "Round",
    "ScoreWeights",
    "SitOut",
    "Unplaced",
    "forbidden_pairs",
    "opposite_sex",
    "plan_event",
    "reasons",
    "replan",
]
