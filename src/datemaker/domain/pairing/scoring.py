"""How well two people match, scored the way a dating agent would: close in
age, from the same city, tuned alike by the operator, and well rated.

Every term lies in [0, its weight], so a date always adds to a round's total
and a round with more dates never looks worse for having them. Scores are
computed for whole blocks of people at once with numpy."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from datemaker.domain.profile import Profile

SEX_CODES = {"M": 0, "F": 1}
UNKNOWN = -1

AGE_SPAN_YEARS = 20.0  # an age gap this wide or wider earns no age points
UNKNOWN_AGE_CLOSENESS = 0.5  # neither rewarded nor punished for a missing birthday


@dataclass(frozen=True)
class ScoreWeights:
    age: float = 4.0  # smaller age difference is better
    city: float = 3.0  # the same city is better
    operator: float = 2.0  # a smaller difference of operator scores is better
    rating: float = 1.0  # a higher rating (of both) is better

    def __post_init__(self) -> None:
        if min(self.age, self.city, self.operator, self.rating) < 0:
            raise ValueError("score weights must not be negative")


@dataclass(frozen=True, eq=False)
class Population:
    """The people of one planning call as columns, indexed by position.

    Positions follow ascending user id, so nothing depends on the order in
    which a caller's mapping happened to list people."""

    user_ids: np.ndarray  # int64, ascending
    profiles: tuple[Profile, ...]
    sex: np.ndarray  # int8: 0 M, 1 F, -1 unknown
    age: np.ndarray  # float64 years on the reference date, nan when unknown
    city: np.ndarray  # int32 code, -1 when unknown
    operator: np.ndarray  # float64, the operator's 1..3
    rating: np.ndarray  # float64 scaled to 0..1 within this population
    weights: ScoreWeights
    position: dict[int, int] = field(repr=False)

    @classmethod
    def build(
        cls, participants: Mapping[int, Profile], reference_date: date, weights: ScoreWeights
    ) -> Population:
        ids = sorted(int(uid) for uid in participants)
        profiles = tuple(participants[uid] for uid in ids)
        cities = sorted({p.city for p in profiles if p.city is not None})
        city_code = {name: code for code, name in enumerate(cities)}
        ages = [p.age_on(reference_date) for p in profiles]
        ratings = np.array([p.rating for p in profiles], dtype=np.float64)
        spread = float(ratings.max() - ratings.min()) if len(ratings) else 0.0
        return cls(
            user_ids=np.array(ids, dtype=np.int64),
            profiles=profiles,
            sex=np.array([SEX_CODES.get(p.sex or "", UNKNOWN) for p in profiles], dtype=np.int8),
            age=np.array([np.nan if a is None else a for a in ages], dtype=np.float64),
            city=np.array([city_code.get(p.city, UNKNOWN) for p in profiles], dtype=np.int32),
            operator=np.array([p.manual_score for p in profiles], dtype=np.float64),
            rating=(ratings - ratings.min()) / spread if spread > 0 else np.full(len(ids), 0.5),
            weights=weights,
            position={uid: pos for pos, uid in enumerate(ids)},
        )

    def __len__(self) -> int:
        return len(self.profiles)

    def positions_of(self, user_ids: Iterable[int]) -> np.ndarray:
        return np.array([self.position[int(uid)] for uid in user_ids], dtype=np.int64)

    def scores(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Match score of every (row, col) pair of positions: a rows × cols matrix."""
        w = self.weights
        age_gap = np.abs(self.age[rows][:, None] - self.age[cols][None, :])
        closeness = np.clip(1.0 - age_gap / AGE_SPAN_YEARS, 0.0, 1.0)
        closeness = np.where(np.isnan(age_gap), UNKNOWN_AGE_CLOSENESS, closeness)
        city_r, city_c = self.city[rows][:, None], self.city[cols][None, :]
        same_city = (city_r == city_c) & (city_r != UNKNOWN)
        tuning = 1.0 - np.abs(self.operator[rows][:, None] - self.operator[cols][None, :]) / 2.0
        rating = (self.rating[rows][:, None] + self.rating[cols][None, :]) / 2.0
        return w.age * closeness + w.city * same_city + w.operator * tuning + w.rating * rating

    def similarity_order(self, positions: np.ndarray) -> np.ndarray:
        """`positions` sorted so that neighbours are alike: city, then age,
        then operator score (unknowns last; user id settles the rest)."""
        city = np.where(self.city[positions] == UNKNOWN, np.iinfo(np.int32).max, self.city[positions])
        age = np.nan_to_num(self.age[positions], nan=np.inf)
        keys = (self.user_ids[positions], self.operator[positions], age, city)
        return positions[np.lexsort(keys)]


def tie_breaker(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Seeded noise far below any real score difference, so equal scores are
    settled by the seed instead of by the order rows happen to come in."""
    return rng.random(shape) * 1e-7
