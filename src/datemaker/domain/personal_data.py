"""What datemaker records about a person that is theirs alone: the profile
snapshot's sex, birthday and city, the Meet accounts they were seen with and
the display names seen in the rooms, and an operator's free-text notes about
them. These are sealed with the person's own key and read back "erased" once
that key is destroyed. Ids, states, times, pairs, reactions, ratings and
scores are not personal in this sense: replay, pairing and the analytics need
them, and without the fields above they point at nobody.

Each group maps a personal field to what it reads as once erased."""

from __future__ import annotations

from typing import Any

ERASED = "erased"  # set in a record whose personal fields were erased

PROFILE_FIELDS: dict[str, Any] = {"sex": None, "birthday": None, "city": None}
PARTNER_FIELDS: dict[str, Any] = {"accounts": []}  # a date's partner, as Meet saw them
SEEN_FIELDS: dict[str, Any] = {"display_name": None}  # anyone else seen in the room
NOTE_FIELDS = ("note",)  # an operator's words about the person the event is about


def is_erased(record: dict[str, Any] | None) -> bool:
    return bool(record) and bool(record.get(ERASED))  # type: ignore[union-attr]
