"""Re-pairing once the event starts and we know who actually came.

`replan` keeps every round before `from_round` as it was and re-pairs the
people present for the rest, under the same rules:

- `from_round == 1` (nothing has happened yet): the present people are planned
  afresh, so groups stay balanced however the no-shows fell, and a person who
  had no place may get one. Absent people who had a place get `no_show`.
- `from_round > 1`: groups keep their members (they have met each other
  already). In each group, every present pair that may date and has not met
  yet meets exactly once from `from_round` on; pairs never repeat, forbidden
  pairs never meet, nobody has two dates in a round. Absent members sit out
  with `no_show`. A two-sided group needs as many rounds as its busiest
  person still has dates, any other group at most one more.

Pairs the plan kept apart stay apart, whether or not the caller names them
again; `forbidden` adds more (someone reported there), and the new plan
records them all with their reasons.

Nobody is added: every present id must already be in the plan."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date

import numpy as np

from datemaker.domain.pairing import reasons
from datemaker.domain.pairing.compatibility import (
    Compatibility,
    NeverMeet,
    Rules,
    kept_among,
    opposite_sex,
    pairs_kept_apart,
)
from datemaker.domain.pairing.model import Group, Plan, Unplaced
from datemaker.domain.pairing.planner import generator, plan_event
from datemaker.domain.pairing.rounds import build_rounds, coloured_rounds
from datemaker.domain.pairing.scoring import Population, ScoreWeights, tie_breaker
from datemaker.domain.profile import Profile

REPLAN_STREAM = 2


def replan(
    plan: Plan,
    present_user_ids: Iterable[int],
    from_round: int,
    forbidden: NeverMeet = (),
    seed: int = 0,
    *,
    participants: Mapping[int, Profile],
    reference_date: date | None = None,
    compatibility: Compatibility = opposite_sex,
    weights: ScoreWeights | None = None,
) -> Plan:
    """A new plan: rounds before `from_round` unchanged, the rest re-paired.

    `participants` maps user ids to the same profile snapshots the plan was
    made from (at least everyone present, and every placed person when
    `from_round > 1`); `reference_date` defaults to the plan's."""
    present = frozenset(int(uid) for uid in present_user_ids)
    known = plan.placed_user_ids | plan.unplaced_user_ids
    if not present <= known:
        raise ValueError(f"not in the plan: {sorted(present - known)}")
    if not 1 <= from_round <= plan.rounds_count + 1:
        raise ValueError(f"from_round must be within 1..{plan.rounds_count + 1}")
    day = reference_date or plan.reference_date
    apart = pairs_kept_apart(dict(plan.kept_apart), forbidden)
    if from_round == 1:
        return _plan_afresh(plan, present, apart, seed, participants, day, compatibility, weights)
    placed = {uid: participants[uid] for uid in sorted(plan.placed_user_ids)}
    population = Population.build(placed, day, weights or ScoreWeights())
    rules = Rules.build(population, compatibility, apart)
    groups = tuple(_replan_group(rules, group, present, from_round, seed) for group in plan.groups)
    return replace(plan, groups=groups, seed=seed, reference_date=day, kept_apart=kept_among(apart, known))


def _plan_afresh(
    plan: Plan,
    present: frozenset[int],
    forbidden: NeverMeet,
    seed: int,
    participants: Mapping[int, Profile],
    day: date,
    compatibility: Compatibility,
    weights: ScoreWeights | None,
) -> Plan:
    fresh = plan_event(
        {uid: participants[uid] for uid in present},
        plan.users_limit,
        reference_date=day,
        forbidden=forbidden,
        seed=seed,
        compatibility=compatibility,
        weights=weights,
    )
    absent = [Unplaced(uid, reasons.NO_SHOW) for uid in plan.placed_user_ids - present]
    # Someone who had no place and did not come keeps the reason they had.
    kept = [item for item in plan.unplaced if item.user_id not in present]
    unplaced = tuple(sorted([*fresh.unplaced, *absent, *kept], key=lambda item: item.user_id))
    return replace(fresh, unplaced=unplaced)


def _replan_group(rules: Rules, group: Group, present: frozenset[int], from_round: int, seed: int) -> Group:
    before = tuple(item for item in group.rounds if item.number < from_round)
    members = rules.population.positions_of(group.user_ids)
    local = {uid: i for i, uid in enumerate(group.user_ids)}
    active = np.array([uid in present for uid in group.user_ids], dtype=bool)
    allowed = rules.allowed(members, members) & active[:, None] & active[None, :]
    for item in before:  # a pair that has met never meets again
        for pair in item.pairs:
            allowed[local[pair.a], local[pair.b]] = allowed[local[pair.b], local[pair.a]] = False
    rested_last = np.zeros(len(members), dtype=bool)
    if before and before[-1].number == from_round - 1:
        for sit_out in before[-1].sit_outs:
            rested_last[local[sit_out.user_id]] = True
    score = rules.population.scores(members, members)
    noise = tie_breaker(generator(seed, REPLAN_STREAM, group.number), score.shape)
    method, dates, order_reasons = coloured_rounds(allowed, score + (noise + noise.T) / 2, active, rested_last)
    after = build_rounds(
        rules,
        members,
        dates,
        [set()] * len(dates),
        [reasons.replanned(reason) for reason in order_reasons],
        score,
        allowed,
        active,
        from_round,
    )
    return replace(group, rounds=before + after, method=reasons.replanned(method))

