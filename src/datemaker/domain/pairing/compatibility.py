"""Who may date whom.

Compatibility is one predicate over two profiles, so another rule can replace
the default without touching grouping or scheduling. A pair may date when the
predicate holds both ways (an asymmetric rule can never book a one-sided
date), the two are different people, and the caller did not forbid the pair."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from datemaker.domain.pairing.scoring import UNKNOWN, Population
from datemaker.domain.profile import Profile

Compatibility = Callable[[Profile, Profile], bool]


def opposite_sex(a: Profile, b: Profile) -> bool:
    """The default rule: a man and a woman. Unknown sex matches nobody."""
    return a.sex is not None and b.sex is not None and a.sex != b.sex


def forbidden_pairs(pairs: Iterable[Iterable[int]]) -> frozenset[tuple[int, int]]:
    """Normalise the caller's pairs (tuples or frozensets) to (smaller, larger).
    A one-member frozenset names a person with themself: nothing to forbid."""
    normalised = set()
    for pair in pairs:
        ids = sorted({int(uid) for uid in pair})
        if len(ids) > 2 or (len(ids) == 2 and len(list(pair)) != 2):
            raise ValueError(f"a forbidden pair names two people, got {pair!r}")
        if len(ids) == 2:
            normalised.add((ids[0], ids[1]))
    return frozenset(normalised)


@dataclass(frozen=True, eq=False)
class Rules:
    population: Population
    compatibility: Compatibility
    forbidden: dict[int, frozenset[int]]  # position -> positions it must never meet

    @classmethod
    def build(
        cls, population: Population, compatibility: Compatibility, forbidden: Iterable[Iterable[int]]
    ) -> Rules:
        partners: dict[int, set[int]] = {}
        for a, b in forbidden_pairs(forbidden):
            pa, pb = population.position.get(a), population.position.get(b)
            if pa is None or pb is None:
                continue  # someone who is not taking part cannot meet anyone here
            partners.setdefault(pa, set()).add(pb)
            partners.setdefault(pb, set()).add(pa)
        return cls(population, compatibility, {p: frozenset(s) for p, s in partners.items()})

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
