"""Recurring schedules: exactly once across instances, right across DST."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.app.dating_events import DatingEvents
from datemaker.cli.main import main
from datemaker.domain.errors import InvalidSchedule
from datemaker.domain.schedule_book import UnknownSchedule
from datemaker.app.schedules import add_schedule, book, make_due_events, remove_schedule

from ..support.retry import FAST_RETRY

BERLIN = ZoneInfo("Europe/Berlin")


def test_a_weekly_rule_keeps_its_local_time_across_a_dst_change(app):
    add_schedule(app, rule="FREQ=WEEKLY;BYDAY=WE", first_day=date(2027, 3, 1), at=time(19, 0), timezone="Europe/Berlin")
    made = make_due_events(app, datetime(2027, 3, 20, tzinfo=UTC), timedelta(days=14))
    starts = [app.get_event(w).start for w in made]
    assert [s.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M") for s in starts] == ["2027-03-24 19:00", "2027-03-31 19:00"]
    assert [s.astimezone(UTC).hour for s in starts] == [18, 17]  # the clocks moved on 28 March


def test_each_occurrence_becomes_one_event_even_when_asked_again(app):
    add_schedule(app, rule="FREQ=DAILY", first_day=date(2027, 1, 1), at=time(20, 0), timezone="Europe/Moscow", users_limit=8)
    now = datetime(2027, 1, 10, 12, tzinfo=UTC)
    first = make_due_events(app, now, timedelta(days=3))
    assert len(first) == 3
    assert make_due_events(app, now, timedelta(days=3)) == []
    assert len(make_due_events(app, now + timedelta(days=1), timedelta(days=3))) == 1
    assert app.get_event(first[0]).users_limit == 8


@pytest.mark.postgres
def test_two_instances_at_once_make_each_occurrence_once(postgres_settings):
    env = {**persistence_env(postgres_settings), "POSTGRES_POOL_SIZE": "2"}
    setup = DatingEvents(env=env)
    add_schedule(setup, rule="FREQ=DAILY", first_day=date(2027, 1, 1), at=time(19, 0), timezone="Europe/Moscow")
    instances = [DatingEvents(env=env, retry=FAST_RETRY) for _ in range(4)]
    barrier = threading.Barrier(len(instances))
    made: list[int] = []

    def run(app: DatingEvents) -> None:
        barrier.wait()
        made.extend(make_due_events(app, datetime(2027, 2, 1, tzinfo=UTC), timedelta(days=5)))

    threads = [threading.Thread(target=run, args=(a,)) for a in instances]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    # Ids come from the platform's sequence: an instance that lost the race leaves a gap, never a double.
    assert len(made) == len(set(made)) == 5 and sorted(made) == setup.catalog_wire_ids()
    assert len(book(setup).made["1"]) == 5
    for a in [setup, *instances]:
        a.close()


def test_a_removed_rule_makes_nothing_more(app):
    rule_id = add_schedule(app, rule="FREQ=DAILY", first_day=date(2027, 1, 1), at=time(19, 0), timezone="UTC")
    remove_schedule(app, rule_id)
    assert make_due_events(app, datetime(2027, 1, 5, tzinfo=UTC)) == []
    with pytest.raises(UnknownSchedule):
        remove_schedule(app, rule_id)


def test_a_bad_rule_is_refused(app):
    with pytest.raises(InvalidSchedule):
        add_schedule(app, rule="FREQ=SOMETIMES", first_day=date(2027, 1, 1), at=time(19, 0), timezone="UTC")
    with pytest.raises(InvalidSchedule):
        add_schedule(app, rule="DTSTART:20270101T100000\\nRRULE:FREQ=DAILY", first_day=date(2027, 1, 1), at=time(1, 0), timezone="UTC")


def test_the_schedules_commands(sqlite_settings, monkeypatch, capsys):
    monkeypatch.setenv("DATEMAKER_STORE", "sqlite")
    monkeypatch.setenv("DATEMAKER_SQLITE_PATH", sqlite_settings.sqlite_path)
    assert (main(["schedules", "add", "--rrule", "FREQ=WEEKLY;BYDAY=WE,FR", "--time", "19:00", "--timezone", "Europe/Berlin"]) or 0) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1"
    assert (main(["schedules", "list"]) or 0) == 0
    listing = capsys.readouterr().out
    assert "FREQ=WEEKLY;BYDAY=WE,FR" in listing and "Europe/Berlin" in listing and "next: " in listing
    assert main(["schedules", "add", "--rrule", "FREQ=WEEKLY", "--time", "7pm"]) == 2
    assert "--time" in capsys.readouterr().err
    assert main(["schedules", "remove", "5"]) == 1
    assert capsys.readouterr().err.strip() == "datemaker: error: no schedule 5"
    assert (main(["schedules", "remove", "1"]) or 0) == 0
    assert (main(["schedules", "list"]) or 0) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "no schedules"
