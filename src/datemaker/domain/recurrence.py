"""Recurring schedules as RFC 5545 rules (dateutil's rrule), read in local
wall-clock time: "every Wednesday at 19:00 Europe/Moscow" stays at 19:00
local across daylight-saving changes. The zone comes in as a tzinfo, so this
stays pure."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

from dateutil.rrule import rrulestr

from datemaker.domain.errors import InvalidSchedule


def validate_rule(rule: str, first_day: date, at: time) -> None:
    if "DTSTART" in rule.upper():
        raise InvalidSchedule("give the first day and the time separately, not as DTSTART")
    try:
        rrulestr(rule, dtstart=datetime.combine(first_day, at))
    except (ValueError, TypeError) as exc:
        raise InvalidSchedule(f"not an RRULE such as FREQ=WEEKLY;BYDAY=WE,FR ({exc})") from None


def occurrences(rule: str, first_day: date, at: time, zone: tzinfo, after: datetime, until: datetime) -> list[datetime]:
    """Starts (aware, in `zone`) strictly after `after` and up to `until`."""
    local = rrulestr(rule, dtstart=datetime.combine(first_day, at))
    # Compare in local wall time, one day wider each side, then exactly.
    lo = after.astimezone(zone).replace(tzinfo=None) - timedelta(days=1)
    hi = until.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)
    found = []
    for naive in local.between(lo, hi, inc=True):
        start = _existing(naive, zone)
        if after < start <= until:
            found.append(start)
    return found


def _existing(naive: datetime, zone: tzinfo) -> datetime:
    """The wall time in `zone`; one that a spring-forward gap skips moves on
    by the gap (19:30 in a 19:00-20:00 gap becomes 20:30)."""
    aware = naive.replace(tzinfo=zone)
    round_trip = aware.astimezone(UTC).astimezone(zone)  # (to the same zone is a no-op)
    if round_trip.replace(tzinfo=None) != naive:
        return round_trip
    return aware
