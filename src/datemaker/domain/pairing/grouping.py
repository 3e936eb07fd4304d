"""Splitting the confirmed people into groups of at most `users_limit`.

1. Whoever may date nobody among the confirmed gets no place
   (`no_compatible_partner`): e.g. an unknown sex, or everyone of one sex.
2. The others make ceil(n / limit) groups. Each sex is spread as evenly as
   possible, and the spare people of each sex go to different groups, so
   sizes differ by at most one: 55 M and 45 F with limit 20 make five groups
   of 11 M and 9 F. A side may be small: 30 M and 2 F make two groups of
   15 M and 1 F, and each woman meets fifteen men.
3. Similar people sit together: each sex is sorted by city, age and operator
   score; the largest sex is cut into groups in that order, and the others
   are seated by optimal assignment (linear_sum_assignment) to the group
   whose members suit them best, a few groups at a time. Sexes are
   balanced whatever the compatibility rule; the rule decides who dates.
4. Anyone left without a partner inside their group (e.g. limit 2 with more
   men than women) moves to a group with a free seat and a partner, best
   score first, in a seeded lottery order. Whoever still has nobody gets a
   new round of grouping with the others left over, and if that forms
   nothing new, no place (`group_limit_reached`)."""

from __future__ import annotations

from math import ceil

import numpy as np
from datemaker.domain.pairing.assignment import linear_sum_assignment

from datemaker.domain.pairing import reasons
from datemaker.domain.pairing.compatibility import Rules
from datemaker.domain.pairing.scoring import SEX_CODES, UNKNOWN, Population, tie_breaker

WINDOW = 8  # groups seated by one assignment: small solves, local similarity
KEEP_ORDER = 1e-3  # a faint pull towards the sorted order when nothing else decides


def form_groups(
    rules: Rules, candidates: np.ndarray, limit: int, rng: np.random.Generator
) -> tuple[list[np.ndarray], dict[int, str]]:
    """Groups (ascending positions each) and {position: reason} for the rest."""
    population = rules.population
    fits = rules.has_partner_among(candidates)
    unplaced = {int(p): reasons.NO_COMPATIBLE_PARTNER for p in candidates[~fits]}
    groups: list[list[int]] = []
    pool = candidates[fits]
    while len(pool):
        leftovers: list[int] = []
        for members in balanced_similar_groups(population, pool, limit, rng):
            alone = ~rules.allowed(members, members).any(axis=1)
            leftovers += members[alone].tolist()
            if not alone.all():
                groups.append(members[~alone].tolist())
        still = np.array(_seat_leftovers(rules, groups, leftovers, limit, rng), dtype=np.int64)
        again = rules.has_partner_among(still)
        if len(still) == len(pool):
            again[:] = False  # nothing formed: another try would only repeat it
        for p in still[~again]:
            unplaced[int(p)] = reasons.GROUP_LIMIT_REACHED
        pool = still[again]
    return [np.array(sorted(g), dtype=np.int64) for g in groups], unplaced


def balanced_similar_groups(
    population: Population, pool: np.ndarray, limit: int, rng: np.random.Generator
) -> list[np.ndarray]:
    count = ceil(len(pool) / limit)
    sexes = [pool[population.sex[pool] == code] for code in (*SEX_CODES.values(), UNKNOWN)]
    sexes = sorted((s for s in sexes if len(s)), key=len, reverse=True)
    seats: list[list[int]] = [[] for _ in range(count)]
    spare_at = 0  # where the next sex's spare people start, so spares never pile up
    for turn, people in enumerate(sexes):
        base, spare = divmod(len(people), count)
        quota = np.full(count, base, dtype=np.int64)
        quota[(spare_at + np.arange(spare)) % count] += 1
        spare_at = (spare_at + spare) % count
        ordered = population.similarity_order(people)
        if turn == 0:
            for g, chunk in enumerate(np.split(ordered, np.cumsum(quota)[:-1])):
                seats[g].extend(chunk.tolist())
        else:
            _seat_by_assignment(population, seats, ordered, quota, rng)
    return [np.array(sorted(g), dtype=np.int64) for g in seats if g]


def _seat_by_assignment(
    population: Population, seats: list[list[int]], ordered: np.ndarray, quota: np.ndarray, rng: np.random.Generator
) -> None:
    start = 0
    for first in range(0, len(seats), WINDOW):
        window = range(first, min(len(seats), first + WINDOW))
        need = int(quota[first : window.stop].sum())
        people, start = ordered[start : start + need], start + need
        if need == 0:
            continue
        seat_group = np.repeat(np.arange(len(window)), quota[first : window.stop])
        fit = _mean_fit(population, people, [seats[g] for g in window])[:, seat_group]
        drift = np.abs(np.arange(need)[:, None] - np.arange(need)[None, :]) / need
        gain = fit - KEEP_ORDER * drift + tie_breaker(rng, fit.shape)
        rows, cols = linear_sum_assignment(gain, maximize=True)
        for person, seat in zip(rows, cols, strict=True):
            seats[first + int(seat_group[seat])].append(int(people[person]))


def _mean_fit(population: Population, people: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    """people × groups: mean score with the members seated so far."""
    members = np.array([p for g in groups for p in g], dtype=np.int64)
    if len(members) == 0:
        return np.zeros((len(people), len(groups)))
    owner = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
    belongs = np.zeros((len(members), len(groups)))
    belongs[np.arange(len(members)), owner] = 1.0
    sizes = belongs.sum(axis=0)
    sums = population.scores(people, members) @ belongs
    neutral = sums.sum() / max(1.0, sizes.sum())  # an empty group is average
    return np.where(sizes > 0, sums / np.maximum(sizes, 1.0), neutral)


def _seat_leftovers(
    rules: Rules, groups: list[list[int]], leftovers: list[int], limit: int, rng: np.random.Generator
) -> list[int]:
    """Seat whom we can in groups with room and a partner; return the rest.
    Repeats while it helps: a person seated later may be someone's partner."""
    waiting = rng.permutation(np.array(leftovers, dtype=np.int64)).tolist()  # seeded lottery
    room = [g for g, members in enumerate(groups) if len(members) < limit]
    seated_any = True
    while waiting and room and seated_any:
        seated_any, still = False, []
        for person in waiting:
            best = _best_group_with_room(rules, groups, room, person)
            if best is None:
                still.append(person)
                continue
            groups[best].append(person)
            seated_any = True
            if len(groups[best]) >= limit:
                room.remove(best)
        waiting = still
    return sorted(waiting)


def _best_group_with_room(rules: Rules, groups: list[list[int]], room: list[int], person: int) -> int | None:
    me = np.array([person], dtype=np.int64)
    best, best_fit = None, -np.inf
    for g in room:
        others = np.array(groups[g], dtype=np.int64)
        if rules.allowed(me, others).any():
            fit = float(rules.population.scores(me, others).mean())
            if fit > best_fit:
                best, best_fit = g, fit
    return best
