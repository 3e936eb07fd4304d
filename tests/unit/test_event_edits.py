"""An operator's edit of an event, as the aggregate rules it: what changes,
what is refused and why, confirmations reset by a move, the deadlines that
follow, and how the change reads in the history and the bot's messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from datemaker.app.bot_messages import messages_for
from datemaker.domain import timeline
from datemaker.domain.catalog import EventCatalog
from datemaker.domain.errors import EventOver, InvalidSchedule
from datemaker.domain.event_edits import CapacityBelowRegistrations, EditClosed, StartTooSoon
from datemaker.domain.lifecycle import EventState
from datemaker.domain.timings import Timings
from datemaker.history.describe import described, duration_text
from datemaker.history.timeline import build_timeline

from ..support.dating_events import ANNA, AT, BORIS, START, new_event, refused, replay

T = Timings()
HOUR = timedelta(hours=1)


def registered_event(users: int = 2):
    event = new_event()
    for user_id in range(1, users + 1):
        event.register(user_id, ANNA if user_id % 2 else BORIS, AT)
    return event


def confirming_event():
    """In REG_CONFIRM, 1 and 2 confirmed, 3 not yet."""
    event = registered_event(3)
    opened = T.confirmation_opens_at(START)
    event.open_confirmation(opened)
    event.confirm_registration(1, opened)
    event.confirm_registration(2, opened)
    return event, opened + HOUR


@pytest.mark.parametrize(
    ("requested", "read_back"),
    [
        ({"start": START + HOUR}, lambda e: e.start == START + HOUR),
        ({"timezone": "Asia/Tokyo"}, lambda e: e.timezone == "Asia/Tokyo"),
        ({"users_limit": 8}, lambda e: e.users_limit == 8),
        ({"capacity": 5}, lambda e: e.capacity == 5),
        ({"round_length": 600, "break_length": 120},
         lambda e: (e.timings.round_length, e.timings.break_length) == (600, 120)),
        ({"confirm_reminder": 0}, lambda e: e.timings.confirm_reminder == 0),
    ],
)
def test_each_field_changes_and_replay_gives_the_same_state(requested, read_back):
    event = registered_event()
    changes = event.edit(requested, "alice", AT)
    assert set(changes) == set(requested)
    assert read_back(event)
    assert replay(list(event.collect_events())).__dict__ == event.__dict__


def test_the_change_records_who_when_and_old_and_new_and_the_start_in_utc():
    event = new_event(capacity=10)
    moved = datetime(2026, 12, 5, 20, 0, tzinfo=ZoneInfo("Europe/Moscow"))
    event.edit({"start": moved, "capacity": None, "users_limit": 20}, "alice", AT)
    recorded = event.collect_events()[-1]
    assert type(recorded).__name__ == "Edited" and recorded.by == "alice" and recorded.at == AT
    assert recorded.changes == {  # users_limit is what it was: no change
        "start": ["2026-12-05T16:00:00+00:00", "2026-12-05T17:00:00+00:00"],
        "capacity": [10, None],
    }
    assert event.capacity is None and event.places_left is None


def test_values_the_event_already_has_record_nothing():
    event = registered_event()
    before = (event.version, len(event.pending_events))
    assert event.edit({"start": START, "users_limit": 20, "round_length": T.round_length}, "alice", AT) == {}
    assert (event.version, len(event.pending_events)) == before


def test_nothing_changes_after_confirmation_closed_but_capacity_not_after_registration():
    event, at = confirming_event()
    event.close_confirmation(T.confirmation_closes_at(START), seed=1)
    assert event.state is EventState.READY
    for requested in ({"start": START + HOUR}, {"timezone": "Asia/Tokyo"}, {"users_limit": 4}, {"round_length": 60},
                      {"capacity": 50}):
        refused(event, lambda r=requested: event.edit(r, "alice", at), EditClosed)
    with pytest.raises(EditClosed, match="the users limit cannot change while the event is READY"):
        event.edit({"users_limit": 4}, "alice", at)


def test_an_event_that_is_over_is_never_edited():
    event = registered_event()
    event.cancel(AT)
    refused(event, lambda: event.edit({"capacity": 9}, "alice", AT), EventOver)


def test_capacity_never_drops_below_the_registrations_held():
    event = registered_event(3)
    with pytest.raises(CapacityBelowRegistrations, match="capacity 2 is below the 3 registrations held"):
        event.edit({"capacity": 2}, "alice", AT)
    assert event.edit({"capacity": 3}, "alice", AT) == {"capacity": [None, 3]}


def test_a_start_in_the_past_or_past_its_confirmation_deadline_is_refused():
    event = registered_event()
    refused(event, lambda: event.edit({"start": AT - HOUR}, "alice", AT), StartTooSoon)
    # Starts in 30 minutes: confirmation (1 h before) would already have closed.
    refused(event, lambda: event.edit({"start": AT + HOUR / 2}, "alice", AT), StartTooSoon)
    # Timings alone can do the same: confirmation closing 4 days before the start.
    refused(event, lambda: event.edit({"confirm_deadline": 4 * 86400, "confirm_before": 5 * 86400}, "alice", AT),
            StartTooSoon)
    assert event.edit({"start": AT + 2 * HOUR}, "alice", AT)  # closes in an hour: fine


@pytest.mark.parametrize(
    "requested",
    [{"start": datetime(2026, 12, 6, 19, 0)}, {"users_limit": 1}, {"capacity": 0}, {"timezone": ""},
     {"round_length": 0}, {"confirm_deadline": 3 * 86400}, {"wire_id": 3}],
)
def test_bad_values_are_refused_as_a_bad_schedule(requested):
    event = registered_event()
    refused(event, lambda: event.edit(requested, "alice", AT), InvalidSchedule)


def test_moving_the_start_while_confirming_resets_the_confirmations_and_asks_everyone_again():
    event, at = confirming_event()
    later = START + timedelta(days=7)  # confirmation would open only in six days
    event.edit({"start": later}, "alice", at)
    assert event.state is EventState.REG_CONFIRM  # asked at once, not later
    assert event.confirmed_user_ids == [] and event.registered_user_ids == [1, 2, 3]
    recorded = list(event.collect_events())
    edited, reset = recorded[-2:]
    assert type(reset).__name__ == "ConfirmationsReset"
    assert (reset.user_ids, reset.dropped, reset.reason) == ([1, 2, 3], [1, 2], "edited")
    asked = messages_for(reset, event)
    assert [(m.user_id, m.command) for m in asked] == [(1, "confirm_registration"), (2, "confirm_registration"),
                                                        (3, "confirm_registration")]
    assert asked[0].message_id == "dm:17:0:confirm_registration:1:again1"
    assert messages_for(edited, event) == []
    # The new ask's answer counts.
    event.confirm_registration(1, at + HOUR)
    assert event.confirmed_user_ids == [1]
    assert replay(recorded + list(event.collect_events())).__dict__ == event.__dict__


def test_after_a_move_the_deadlines_follow_the_new_start():
    event, at = confirming_event()
    later = START + timedelta(days=1)
    event.edit({"start": later}, "alice", at)
    assert timeline.next_step(event) == timeline.Step(T.confirmation_reminder_at(later), timeline.REMIND_UNCONFIRMED)
    assert event.advance(T.confirmation_closes_at(START), seed=1) == []  # the old deadline: nothing
    event.advance(T.confirmation_reminder_at(later), seed=1)
    reminded = event.collect_events()[-1]
    assert reminded.user_ids == [1, 2, 3]  # asked again 43 h before, none confirmed since
    assert messages_for(reminded, event)[0].message_id.endswith(":reminder1")  # not the first reminder's id
    assert timeline.next_step(event) == timeline.Step(T.confirmation_closes_at(later), timeline.CLOSE_CONFIRMATION)


def test_a_reminder_sent_before_a_move_comes_again_by_the_new_timings():
    event, _ = confirming_event()
    event.advance(T.confirmation_reminder_at(START), seed=1)
    assert event.confirmation_reminded and event.collect_events()[-1].user_ids == [3]
    later = START + timedelta(days=1)
    event.edit({"start": later}, "alice", T.confirmation_reminder_at(START) + HOUR / 2)
    assert not event.confirmation_reminded
    assert timeline.next_step(event).at == T.confirmation_reminder_at(later)


def test_a_move_before_confirmation_opens_moves_the_opening_and_resets_nothing():
    event = registered_event()
    earlier = AT + 20 * HOUR  # confirmation should have opened 4 h ago: the clock opens it at once
    event.edit({"start": earlier}, "alice", AT)
    assert [type(e).__name__ for e in event.collect_events()][-1] == "Edited"
    assert timeline.next_step(event) == timeline.Step(T.confirmation_opens_at(earlier), timeline.OPEN_CONFIRMATION)
    assert event.advance(AT, seed=1) == [timeline.OPEN_CONFIRMATION]


def test_changes_that_move_no_date_keep_the_confirmations():
    event, at = confirming_event()
    event.edit({"timezone": "Asia/Tokyo", "users_limit": 10, "capacity": 9, "confirm_deadline": 2 * 3600}, "bob", at)
    assert event.confirmed_user_ids == [1, 2]
    assert [type(e).__name__ for e in event.collect_events()][-1] == "Edited"


def test_the_catalog_lists_the_new_start():
    catalog = EventCatalog()
    catalog.add(17, START)
    catalog.add(18, START + HOUR)
    catalog.move(17, START + 2 * HOUR)
    assert catalog.wire_ids_starting_after(START) == [18, 17]
    with pytest.raises(ValueError):
        catalog.move(99, START)


def test_the_history_reads_who_edited_what_from_what_to_what():
    event, at = confirming_event()
    moscow = ZoneInfo("Europe/Moscow")
    event.edit({"start": START + HOUR, "round_length": 600, "capacity": 40}, "alice", at)
    entries = build_timeline(event.collect_events(), moscow)
    lines = {entry.type: text for entry, text in described(entries, moscow)}
    assert lines["Edited"] == ["edited by alice: start 19:00 → 20:00, capacity unlimited → 40, round 5m → 10m"]
    assert lines["ConfirmationsReset"] == [
        "confirmations reset (edited): no longer confirmed: 1, 2; asked again: 1, 2, 3"]
    event.edit({"start": START + timedelta(days=1)}, "bob", at)
    entries = build_timeline(event.collect_events(), moscow)
    assert described(entries, moscow)[-2][1] == ["edited by bob: start 2026-12-05 20:00 → 2026-12-06 19:00"]
    assert [duration_text(s) for s in (0, 90, 300, 5400, 86400)] == ["0", "1m30s", "5m", "1h30m", "1d"]


def test_start_is_read_back_as_utc_whatever_its_offset():
    event = registered_event()
    tokyo = datetime(2026, 12, 6, 1, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 16:00 UTC on the 5th
    assert event.edit({"start": tokyo}, "alice", AT) == {}
    assert event.start == START and event.start.tzinfo == UTC
