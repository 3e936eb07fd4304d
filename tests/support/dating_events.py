"""Builders for DatingEvent aggregates on fixed instants, shared by the
unit tests of the aggregate and of what runs it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.errors import DomainError
from datemaker.domain.profile import Profile

START = datetime(2026, 12, 5, 16, 0, tzinfo=UTC)
AT = START - timedelta(days=3)
ANNA = Profile(sex="F", birthday=date(1995, 4, 2), city="Moscow", rating=4.5, manual_score=3)
BORIS = Profile(sex="M", birthday=date(1993, 1, 9), city="Moscow", rating=3.0, manual_score=2)


def new_event(**kwargs: Any) -> DatingEvent:
    options: dict[str, Any] = {"wire_id": 17, "start": START, "timezone": "Europe/Moscow"}
    options.update(kwargs)
    return DatingEvent.schedule(**options)


def replay(events: list[Any]) -> DatingEvent:
    aggregate = None
    for domain_event in events:
        aggregate = domain_event.mutate(aggregate)
    assert isinstance(aggregate, DatingEvent)
    return aggregate


def refused(event: DatingEvent, command: Any, error: type[DomainError]) -> None:
    """The command raises `error` and records nothing."""
    before = (event.version, dict(event.__dict__))
    with pytest.raises(error):
        command()
    assert (event.version, dict(event.__dict__)) == before


def confirmed_event(*profiles: Profile) -> DatingEvent:
    event = new_event(users_limit=4)
    for user_id, profile in enumerate(profiles, start=1):
        event.register(user_id, profile, AT)
    event.open_confirmation(AT)
    for user_id in range(1, len(profiles) + 1):
        event.confirm_registration(user_id, AT)
    return event
