"""The rounds inside one group: every pair that may date meets exactly once,
nobody has two dates in one round, and the best dates come early.

- A complete two-sided group (the default: k men, m women, no forbidden pair
  that lowers the busiest person's date count) gets the fair rotation:
  max(k, m) rounds, rests dealt in turn (see rotation.py).
- Otherwise a two-sided group gets as many rounds as its busiest person has
  dates (the least possible), and any other group at most one more (see
  colouring.py); the rounds are then ordered by `ordering.fair_order`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from datemaker.domain.pairing import reasons
from datemaker.domain.pairing.colouring import general_colouring, round_robin, two_sided_colouring, two_sides
from datemaker.domain.pairing.compatibility import Rules
from datemaker.domain.pairing.model import Pair, Round, SitOut
from datemaker.domain.pairing.ordering import fair_order
from datemaker.domain.pairing.rotation import rotation
from datemaker.domain.pairing.scoring import tie_breaker

LocalPairs = list[tuple[int, int]]


def schedule_group(rules: Rules, members: np.ndarray, rng: np.random.Generator) -> tuple[str, tuple[Round, ...]]:
    """Rounds 1.. for a freshly formed group (`members`: ascending positions)."""
    allowed = rules.allowed(members, members)
    score = rules.population.scores(members, members)
    noise = tie_breaker(rng, score.shape)
    gain = score + (noise + noise.T) / 2  # symmetric, so a pair has one gain
    sides = complete_two_sides(rules.compatible(members, members))
    everyone = np.ones(len(members), dtype=bool)
    if sides is not None and allowed.sum(axis=1).max() == max(len(sides[0]), len(sides[1])):
        dates, resting, order_reasons = _rotation_rounds(gain, allowed, sides, rng)
        rounds = build_rounds(rules, members, dates, resting, order_reasons, score, allowed, everyone, 1)
        return reasons.ROTATION, rounds
    method, dates, order_reasons = coloured_rounds(allowed, gain, everyone, ~everyone)
    if order_reasons:  # on a fresh schedule nobody is behind, so score alone picks round 1
        order_reasons[0] = reasons.BEST_SCORE_FIRST
    rounds = build_rounds(rules, members, dates, [set()] * len(dates), order_reasons, score, allowed, everyone, 1)
    return method, rounds


def complete_two_sides(compatible: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(smaller side, larger side) when everyone across is compatible and
    nobody on the same side is; None for any other shape."""
    if len(compatible) < 2:
        return None
    other = compatible[0]
    side_a, side_b = np.flatnonzero(~other), np.flatnonzero(other)
    if len(side_b) == 0:
        return None
    crosses = compatible[np.ix_(side_a, side_b)].all()
    within = compatible[np.ix_(side_a, side_a)].any() or compatible[np.ix_(side_b, side_b)].any()
    if not crosses or within:
        return None
    return (side_a, side_b) if len(side_a) <= len(side_b) else (side_b, side_a)


def coloured_rounds(
    allowed: np.ndarray, gain: np.ndarray, active: np.ndarray, rested_last: np.ndarray
) -> tuple[str, list[LocalPairs], list[str]]:
    """Rounds for whatever `allowed` graph is left, with the least rounds the
    method guarantees, in fair order. Returns (method, rounds, reasons)."""
    n = len(allowed)
    edges = [(int(i), int(j)) for i, j in np.argwhere(np.triu(allowed, 1))]
    if two_sides(n, edges) is not None:
        method, classes = reasons.TWO_SIDED_COLOURING, two_sided_colouring(n, edges)
    elif allowed.sum(axis=1).max() == n - 1:
        method, classes = reasons.ROUND_ROBIN, round_robin(n, edges)
    else:
        method, classes = reasons.GENERAL_COLOURING, general_colouring(n, edges)
    classes = [pairs for pairs in classes if pairs]
    totals = [sum(float(gain[i, j]) for i, j in pairs) for pairs in classes]
    order = fair_order(classes, totals, n, active, rested_last)
    return method, [classes[r] for r in order], [reasons.FAIREST_THEN_SCORE] * len(order)


def build_rounds(
    rules: Rules,
    members: np.ndarray,
    dates: Sequence[LocalPairs],
    resting: Sequence[set[int]],
    round_reasons: Sequence[str],
    score: np.ndarray,
    allowed: np.ndarray,
    active: np.ndarray,
    first_number: int,
) -> tuple[Round, ...]:
    """Model rounds, numbered from `first_number`, with a reason per sit-out."""
    uids = rules.population.user_ids[members].tolist()
    shown = np.round(score, 4).tolist()  # plain floats, as recorded
    present = active.tolist()
    partners_left = allowed.sum(axis=1).tolist()  # dates each still has to have
    rounds = []
    for r, pairs in enumerate(dates):
        seated = set()
        made = []
        for i, j in sorted(pairs, key=lambda pair: min(uids[pair[0]], uids[pair[1]])):
            seated.update((i, j))
            partners_left[i] -= 1
            partners_left[j] -= 1
            a, b = (uids[i], uids[j]) if uids[i] < uids[j] else (uids[j], uids[i])
            made.append(Pair(a=a, b=b, score=shown[i][j]))
        sit_outs = tuple(
            SitOut(uids[p], _sit_out_reason(p, present, resting[r], partners_left))
            for p in range(len(uids))
            if p not in seated
        )
        rounds.append(Round(first_number + r, tuple(made), sit_outs, round_reasons[r]))
    return tuple(rounds)


def _sit_out_reason(p: int, active: list[bool], resting: set[int], partners_left: list[int]) -> str:
    if not active[p]:
        return reasons.NO_SHOW
    if p in resting:
        return reasons.TURN_TO_SIT_OUT
    if partners_left[p] == 0:
        return reasons.MET_ALL_PARTNERS
    return reasons.NO_FREE_PARTNER


def _rotation_rounds(
    gain: np.ndarray, allowed: np.ndarray, sides: tuple[np.ndarray, np.ndarray], rng: np.random.Generator
) -> tuple[list[LocalPairs], list[set[int]], list[str]]:
    small, large = sides
    across = np.ix_(small, large)
    schedule = rotation(gain[across], allowed[across], rng)
    dates = [[(int(small[i]), int(large[j])) for i, j in item.pairs] for item in schedule]
    resting = [{int(large[j]) for j in item.resting} for item in schedule]
    later = reasons.FAIR_ROTATION if len(large) > len(small) else reasons.NEXT_BEST_SCORE
    return dates, resting, [reasons.BEST_SCORE_FIRST] + [later] * (len(schedule) - 1)
