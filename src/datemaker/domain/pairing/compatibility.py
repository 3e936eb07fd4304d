"""Who may date whom.

Compatibility is one predicate over two profiles, so another rule can replace
the default without touching grouping or scheduling. A pair may date when the
predicate holds both ways (an asymmetric rule can never book a one-sided
date), the two are different people, and the caller did not forbid the pair."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from datemaker.domain.pairing.model import KeptApart
from datemaker.domain.pairing.reasons import FORBIDDEN
from datemaker.domain.pairing.scoring import UNKNOWN, Population
from datemaker.domain.profile import Profile

Compatibility = Callable[[Profile, Profile], bool]
# Pairs that must never meet: plain pairs, or each pair with the reasons why.
NeverMeet = Iterable[Iterable[int]] | Mapping[tuple[int, int], Iterable[str]]


def opposite_sex(a: Profile, b: Profile) -> bool:
    """The default rule: a man and a woman. Unknown sex matches nobody."""
    return a.sex is not None and b.sex is not None and a.sex != b.sex


def forbidden_pairs(pairs: Iterable[Iterable[int]]) -> frozenset[tuple[int, int]]:
    """Normalise the caller's pairs (tuples or frozensets) to (smaller, larger).
    A one-member frozenset names a person with themself: nothing to forbid."""
    if isinstance(pairs, KeptApartPairs):
        return frozenset(pairs)
    return frozenset(pair for pair in map(_normal, pairs) if pair is not None)


def _normal(pair: Iterable[int]) -> tuple[int, int] | None:
    if type(pair) is tuple and len(pair) == 2 and type(pair[0]) is int and type(pair[1]) is int:
        a, b = pair  # the common case, 50,000 of them for a big event: no sorting
        return (a, b) if a < b else (b, a) if b < a else None
    ids = sorted({int(uid) for uid in pair})
    if len(ids) > 2 or (len(ids) == 2 and len(list(pair)) != 2):
        raise ValueError(f"a forbidden pair names two people, got {pair!r}")
    return (ids[0], ids[1]) if len(ids) == 2 else None


class KeptApartPairs(dict[tuple[int, int], tuple[str, ...]]):
    """Normalised pairs, (smaller, larger), each with its sorted reasons:
    taken as they are (what `pairs_kept_apart` makes; the round clock gives
    these, so 50,000 pairs are not normalised again)."""


def pairs_kept_apart(*given: NeverMeet) -> KeptApartPairs:
    """Every pair of `given`, normalised as `forbidden_pairs` does, with its
    sorted reasons (merged where a pair comes more than once; `forbidden` for a
    plain pair)."""
    if len(given) == 1 and isinstance(given[0], KeptApartPairs):
        return given[0]
    found = KeptApartPairs()
    for pairs in given:
        items = pairs.items() if isinstance(pairs, Mapping) else ((pair, ()) for pair in pairs)
        for pair, why in items:
            # The common case first: (smaller, larger) ints with one reason, given once.
            if pair.__class__ is tuple and len(pair) == 2 and pair[0].__class__ is int is pair[1].__class__:
                normal = pair if pair[0] < pair[1] else _normal(pair)
            else:
                normal = _normal(pair)
            if normal is None:
                continue
            earlier = found.get(normal)
            if earlier is None and why.__class__ is tuple and len(why) == 1 and why[0].__class__ is str:
                found[normal] = why
                continue
            words = {str(word) for word in why} | set(earlier or ())
            if len(words) > 1:  # a reason given elsewhere says more
                words.discard(FORBIDDEN)
            found[normal] = tuple(sorted(words)) or (FORBIDDEN,)
    return found


def kept_among(apart: KeptApartPairs, people: Iterable[int] | Mapping[int, object]) -> tuple[KeptApart, ...]:
    """The pairs of `apart` whose two people are both among `people`, in order."""
    inside = people if isinstance(people, Mapping) else frozenset(people)
    among = sorted(item for item in apart.items() if item[0][0] in inside and item[0][1] in inside)
    return tuple(among)


def _ascending(pairs: np.ndarray) -> bool:
    """Rows of (a, b) in strictly ascending order."""
    a, b = pairs[:, 0], pairs[:, 1]
    return bool(np.all((a[1:] > a[:-1]) | ((a[1:] == a[:-1]) & (b[1:] > b[:-1]))))


@dataclass(frozen=True, eq=False)
class Rules:
    population: Population
    compatibility: Compatibility
    forbidden: dict[int, frozenset[int]]  # position -> positions it must never meet
    apart: KeptApartPairs = field(default_factory=KeptApartPairs)  # every pair given, with reasons
    # Where in `apart` the pairs of two people both here are, in (a, b) order.
    apart_inside: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @classmethod
    def build(
        cls, population: Population, compatibility: Compatibility, forbidden: NeverMeet
    ) -> Rules:
        apart = pairs_kept_apart(forbidden)
        pairs = np.fromiter((uid for pair in apart for uid in pair), dtype=np.int64, count=2 * len(apart)).reshape(-1, 2)
        # Positions by binary search in the ascending ids, for every pair at once.
        ids = population.user_ids
        at = np.minimum(np.searchsorted(ids, pairs), max(len(ids) - 1, 0))
        inside = (ids[at] == pairs).all(axis=1) if len(ids) else np.zeros(len(pairs), dtype=bool)
        # Someone who is not taking part cannot meet anyone here.
        ends, kept = at[inside], pairs[inside]
        both = np.concatenate([ends, ends[:, ::-1]])
        both = both[np.lexsort((both[:, 1], both[:, 0]))]
        starts = np.flatnonzero(np.r_[True, both[1:, 0] != both[:-1, 0]]) if len(both) else np.array([], dtype=np.int64)
        firsts, others = both[:, 0].tolist(), both[:, 1].tolist()
        bounds = [*starts.tolist(), len(both)]
        forbidden_of = {firsts[i]: frozenset(others[i:j]) for i, j in zip(bounds, bounds[1:])}
        order = np.flatnonzero(inside)
        if len(kept) > 1 and not _ascending(kept):
            order = order[np.lexsort((kept[:, 1], kept[:, 0]))]
        return cls(population, compatibility, forbidden_of, apart, order)

    def kept_apart(self) -> tuple[KeptApart, ...]:
        """The pairs given whose two people are both here, in order, with their reasons."""
        items = list(self.apart.items())
        if not np.array_equal(self.apart_inside, np.arange(len(items))):  # else: all of them, in order
            items = [items[i] for i in self.apart_inside.tolist()]
        return tuple(items)

    @property
    def _default_rule(self) -> bool:
        return self.compatibility is opposite_sex

    def compatible(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """rows × cols: the predicate holds both ways and they are two people."""
        if self._default_rule:  # same rule, vectorised: it decides large events
            sex_r, sex_c = self.population.sex[rows][:, None], self.population.sex[cols][None, :]
            fits = (sex_r != sex_c) & (sex_r != UNKNOWN) & (sex_c != UNKNOWN)
        else:
            profiles, rule = self.population.profiles, self.compatibility
            fits = np.array(
                [[bool(rule(profiles[r], profiles[c]) and rule(profiles[c], profiles[r])) for c in cols] for r in rows],
                dtype=bool,
            ).reshape(len(rows), len(cols))
        return fits & (rows[:, None] != cols[None, :])

    def allowed(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """rows × cols: compatible and not forbidden."""
        fits = self.compatible(rows, cols)
        if self.forbidden:
            col_at = {int(c): j for j, c in enumerate(cols)}
            for i, r in enumerate(rows):
                for other in self.forbidden.get(int(r), ()):
                    j = col_at.get(other)
                    if j is not None:
                        fits[i, j] = False
        return fits

    def has_partner_among(self, people: np.ndarray) -> np.ndarray:
        """For each of `people`: may they date at least one other of `people`?"""
        ids = people.tolist()
        if not self._default_rule:
            return np.array([self._finds_partner(p, ids) for p in ids], dtype=bool)
        sex = self.population.sex[people].tolist()
        opposite = {0: sex.count(1), 1: sex.count(0), UNKNOWN: 0}
        inside = set(ids)
        answer = []
        for p, code in zip(ids, sex, strict=True):
            # A forbidden partner is no partner.
            blocked = sum(1 for q in self.forbidden.get(p, ()) if q in inside and self.population.sex[q] == 1 - code)
            answer.append(opposite[code] - blocked > 0)
        return np.array(answer, dtype=bool)

    def _finds_partner(self, person: int, people: list[int]) -> bool:
        # Stops at the first partner, so a permissive rule costs little; a rule
        # that rejects almost everyone costs one call per other person.
        profiles, rule = self.population.profiles, self.compatibility
        blocked = self.forbidden.get(person, frozenset())
        me = profiles[person]
        return any(
            q != person and q not in blocked and rule(me, profiles[q]) and rule(profiles[q], me) for q in people
        )
