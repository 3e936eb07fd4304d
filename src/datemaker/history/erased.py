"""How the history views show a person whose personal fields were erased
(domain/personal_data.py): the word "erased" where a field was."""

from __future__ import annotations

from typing import Any

from datemaker.domain.personal_data import ERASED, is_erased


def seen_as(other: dict[str, Any]) -> str:
    """Who someone else seen in a room was: their user id, else the name Meet showed."""
    if other.get("user_id"):
        return str(other["user_id"])
    if is_erased(other):
        return f"unknown: {ERASED}"
    return f"unknown: {other.get('display_name') or ''}"


def profile_words(profile: dict[str, Any] | None, fields: tuple[str, ...]) -> list[str]:
    """`field value` for each field recorded, the personal ones as "erased" once they are."""
    p = profile or {}
    words = [f"{k} {p.get(k)}" for k in fields if p.get(k) is not None]
    return [ERASED, *words] if is_erased(p) else words
