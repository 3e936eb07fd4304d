"""Putting rounds in order when the sit-outs are forced by the pairs that
cannot meet (forbidden pairs, a custom rule, dates already held).

Each next round is the one whose sit-outs are least ahead of their fair
pace, then the one resting the fewest people who rested just before, then
the best total score. On a fresh schedule nobody is ahead of pace yet, so
round 1 is the best-scoring round."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def fair_order(
    dates: Sequence[Sequence[tuple[int, int]]],
    totals: Sequence[float],
    people: int,
    active: np.ndarray,
    rested_last: np.ndarray,
) -> list[int]:
    """Order of the rounds in `dates` (each a list of local index pairs).

    `active` marks who takes part (absent people never count as resting);
    `rested_last` marks who sat out the round just before the first one."""
    count = len(dates)
    rests = np.tile(active, (count, 1))  # rests[r, p]: p sits out round r
    for r, pairs in enumerate(dates):
        for a, b in pairs:
            rests[r, a] = rests[r, b] = False
    due = rests.sum(axis=0)  # sit-outs each person has in total
    done = np.zeros(people, dtype=np.int64)
    previous = rested_last.copy()
    left = list(range(count))
    order: list[int] = []
    for step in range(count):
        pace = np.ceil((step + 1) * due / max(count, 1))  # fair share so far
        candidates = rests[left]
        ahead = np.maximum(0, (done + 1) - pace) * candidates
        keys = [
            (float(ahead[i].sum()), int(np.count_nonzero(candidates[i] & previous)), -totals[r], r)
            for i, r in enumerate(left)
        ]
        chosen = min(keys)[-1]
        order.append(chosen)
        left.remove(chosen)
        done += rests[chosen]
        previous = rests[chosen]
    return order
