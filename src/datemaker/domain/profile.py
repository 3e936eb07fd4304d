"""The profile fields pairing uses, snapshotted from the platform's users table
when someone registers, so later profile edits never change a past event."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from datemaker.domain.personal_data import ERASED

SEXES = ("M", "F")


@dataclass(frozen=True)
class Profile:
    sex: str | None = None  # 'M' or 'F'; None when the user never said
    birthday: date | None = None
    city: str | None = None
    rating: float = 0.0
    manual_score: int = 2  # the operator's 1..3 tuning
    erased: bool = False  # its personal fields were erased (personal_data.py): they read None

    def __post_init__(self) -> None:
        if self.sex is not None and self.sex not in SEXES:
            raise ValueError(f"sex must be one of {SEXES} or None")
        if not 1 <= self.manual_score <= 3:
            raise ValueError("manual_score must be within 1..3")

    def age_on(self, day: date) -> float | None:
        """Age in years on `day`, or None when the birthday is unknown."""
        if self.birthday is None:
            return None
        return (day - self.birthday).days / 365.25

    def to_record(self) -> dict[str, Any]:
        """Plain JSON-friendly values, as stored inside domain events."""
        record = asdict(self)
        record["birthday"] = self.birthday.isoformat() if self.birthday else None
        if not record.pop("erased"):  # recorded only when true, as the sealing mapper reads it
            return record
        return {**record, ERASED: True}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Profile:
        birthday = record.get("birthday")
        return cls(
            sex=record.get("sex"),
            birthday=date.fromisoformat(birthday) if birthday else None,
            city=record.get("city"),
            rating=float(record.get("rating") or 0.0),
            manual_score=int(record.get("manual_score") or 2),
            erased=bool(record.get(ERASED)),
        )
