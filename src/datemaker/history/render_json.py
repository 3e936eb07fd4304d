"""`datemaker history ID --json`: the documented machine shape.

    {"format": "datemaker.history/1", "event_id", "timezone",
     "as_of": ISO 8601 or null, "version": last version shown,
     "entries": [{"version", "at", "recorded_at", "type", ...recorded fields}],
     "summary": {state, counts, plan, round, phase, ratings, reports,
                 matches, attendance, ... (see facts.summary)}}

Times carry the event zone's offset. New keys may be added; existing ones
keep their meaning (bump the format number otherwise)."""

from __future__ import annotations

import json
from typing import Any

from datemaker.history.facts import summary
from datemaker.history.load import History

FORMAT = "datemaker.history/1"


def history_document(history: History) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "event_id": history.event.wire_id,
        "timezone": history.event.timezone,
        "as_of": history.as_of.isoformat() if history.as_of else None,
        "version": history.version,
        "entries": [entry.to_dict() for entry in history.entries],
        "summary": summary(history.event),
    }


def dumps(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False)
