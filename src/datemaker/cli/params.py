"""Command-line value types: durations (`90s`, `5m`, `24h`, `1h30m`), ISO 8601
instants, IANA time zones and single words, each failing with a one-line message."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from datemaker.domain.standing import is_word
from datemaker.domain.timings import parse_duration


def parse_zone(text: str) -> ZoneInfo:
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{text!r} is not an IANA time zone such as Europe/Moscow") from None


class Duration(click.ParamType):
    name = "duration"

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class TimeZone(click.ParamType):
    name = "timezone"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        try:
            return parse_zone(str(value)).key
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class Instant(click.ParamType):
    """An ISO 8601 date-time; without an offset it is read in --timezone later."""

    name = "iso8601"

    def convert(self, value: Any, param: Any, ctx: Any) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 date-time such as 2026-12-05T19:00", param, ctx)


class ClockTime(click.ParamType):
    name = "HH:MM"

    def convert(self, value: Any, param: Any, ctx: Any) -> time:
        try:
            return time.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a time of day such as 19:00", param, ctx)


class Day(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: Any, ctx: Any) -> date:
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date such as 2026-12-02", param, ctx)


class Word(click.ParamType):
    """One word (a block's reason, a note, a moderator's name): no free text."""

    name = "word"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        if not is_word(value):
            self.fail(f"{value!r} is not one word of at most 64 letters, digits or . _ : @ -", param, ctx)
        return str(value)


DURATION = Duration()
WORD = Word()
TIME_ZONE = TimeZone()
INSTANT = Instant()
CLOCK_TIME = ClockTime()
DAY = Day()
