"""The book of recurring schedules: the rules operators keep, and which of
their occurrences already became events. Marking an occurrence and creating
its event are saved in one transaction, so with several instances each
occurrence becomes exactly one event (the loser of a race sees it marked)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from datemaker.domain.errors import DomainError, InvalidSchedule
from datemaker.domain.ids import SCHEDULE_BOOK_ID
from datemaker.domain.recurrence import validate_rule


class UnknownSchedule(DomainError):
    reason = "unknown_schedule"


class ScheduleBook(Aggregate):
    @staticmethod
    def create_id() -> UUID:  # type: ignore[override]
        return SCHEDULE_BOOK_ID

    @event("Opened")
    def __init__(self) -> None:
        self.last_rule_id = 0
        # str(rule_id) -> {"rule", "first_day", "time", "timezone", "users_limit", "capacity", "timings", "ready_check"}
        self.rules: dict[str, dict[str, Any]] = {}
        self.made: dict[str, dict[str, int]] = {}  # str(rule_id) -> {start ISO (UTC): wire_id}

    def add(self, *, rule: str, first_day: date, at: time, timezone: str, users_limit: int,
            capacity: int | None, timings: dict[str, int], ready_check: bool) -> int:
        validate_rule(rule, first_day, at)
        if users_limit < 2:
            raise InvalidSchedule("users_limit must be at least 2 (one pair)")
        rule_id = self.last_rule_id + 1
        self._rule_added(rule_id=rule_id, spec={
            "rule": rule, "first_day": first_day.isoformat(), "time": at.strftime("%H:%M"), "timezone": timezone,
            "users_limit": users_limit, "capacity": capacity, "timings": dict(timings), "ready_check": ready_check,
        })
        return rule_id

    @event("RuleAdded")
    def _rule_added(self, rule_id: int, spec: dict[str, Any]) -> None:
        self.last_rule_id = rule_id
        self.rules[str(rule_id)] = dict(spec)
        self.made[str(rule_id)] = {}

    def remove(self, rule_id: int) -> None:
        if str(rule_id) not in self.rules:
            raise UnknownSchedule(f"no schedule {rule_id}")
        self._rule_removed(rule_id=rule_id)

    @event("RuleRemoved")
    def _rule_removed(self, rule_id: int) -> None:
        del self.rules[str(rule_id)]

    def was_made(self, rule_id: int, start: datetime) -> bool:
        return _key(start) in self.made.get(str(rule_id), {})

    def mark_made(self, rule_id: int, start: datetime, wire_id: int) -> None:
        if self.was_made(rule_id, start):
            raise ValueError("this occurrence already has its event")
        self._occurrence_made(rule_id=rule_id, start=_key(start), wire_id=wire_id)

    @event("OccurrenceMade")
    def _occurrence_made(self, rule_id: int, start: str, wire_id: int) -> None:
        self.made.setdefault(str(rule_id), {})[start] = wire_id


def _key(start: datetime) -> str:
    return start.astimezone(UTC).isoformat()
