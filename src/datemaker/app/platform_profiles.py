"""A row of the platform's users table as the profile pairing uses."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Any

from datemaker.domain.profile import Profile

OLDEST_BIRTHDAY = date(1900, 1, 1)  # older: a typo, not a person


def profile_from_row(row: Sequence[Any]) -> Profile:
    """A users-table row as a pairing profile; odd values become neutral ones
    (REAL admits Infinity and NaN, which would poison the pairing's scores)."""
    _, sex, birthday, city, rating, manual_score = row
    sex = sex.upper() if isinstance(sex, str) and sex.upper() in ("M", "F") else None
    if isinstance(birthday, str):
        try:
            birthday = date.fromisoformat(birthday) if birthday else None
        except ValueError:
            birthday = None
    if birthday is not None and birthday < OLDEST_BIRTHDAY:
        birthday = None
    rating = float(rating) if isinstance(rating, int | float) and math.isfinite(rating) else 0.0
    score = int(manual_score) if manual_score is not None else 2
    return Profile(
        sex=sex,
        birthday=birthday,
        city=city or None,
        rating=rating,
        manual_score=min(max(score, 1), 3),
    )
