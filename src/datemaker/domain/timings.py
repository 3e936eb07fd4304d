"""When each step of a dating event happens, as offsets from its start.

Stored in seconds so every offset can be overridden down to the second and
events carry plain integers."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from datemaker.domain.errors import InvalidSchedule


@dataclass(frozen=True)
class Timings:
    confirm_before: int = 24 * 3600  # confirmation opens this long before start
    confirm_deadline: int = 3600  # confirmation closes this long before start
    rules_before: int = 5 * 60  # rules reminder this long before start
    round_length: int = 5 * 60
    break_length: int = 60
    ready_grace: int = 2 * 60  # wait for late joiners after the start
    rating_deadline: int = 10 * 60  # ratings lock this long after the last round
    # Whoever has not confirmed is asked again this long before confirmation
    # closes; 0: never. Records made before it existed read as the default.
    confirm_reminder: int = 3 * 3600

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidSchedule(f"{f.name} must be a whole number of seconds >= 0")
        if self.round_length == 0:
            raise InvalidSchedule("round_length must be longer than 0 seconds")
        if self.confirm_deadline > self.confirm_before:
            raise InvalidSchedule("confirm_deadline must not come before confirmation opens")

    def to_record(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Timings:
        return cls(**{f.name: int(record[f.name]) for f in fields(cls) if f.name in record})

    def confirmation_opens_at(self, start: datetime) -> datetime:
        return start - timedelta(seconds=self.confirm_before)

    def confirmation_closes_at(self, start: datetime) -> datetime:
        return start - timedelta(seconds=self.confirm_deadline)

    def confirmation_reminder_at(self, start: datetime) -> datetime | None:
        """When the unconfirmed are asked again, or None: off, or a window too
        short for it. A reminder comes at least as long after confirmation
        opens as it comes before the deadline; sooner it would only nag."""
        if not self.confirm_reminder:
            return None
        at = self.confirmation_closes_at(start) - timedelta(seconds=self.confirm_reminder)
        if at - self.confirmation_opens_at(start) < timedelta(seconds=self.confirm_reminder):
            return None
        return at

    def rules_at(self, start: datetime) -> datetime:
        return start - timedelta(seconds=self.rules_before)

    def round_starts_at(self, start: datetime, round_no: int) -> datetime:
        """Round 1 begins after the ready grace; each round is followed by a break."""
        offset = self.ready_grace + (round_no - 1) * (self.round_length + self.break_length)
        return start + timedelta(seconds=offset)

    def round_ends_at(self, start: datetime, round_no: int) -> datetime:
        return self.round_starts_at(start, round_no) + timedelta(seconds=self.round_length)

    def ratings_lock_at(self, start: datetime, rounds: int) -> datetime:
        last_end = self.round_ends_at(start, rounds) if rounds else start
        return last_end + timedelta(seconds=self.rating_deadline)


_DURATION = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> int:
    """Seconds in a duration such as `90s`, `5m`, `24h` or `1h30m` (`0` needs no unit)."""
    if text.strip() == "0":
        return 0
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None:
        raise ValueError(f"{text!r} is not a duration like 90s, 5m, 24h or 1h30m")
    return sum(int(v) * _UNIT_SECONDS[unit] for unit, v in match.groupdict().items() if v)
