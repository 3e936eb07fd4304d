"""History entries, --at version choice, descriptions and the HTML page,
built from an aggregate's own recorded events (no store)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.profile import Profile
from datemaker.domain.timings import Timings
from datemaker.history.describe import described
from datemaker.history.load import History
from datemaker.history.render_html import render_html
from datemaker.history.render_json import history_document
from datemaker.history.render_text import render_text
from datemaker.history.timeline import build_timeline, to_entry, until, version_at

MOSCOW = ZoneInfo("Europe/Moscow")
START = datetime(2030, 6, 5, 16, 0, tzinfo=UTC)  # 19:00 in Moscow
T = Timings()


MAN = Profile(sex="M", birthday=date(1990, 1, 1), city="Kazan")
WOMAN = Profile(sex="F", birthday=date(1991, 1, 1), city="Kazan")


def run_one_round(room_uri: str = "https://meet.google.com/abc-defg-hij") -> tuple[DatingEvent, list[Any]]:
    """Two people, one date, every step recorded; returns the aggregate and its events."""
    event = DatingEvent.schedule(wire_id=7, start=START, timezone="Europe/Moscow", ready_check=False)
    event.register(1, MAN, START - timedelta(days=2))
    event.register(11, WOMAN, START - timedelta(days=2, minutes=-1))
    event.open_confirmation(T.confirmation_opens_at(START))
    event.confirm_registration(1, T.confirmation_opens_at(START) + timedelta(minutes=1))
    event.confirm_registration(11, T.confirmation_opens_at(START) + timedelta(minutes=2))
    event.close_confirmation(T.confirmation_closes_at(START), seed=1)
    event.add_rooms(1, [{"space": "spaces/1", "uri": room_uri}], T.confirmation_closes_at(START))
    event.begin(T.round_starts_at(START, 1), seed=1)
    event.rate(11, 1, "report", T.round_starts_at(START, 1) + timedelta(minutes=1))
    return event, list(event.collect_events())


def test_entries_carry_every_recorded_field_and_business_time_in_the_event_zone():
    event, recorded = run_one_round()
    entries = build_timeline(recorded, MOSCOW)
    assert [e.version for e in entries] == list(range(1, len(recorded) + 1))
    registered = entries[1]
    assert registered.type == "Registered" and registered.get("user_id") == 1
    assert registered.at.isoformat() == "2030-06-03T19:00:00+03:00"  # its own `at`, not the store's time
    assert registered.get("profile")["city"] == "Kazan"
    scheduled = entries[0].to_dict()
    assert scheduled["type"] == "Scheduled" and scheduled["start"] == "2030-06-05T19:00:00+03:00"
    assert "originator_id" not in scheduled and "timestamp" not in scheduled
    json.dumps([e.to_dict() for e in entries])  # everything JSON-safe


@dataclass(frozen=True)
class AttendanceAudited:  # an event type this code has never heard of
    originator_id: Any
    originator_version: int
    timestamp: datetime
    at: datetime
    type: str
    note: str


def test_an_unknown_event_type_is_shown_with_all_its_fields_and_never_overwrites_the_entry_keys():
    at = datetime(2030, 6, 5, 16, 30, tzinfo=UTC)
    odd = AttendanceAudited(uuid4(), 3, at, at, "manual", "checked by hand")
    entry = to_entry(odd, MOSCOW)
    assert entry.to_dict()["type"] == "AttendanceAudited"
    assert entry.to_dict()["field_type"] == "manual"
    ((_, lines),) = described([entry], MOSCOW)
    assert 'note="checked by hand"' in lines[0] and 'field_type="manual"' in lines[0]


def test_version_at_takes_the_last_version_recorded_by_the_instant():
    _, recorded = run_one_round()
    entries = build_timeline(recorded, MOSCOW)
    confirmed_at = T.confirmation_opens_at(START) + timedelta(minutes=1)
    v = version_at(entries, confirmed_at)
    assert entries[v - 1].type == "RegistrationConfirmed" and entries[v].at > confirmed_at
    assert version_at(entries, confirmed_at - timedelta(seconds=1)) == v - 1
    assert version_at(entries, entries[0].at - timedelta(days=1)) is None
    assert until(entries, v)[-1].version == v


def test_text_names_the_pairs_with_their_rooms_and_the_report():
    event, recorded = run_one_round()
    lines = render_text(History(event, build_timeline(recorded, MOSCOW), None))
    text = "\n".join(lines)
    assert lines[0] == "event 7: starts 2030-06-05 19:00 Europe/Moscow"
    assert "1+11: https://meet.google.com/abc-defg-hij" in text
    assert "11 -> 1: report" in text
    assert "state: RUNNING, round 1 (round)" in text and "reports: 11 -> 1" in text


def test_json_document_has_the_documented_shape():
    event, recorded = run_one_round()
    doc = history_document(History(event, build_timeline(recorded, MOSCOW), None))
    assert list(doc) == ["format", "event_id", "timezone", "as_of", "version", "entries", "summary"]
    assert doc["format"] == "datemaker.history/1" and doc["version"] == len(recorded)
    assert {"version", "at", "recorded_at", "type"} <= set(doc["entries"][0])
    rounds = doc["summary"]["plan"]["rounds"]
    assert rounds[0]["pairs"] == [{"a": 1, "b": 11, "score": rounds[0]["pairs"][0]["score"],
                                   "room": "https://meet.google.com/abc-defg-hij"}]
    assert doc["summary"]["reports"] == [[11, 1]]


def test_the_page_escapes_recorded_text_and_never_links_a_script_uri():
    event, recorded = run_one_round(room_uri="javascript:alert(1)")
    event.cancel(T.round_ends_at(START, 1), reason='<script>alert("x")</script>')
    recorded += list(event.collect_events())
    page = render_html(History(event, build_timeline(recorded, MOSCOW), None))
    assert "<script" not in page.lower()
    assert "&lt;script&gt;" in page
    assert 'href="javascript' not in page and "javascript:alert(1)" in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert 'data-round="1" data-a="1" data-b="11"' in page


def test_a_skipped_event_shows_why_and_who_got_no_place_and_has_no_grid():
    event = DatingEvent.schedule(wire_id=3, start=START, timezone="Asia/Tokyo")
    event.register(1, MAN, START - timedelta(days=3))
    event.register(2, MAN, START - timedelta(days=3))
    event.cancel_registration(2, START - timedelta(days=2))
    event.open_confirmation(T.confirmation_opens_at(START))
    event.confirm_registration(1, T.confirmation_opens_at(START))
    event.close_confirmation(T.confirmation_closes_at(START), seed=1)
    history = History(event, build_timeline(event.collect_events(), ZoneInfo("Asia/Tokyo")), None)
    text = "\n".join(render_text(history))
    assert "Skipped                too_few_participants; 0 group(s), 0 round(s)" in text
    assert "no place: 1 (no_compatible_partner)" in text
    assert "state: SKIPPED, reason: too_few_participants" in text and "withdrawn 1" in text
    page = render_html(history)
    assert '<p id="grid" class="muted">no groups or rounds fixed</p>' in page and "no_compatible_partner" in page
