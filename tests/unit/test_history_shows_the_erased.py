"""The history views of an event with someone erased: the text, the page and
the JSON say "erased" where their personal fields were, and show everyone
else as before (the erased reading is what the sealing mapper gives once a
key is destroyed: adapters/privacy/personal_fields.py)."""

from __future__ import annotations

import json
from typing import Any

from eventsourcing.utils import get_topic

from datemaker.adapters.privacy.personal_fields import Walk
from datemaker.history.describe import described
from datemaker.history.erased import profile_words, seen_as
from datemaker.history.load import History
from datemaker.history.render_html import render_html
from datemaker.history.render_json import history_document
from datemaker.history.timeline import build_timeline

from .test_history_timeline import MOSCOW, run_one_round


def as_read_back(recorded: list[Any], erased: set[str]) -> list[Any]:
    """Each event sealed, then opened with the keys of `erased` destroyed."""
    def seal(subject: str, values: dict[str, Any]) -> list[Any]:
        return [subject, 1, json.dumps(values)]

    def open_(marker: list[Any]) -> dict[str, Any] | None:
        return None if marker[0] in erased else json.loads(marker[2])

    out = []
    for domain_event in recorded:
        state = vars(domain_event)
        topic = get_topic(type(domain_event))
        sealed = Walk(seal=seal).event(topic, state, state["originator_id"])
        opened = Walk(open_=open_).event(topic, sealed, state["originator_id"])
        copy = object.__new__(type(domain_event))
        object.__setattr__(copy, "__dict__", opened)
        out.append(copy)
    return out


def test_an_erased_person_reads_erased_in_text_page_and_json_and_the_other_as_recorded():
    event, recorded = run_one_round()
    history = History(event, build_timeline(as_read_back(recorded, {"user:1"}), MOSCOW), None)
    lines = {entry.get("user_id"): text for entry, text in described(history.entries, MOSCOW)
             if entry.type == "Registered"}
    assert lines[1] == ["user 1 (erased)"]
    assert lines[11] == ["user 11 (F, Kazan)"]
    document = json.dumps(history_document(history))
    assert '"erased": true' in document and "1990-01-01" not in document and "1991-01-01" in document
    page = render_html(history)
    assert "user 1 (erased)" in page and "1990-01-01" not in page


def test_someone_seen_in_a_room_reads_by_id_name_or_erased():
    assert seen_as({"user_id": 5, "display_name": "Zhenya"}) == "5"
    assert seen_as({"user_id": None, "display_name": "Zhenya"}) == "unknown: Zhenya"
    assert seen_as({"user_id": None, "display_name": None, "erased": True}) == "unknown: erased"
    assert profile_words({"sex": None, "rating": 3.0, "erased": True}, ("sex", "rating")) == ["erased", "rating 3.0"]
