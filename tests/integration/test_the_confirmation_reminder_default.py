"""DATEMAKER_CONFIRM_REMINDER is the reminder's offset of every event made
from now on: by `events create` and `schedules add` (unless given), by a
schedule rule recorded before the offset was, and by the adoption of an
event an operator inserted by hand. Each event keeps the offset it got."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import psycopg

from datemaker.adapters.event_store import persistence_env
from datemaker.app.dating_events import DatingEvents
from datemaker.app.platform_writes import PlatformWrites
from datemaker.app.schedules import book, make_due_events
from datemaker.cli.main import main
from datemaker.domain.schedule_book import ScheduleBook
from datemaker.domain.timings import Timings

from ..support.clock import T0, FakeClock


def created(capsys, *args: str) -> int:
    assert (main(["events", "create", "--start", "2099-12-05T19:00", *args]) or 0) == 0
    return int(capsys.readouterr().out.splitlines()[-1])


def reminders(settings, *wire_ids: int) -> list[int]:
    app = DatingEvents(env=persistence_env(settings))
    try:
        return [app.get_event(w).timings.confirm_reminder for w in wire_ids]
    finally:
        app.close()


def test_events_create_takes_the_setting_unless_the_option_is_given(store_settings, env_for, monkeypatch, capsys):
    env_for(store_settings)
    default = created(capsys)
    monkeypatch.setenv("DATEMAKER_CONFIRM_REMINDER", "90m")
    from_setting = created(capsys)
    given = created(capsys, "--confirm-reminder", "0")
    assert reminders(store_settings, default, from_setting, given) == [3 * 3600, 90 * 60, 0]
    assert main(["events", "create", "--start", "2099-12-05T19:00", "--confirm-reminder", "soon"]) == 2
    assert "--confirm-reminder" in capsys.readouterr().err


def test_schedules_take_the_setting_and_rules_recorded_before_it_get_it_too(sqlite_settings, env_for, monkeypatch,
                                                                            capsys):
    env_for(sqlite_settings)
    monkeypatch.setenv("DATEMAKER_CONFIRM_REMINDER", "2h")
    assert (main(["schedules", "add", "--rrule", "FREQ=DAILY", "--time", "19:00", "--from", "2099-01-01"]) or 0) == 0
    app = DatingEvents(env=persistence_env(sqlite_settings))
    try:
        current = book(app)
        assert current.rules["1"]["timings"]["confirm_reminder"] == 2 * 3600
        legacy = {k: v for k, v in Timings().to_record().items() if k != "confirm_reminder"}
        current.add(rule="FREQ=DAILY", first_day=date(2099, 1, 1), at=time(20, 0), timezone="UTC", users_limit=4,
                    capacity=None, timings=legacy, ready_check=True)
        app.save(current)
        made = make_due_events(app, datetime(2099, 1, 1, tzinfo=UTC), timedelta(hours=23), confirm_reminder=0)
        by_start = {app.get_event(w).start.hour: app.get_event(w).timings.confirm_reminder for w in made}
        assert by_start == {16: 2 * 3600, 20: 0}  # 19:00 Moscow, and the legacy rule at 20:00 UTC
    finally:
        app.close()


def test_an_event_an_operator_inserts_is_adopted_with_the_setting(postgres_settings):
    s = postgres_settings
    with psycopg.connect(host=s.postgres_host, port=s.postgres_port, dbname=s.postgres_db, user=s.postgres_user,
                         autocommit=True) as conn:  # as the operator does, by hand
        conn.execute("INSERT INTO public.dating_events (start_dttm) VALUES (%s)", (T0 + timedelta(days=3),))
        (wire_id,), = conn.execute("SELECT id FROM public.dating_events").fetchall()
    clock = FakeClock()
    app = DatingEvents(env=persistence_env(postgres_settings), clock=clock)
    try:
        assert PlatformWrites(app, display_timezone="UTC", clock=clock, confirm_reminder=1800).take() == 1
        assert app.get_event(wire_id).timings.confirm_reminder == 1800
    finally:
        app.close()
