"""Planning an event: groups first, then the rounds of each group.

Pure: the caller passes the people, the limit, the pairs that must never
meet (with the reasons why, which the plan records for the pairs among its
people), a seed and the event's start date. The same input and seed give the
same plan; ties are settled by seeded generators and user ids, never by the
order of a dict or set."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import numpy as np

from datemaker.domain.pairing.compatibility import (
    Compatibility,
    NeverMeet,
    Rules,
    opposite_sex,
)
from datemaker.domain.pairing.grouping import form_groups
from datemaker.domain.pairing.model import Group, Plan, Unplaced
from datemaker.domain.pairing.rounds import schedule_group
from datemaker.domain.pairing.scoring import Population, ScoreWeights
from datemaker.domain.profile import Profile

GROUPING_STREAM, ROUNDS_STREAM = 0, 1


def plan_event(
    participants: Mapping[int, Profile],
    users_limit: int,
    *,
    reference_date: date,
    forbidden: NeverMeet = (),
    seed: int = 0,
    compatibility: Compatibility = opposite_sex,
    weights: ScoreWeights | None = None,
) -> Plan:
    """Plan the groups and rounds for the confirmed `participants`.

    `users_limit` is the most people dating inside one group; more people make
    more groups. `reference_date` (the event's start) is the day ages count on."""
    if users_limit < 2:
        raise ValueError("users_limit must be at least 2 (one pair)")
    population = Population.build(participants, reference_date, weights or ScoreWeights())
    rules = Rules.build(population, compatibility, forbidden)
    everyone = np.arange(len(population), dtype=np.int64)
    groups, unplaced = form_groups(rules, everyone, users_limit, generator(seed, GROUPING_STREAM))
    return Plan(
        groups=tuple(make_group(rules, number, members, seed) for number, members in enumerate(groups, start=1)),
        unplaced=unplaced_records(population, unplaced),
        users_limit=users_limit,
        seed=seed,
        reference_date=reference_date,
        kept_apart=rules.kept_apart(),
    )


def make_group(rules: Rules, number: int, members: np.ndarray, seed: int) -> Group:
    method, rounds = schedule_group(rules, members, generator(seed, ROUNDS_STREAM, number))
    return Group(number, tuple(rules.population.user_ids[members].tolist()), rounds, method)


def unplaced_records(population: Population, unplaced: Mapping[int, str]) -> tuple[Unplaced, ...]:
    by_user = {int(population.user_ids[p]): reason for p, reason in unplaced.items()}
    return tuple(Unplaced(uid, by_user[uid]) for uid in sorted(by_user))


def generator(seed: int, *stream: int) -> np.random.Generator:
    """An independent seeded generator per purpose (and per group), so one
    group's draws never shift another's."""
    return np.random.default_rng([seed % 2**64, *stream])
