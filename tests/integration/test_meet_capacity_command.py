"""`datemaker meet capacity`: hours ahead, it says which hour's dates the
pool and the make rate will not serve, and how many; with enough rooms,
that every date is covered; an account set aside makes no rooms."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.adapters.postgres.room_pool import PostgresRoomPool
from datemaker.app.dating_events import DatingEvents
from datemaker.cli.main import main
from datemaker.domain.profile import Profile
from datemaker.domain.rooms import Room
from datemaker.domain.timings import Timings

from ..support.cli_env import point_cli_at


@pytest.fixture
def platform(postgres_settings, monkeypatch, tmp_path):
    """An event five hours from now with 200 people: 1,000 dates (ten
    groups of 20, ten rounds of ten dates each)."""
    point_cli_at(monkeypatch, postgres_settings)
    token = tmp_path / "host1.json"
    token.write_text("{}")
    monkeypatch.setenv("DATEMAKER_MEET_BACKEND", "google")
    monkeypatch.setenv("MEET_API_ENDPOINT", "http://127.0.0.1:9")  # never called: capacity only reads the store
    monkeypatch.setenv("MEET_TOKEN_FILE", str(token))
    monkeypatch.setenv("DATEMAKER_MEET_CREATE_PER_MINUTE", "1")  # 60 rooms an hour
    monkeypatch.setenv("DATEMAKER_DISPLAY_TIMEZONE", "UTC")
    app = DatingEvents(env=persistence_env(postgres_settings))
    start = (datetime.now(UTC) + timedelta(hours=5)).replace(minute=0, second=0, microsecond=0)
    wire_id = app.schedule_event(start=start, timezone="UTC", users_limit=20, ready_check=False)
    for uid in range(1, 201):
        app.register(wire_id, uid, Profile(sex="M" if uid % 2 else "F", birthday=date(1995, 1, 1), city="Kazan"))
    pool = PostgresRoomPool(app.recorder.datastore)
    yield app, pool, start
    app.close()


def capacity(capsys, *args: str) -> tuple[int, str]:
    code = main(["meet", "capacity", *args]) or 0
    out, err = capsys.readouterr()
    assert err == ""
    return code, out


def add_rooms(pool, count: int, first: int = 0) -> None:
    pool.add([Room(f"spaces/p{n}", f"https://meet.google.com/p{n}", "host1") for n in range(first, first + count)],
             datetime.now(UTC))


def test_a_shortfall_is_reported_hours_before_it_happens(platform, capsys):
    app, pool, start = platform
    add_rooms(pool, 300)
    code, out = capacity(capsys, "--json")
    found = json.loads(out)
    assert code == 0
    assert (found["pool_rooms"], found["accounts_usable"], found["rate_per_hour"]) == (300, 1, 60.0)
    assert found["planned_dates"] == 1000
    # Round 1 starts two minutes after the start; 300 + 5 h x 60 = 600 rooms by then, and one more every minute.
    t = Timings()
    made_by_last_round = 300 + int((t.round_starts_at(start, 10) - datetime.now(UTC)).total_seconds() // 60)
    assert 1000 - made_by_last_round - 2 <= found["shortfall"] <= 1000 - made_by_last_round + 2
    assert datetime.fromisoformat(found["first_short_hour"]) == start
    short_hours = [h for h in found["hours"] if not h["covered"]]
    assert [datetime.fromisoformat(h["starts"]) for h in short_hours] == [start]
    assert sum(h["dates"] for h in found["hours"]) == 1000  # every round starts within that hour

    code, text = capacity(capsys)
    assert code == 0
    assert "pool: 300 rooms; accounts usable: 1 of 1 (host1); make rate: 60 rooms/h" in text
    assert f"first hour short: {start:%Y-%m-%d %H:%M} (UTC)" in text
    assert f"{start:%Y-%m-%d %H:%M}" in next(line for line in text.splitlines() if line.endswith("SHORT"))


def test_enough_rooms_cover_every_hour(platform, capsys):
    app, pool, start = platform
    add_rooms(pool, 1000)
    found = json.loads(capacity(capsys, "--json")[1])
    assert found["shortfall"] == 0 and found["first_short_hour"] is None
    assert all(h["covered"] for h in found["hours"])
    pool.take(99, 1000, datetime.now(UTC))  # handed to another event: no longer in the pool
    assert json.loads(capacity(capsys, "--json")[1])["pool_rooms"] == 0


def test_an_account_set_aside_makes_no_rooms(platform, capsys):
    app, pool, start = platform
    add_rooms(pool, 300)
    pool.set_account("host1", False, "token refresh refused", datetime.now(UTC))
    found = json.loads(capacity(capsys, "--json")[1])
    assert found["accounts_usable"] == 0 and found["rate_per_hour"] == 0
    assert found["accounts"][0]["reason"] == "token refresh refused"
    assert found["shortfall"] == 700
    assert "host1 (set aside: token refresh refused)" in capacity(capsys)[1]


def test_the_fake_backend_has_no_limit_to_report(platform, capsys, monkeypatch):
    monkeypatch.setenv("DATEMAKER_MEET_BACKEND", "fake")
    code = main(["meet", "capacity"])
    assert code == 1 and "made at once, without limit" in capsys.readouterr().err
