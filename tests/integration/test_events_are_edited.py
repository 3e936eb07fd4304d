"""An operator edits events on each store: a move after people confirmed
asks everyone again and only the new answers count, the round clock fires
at the new times, the bot's listing shows the new start at once, and the
`events edit` command changes what it names or says in one line why not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.app.bot_commands import BotCommand, BotCommandHandler
from datemaker.app.dating_events import DatingEvents
from datemaker.app.event_edits import edit_event
from datemaker.cli.main import main
from datemaker.domain.event_edits import StartTooSoon
from datemaker.domain.lifecycle import EventState
from datemaker.domain.timings import Timings

from ..support.clock import T0, FakeClock
from ..support.retry import FAST_RETRY
from ..support.world import World, profile

T = Timings()
START = T0 + timedelta(days=2)
PEOPLE = [1, 2, 11, 12]


@pytest.fixture
def world(store_settings):
    clock = FakeClock()
    app = DatingEvents(env=persistence_env(store_settings), clock=clock, retry=FAST_RETRY)
    app.seed_platform_users([(uid, f"user{uid}", "M" if uid < 10 else "F", "1995-01-01", "Kazan", 0.0, 2)
                             for uid in PEOPLE])
    yield World(app, clock)
    app.close()


def confirming(world: World) -> int:
    """An event in REG_CONFIRM whose first reminder went out; 1 and 11 confirmed."""
    app = world.app
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow", users_limit=10)
    for uid in PEOPLE:
        app.register(wire_id, uid, profile(uid))
    world.run_until(T.confirmation_opens_at(START))
    app.confirm_registration(wire_id, 1)
    app.confirm_registration(wire_id, 11)
    world.run_until(T.confirmation_reminder_at(START))
    assert app.get_event(wire_id).confirmation_reminded
    return wire_id


def test_a_move_after_confirmations_asks_everyone_again_and_the_clock_keeps_the_new_times(world):
    app, clock = world.app, world.clock
    wire_id = confirming(world)
    later = START + timedelta(days=1)

    changes = edit_event(app, wire_id, {"start": later}, "alice")
    assert changes == {"start": [START.isoformat(), later.isoformat()]}
    world.deliver()
    event = app.get_event(wire_id)
    assert event.state is EventState.REG_CONFIRM and event.confirmed_user_ids == []
    for uid in PEOPLE:  # asked when confirmation opened, reminded (the unconfirmed), asked again
        assert world.commands(uid)[-1] == "confirm_registration"
    assert world.commands(1) == ["confirm_registration"] * 2 and world.commands(2) == ["confirm_registration"] * 3
    assert len(set(world.message_ids)) == len(world.message_ids)  # each ask a message of its own
    # The next deadline is the reminder by the new start, not the old deadline.
    assert app.next_due_at() == T.confirmation_reminder_at(later)

    world.run_until(T.confirmation_closes_at(START) + timedelta(minutes=1))  # the old deadline passes
    assert app.get_event(wire_id).state is EventState.REG_CONFIRM
    app.confirm_registration(wire_id, 2)
    app.confirm_registration(wire_id, 12)
    world.run_until(T.confirmation_reminder_at(later))
    assert world.commands(1)[-1] == "confirm_registration" and world.commands(2)[-1] == "confirm_registration"
    assert world.commands(12) == ["confirm_registration"] * 3  # not reminded: confirmed the new time
    assert len(set(world.message_ids)) == len(world.message_ids)

    world.run_until(T.confirmation_closes_at(later))
    event = app.get_event(wire_id)
    assert event.state is EventState.READY
    assert event.planned.placed_user_ids == {2, 12}  # only the answers to the new ask count
    assert world.commands(1)[-1] == "send_user_will_not_take_part_in_event"
    world.run_until(T.rules_at(later))
    for uid in (2, 12):
        app.change(wire_id, lambda e, uid=uid: e.mark_ready(uid, clock.now))
    world.run_until(T.round_starts_at(later, 1))
    started = [e for e in app.history(wire_id) if type(e).__name__ == "Started"]
    assert app.get_event(wire_id).state is EventState.RUNNING
    assert [e.at for e in started] == [T.round_starts_at(later, 1)]
    invite = dict(world.inbox[2])["invite_to_meeting"]
    assert invite["partner_id"] == 12 and invite["ends_at"] == T.round_ends_at(later, 1).isoformat()


def test_a_confirmation_pressed_before_the_move_does_not_count_and_the_new_one_does(world):
    app = world.app
    wire_id = confirming(world)
    handler = BotCommandHandler(app)
    before = BotCommand("confirm_registration", 2, wire_id, dedupe_key="2:m1")
    assert handler.handle([before])[0].outcome == "ok"
    edit_event(app, wire_id, {"start": START + timedelta(hours=6)}, "alice")
    # The bot delivers the old press again: its stored reply, nothing recorded.
    again = handler.handle([BotCommand("confirm_registration", 2, wire_id, dedupe_key="2:m1", seen_before=True)])[0]
    assert again.duplicate and app.get_event(wire_id).confirmed_user_ids == []
    fresh = handler.handle([BotCommand("confirm_registration", 2, wire_id, dedupe_key="2:m2")])[0]
    assert fresh.outcome == "ok" and app.get_event(wire_id).confirmed_user_ids == [2]


def test_a_move_before_confirmation_opens_brings_the_opening_with_it(world):
    app = world.app
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")
    app.register(wire_id, 1, profile(1))
    assert app.next_due_at() == T.confirmation_opens_at(START)
    sooner = T0 + timedelta(hours=20)  # confirmation should have opened 4 h ago
    edit_event(app, wire_id, {"start": sooner, "round_length": 600}, "alice")
    assert app.next_due_at() == T.confirmation_opens_at(sooner)
    world.run_until(world.clock.now)
    assert app.get_event(wire_id).state is EventState.REG_CONFIRM
    assert world.commands(1) == ["confirm_registration"]
    with pytest.raises(StartTooSoon):
        edit_event(app, wire_id, {"start": T0 + timedelta(minutes=30)}, "alice")


def test_the_bots_listing_shows_the_new_start_and_order_at_once(world):
    app = world.app
    first = app.schedule_event(start=START, timezone="Europe/Moscow")
    second = app.schedule_event(start=START + timedelta(hours=2), timezone="Europe/Moscow")
    handler = BotCommandHandler(app)

    def listing() -> list[tuple[int, str]]:
        body = handler.handle([BotCommand("list_events", 1)])[0].body
        return [(int(wire_id), shown["start_time"]) for entry in body for wire_id, shown in entry.items()]

    assert listing() == [(first, "2026-12-03 15:00:00"), (second, "2026-12-03 17:00:00")]
    edit_event(app, first, {"start": START + timedelta(hours=3)}, "alice")
    assert listing() == [(second, "2026-12-03 17:00:00"), (first, "2026-12-03 18:00:00")]
    assert app.upcoming_wire_ids(START + timedelta(hours=2, minutes=30)) == [first]


# --- the command ------------------------------------------------------------------


def run(capsys, *args: str) -> tuple[int, list[str], str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code or 0, out.splitlines(), err


def test_edit_changes_only_what_it_names_and_the_history_says_so(store_settings, env_for, capsys):
    env_for(store_settings)
    run(capsys, "events", "create", "--start", "2099-12-05T19:00", "--capacity", "30")
    code, out, err = run(capsys, "events", "edit", "1", "--start", "2099-12-05T20:00", "--by", "alice")
    assert code == 0 and out == ["event 1 edited (start); starts 2099-12-05 20:00 Europe/Moscow"]
    code, out, _ = run(capsys, "history", "1")
    assert code == 0 and any(line.endswith("edited by alice: start 19:00 → 20:00") for line in out)
    code, out, _ = run(capsys, "events", "edit", "1", "--users-limit", "10", "--capacity", "unlimited",
                       "--round", "10m", "--timezone", "Asia/Tokyo", "--by", "bob")
    assert code == 0 and out == ["event 1 edited (timezone, users_limit, capacity, round_length);"
                                 " starts 2099-12-06 02:00 Asia/Tokyo"]
    code, out, _ = run(capsys, "events", "edit", "1", "--users-limit", "10")
    assert code == 0 and out == ["event 1 unchanged"]
    code, out, _ = run(capsys, "events", "list")
    assert out[1].split()[:5] == ["1", "2099-12-06", "02:00", "Asia/Tokyo", "NOT_STARTED"]
    app = DatingEvents(env=persistence_env(store_settings))
    try:
        event = app.get_event(1)
        assert (event.users_limit, event.capacity, event.timings.round_length) == (10, None, 600)
        assert event.timings.break_length == T.break_length  # not named: kept
    finally:
        app.close()
    code, out, _ = run(capsys, "history", "1")  # shown in the event's zone, now Tokyo's
    text = "\n".join(out)
    assert "edited by alice: start 01:00 → 02:00" in text
    assert "edited by bob: timezone Europe/Moscow → Asia/Tokyo, users limit 20 → 10, capacity 30 → unlimited," \
           " round 5m → 10m" in text


def test_a_start_without_an_offset_is_read_in_the_events_zone(store_settings, env_for, capsys):
    env_for(store_settings)
    run(capsys, "events", "create", "--start", "2099-12-05T19:00", "--timezone", "Asia/Tokyo")
    run(capsys, "events", "edit", "1", "--start", "2099-12-05T21:00")
    app = DatingEvents(env=persistence_env(store_settings))
    try:
        assert app.get_event(1).start == datetime(2099, 12, 5, 12, 0, tzinfo=UTC)
    finally:
        app.close()


def test_refused_edits_say_why_in_one_line_and_exit_1(store_settings, env_for, capsys):
    env_for(store_settings)
    run(capsys, "events", "create", "--start", "2099-12-05T19:00")
    run(capsys, "events", "create", "--start", "2099-12-06T19:00")
    # The second is in READY (its steps taken by hand: the command's clock is the real one).
    app = DatingEvents(env=persistence_env(store_settings), clock=FakeClock())
    try:
        for uid in (1, 2, 11):
            app.register(1, uid, profile(uid))
        for uid in (1, 11):
            app.register(2, uid, profile(uid))
        app.open_confirmation(2)
        app.confirm_registration(2, 1)
        app.confirm_registration(2, 11)
        app.close_confirmation(2, seed=1)
        assert app.get_event(2).state is EventState.READY
    finally:
        app.close()
    run(capsys, "events", "create", "--start", "2099-12-07T19:00")
    run(capsys, "events", "cancel", "3")
    refusals = [
        (["1", "--capacity", "2"], "capacity 2 is below the 3 registrations held"),
        (["1", "--start", "2001-01-01T10:00"], "the new start 2001-01-01T07:00:00+00:00 is in the past"),
        (["2", "--start", "2099-12-06T20:00"],
         "the start cannot change while the event is READY: confirmation has closed"),
        (["2", "--capacity", "9"], "the capacity cannot change while the event is READY: registration has closed"),
        (["3", "--round", "10m"], "cannot edit the event while the event is CANCELLED"),
        (["9", "--round", "10m"], "no dating event 9"),
    ]
    for args, why in refusals:
        code, out, err = run(capsys, "events", "edit", *args)
        assert (code, out, err) == (1, [], f"datemaker: error: {why}\n"), args


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["events", "edit", "1"], "at least one option"),
        (["events", "edit", "1", "--capacity", "none"], "--capacity"),
        (["events", "edit", "1", "--capacity", "0"], "--capacity"),
        (["events", "edit", "1", "--users-limit", "1"], "--users-limit"),
        (["events", "edit", "1", "--round", "5 minutes"], "--round"),
        (["events", "edit", "1", "--start", "tomorrow"], "--start"),
        (["events", "edit", "1", "--timezone", "Mars/Olympus"], "--timezone"),
        (["events", "edit", "1", "--by", "two words", "--round", "5m"], "--by"),
        (["events", "edit", "zero", "--round", "5m"], "EVENT_ID"),
    ],
)
def test_bad_arguments_give_one_line_naming_the_argument_and_exit_2(sqlite_settings, env_for, capsys, args, named):
    env_for(sqlite_settings)
    code, _, err = run(capsys, *args)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and named in err and "Traceback" not in err
