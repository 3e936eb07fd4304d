"""The schedule of a complete two-sided group: k people on the smaller side,
m >= k on the larger side, everyone across compatible.

Everyone across meets exactly once in m rounds, the least possible. The
smaller side dates every round; the larger side rests d = m - k people a round:

1. Who rests when: rests are dealt round the larger side like cards, d per
   round, so nobody rests a second time before all have rested once, and
   nobody rests twice in a row unless the larger side is more than twice
   the smaller (d > k).
2. Who meets whom: given the rests, "position j plays in round r" is a
   k-regular two-sided graph; colouring it with k colours (one per person
   of the smaller side) says whom each position meets in each round.
3. Best first: round 1 is the optimal assignment of the whole group
   (scipy's linear_sum_assignment); positions are mapped to people so that
   the first round is exactly that assignment.
4. Rounds that rest the same people can swap places without touching
   fairness; among those, the higher total score goes earlier.

Forbidden dates are then skipped. rounds.py uses the rotation only while
someone may still meet the whole other side, so m rounds stay the least."""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd

import numpy as np
from datemaker.domain.pairing.assignment import linear_sum_assignment

from datemaker.domain.pairing.colouring import two_sided_colouring

FORBIDDEN_PENALTY = 1e6  # keeps forbidden pairs out of round 1 whenever possible


@dataclass(frozen=True)
class RotationRound:
    pairs: tuple[tuple[int, int], ...]  # (smaller-side index, larger-side index), allowed only
    resting: tuple[int, ...]  # larger-side indices whose turn it is to sit out


def rotation(gain: np.ndarray, allowed: np.ndarray, rng: np.random.Generator) -> list[RotationRound]:
    """`gain` and `allowed` are k × m (rows: the smaller side). Rounds in order."""
    k, m = gain.shape
    rest = m - k
    resting = [[(r * rest + t) % m for t in range(rest)] for r in range(m)]
    meets = _who_meets_whom(k, m, rest, resting)  # meets[r][i]: position met by row i
    person = _positions_to_people(gain, allowed, meets[0], resting[0], rng).tolist()
    may = allowed.tolist()
    rounds = [
        RotationRound(
            pairs=tuple((i, person[j]) for i, j in enumerate(meets[r]) if may[i][person[j]]),
            resting=tuple(person[j] for j in resting[r]),
        )
        for r in range(m)
    ]
    return _best_first_among_equals(rounds, gain.tolist(), rest, m)


def _who_meets_whom(k: int, m: int, rest: int, resting: list[list[int]]) -> list[list[int]]:
    # Vertex j < m is larger-side position j, vertex m + r is round r. Guess the
    # colour (j - (r+1)·rest) mod m, its offset in the round's run of players:
    # exact when gcd(rest, m) == 1, and a close start otherwise.
    edges, guesses = [], []
    for r in range(m):
        idle = set(resting[r])
        for j in range(m):
            if j not in idle:
                edges.append((j, m + r))
                guesses.append((j - (r + 1) * rest) % m)
    meets = [[-1] * k for _ in range(m)]
    for colour, edge_class in enumerate(two_sided_colouring(2 * m, edges, colours=k, preferred=guesses)):
        for j, round_vertex in edge_class:
            meets[round_vertex - m][colour] = j
    return meets


def _positions_to_people(
    gain: np.ndarray, allowed: np.ndarray, first: list[int], first_resting: list[int], rng: np.random.Generator
) -> np.ndarray:
    rows, cols = linear_sum_assignment(np.where(allowed, gain, gain - FORBIDDEN_PENALTY), maximize=True)
    person = np.empty(gain.shape[1], dtype=np.int64)
    person[np.asarray(first, dtype=np.int64)[rows]] = cols
    spare = np.setdiff1d(np.arange(gain.shape[1]), cols)
    person[np.asarray(first_resting, dtype=np.int64)] = rng.permutation(spare)  # seeded lottery
    return person


def _best_first_among_equals(
    rounds: list[RotationRound], gain: list[list[float]], rest: int, m: int
) -> list[RotationRound]:
    period = m // gcd(rest, m)  # rounds r and r + period rest the same people
    totals = [sum(gain[i][j] for i, j in item.pairs) for item in rounds]
    ordered = list(rounds)
    for start in range(period):
        slots = list(range(start, m, period))
        movable = [r for r in slots if r != 0]  # round 1 stays the optimal assignment
        best = sorted(movable, key=lambda r: (-totals[r], r))
        for slot, r in zip([s for s in slots if s != 0], best, strict=True):
            ordered[slot] = rounds[r]
    return ordered
