"""A user's standing with the moderators: blocks (who, when, why, until
when), lifted blocks, and the decisions on reports about them. One
aggregate per platform user, under an id derived from the user id, so any
instance finds it without an index. Time comes in with each command.

A block in force stops new registrations; the use case that records it also
withdraws the user from the events not yet running (app/moderation.py)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from datemaker.domain.errors import DomainError
from datemaker.domain.ids import standing_uuid

BLOCKED = "blocked"  # why a blocked user has no place in a plan re-made without them
OUTCOMES = ("dismissed", "warned", "blocked")  # a moderator's decision on a report
AUTO_REPORTS = "auto_reports"  # the reason of a block the reports rule recorded
# Reasons, notes and names are single words (no free text in the history a
# bot message could ever be built from): letters, digits and . _ : @ -
WORD = re.compile(r"^[\w.:@-]{1,64}$")


class InvalidModeration(DomainError):
    reason = "invalid"


class NotBlocked(DomainError):
    reason = "not_blocked"


def is_word(text: object) -> bool:
    return isinstance(text, str) and WORD.fullmatch(text) is not None


def _word(text: str | None, what: str) -> None:
    if text is not None and not is_word(text):
        raise InvalidModeration(f"{what} is one word of at most 64 letters, digits or . _ : @ -")


class UserStanding(Aggregate):
    @staticmethod
    def create_id(user_id: int) -> UUID:  # type: ignore[override]
        return standing_uuid(user_id)

    @event("Opened")
    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        # Oldest first: {"reason", "until", "by", "at", "report_id", "lifted_at", "lifted_by"}
        # (instants as ISO 8601 text); the last one is the one that may be in force.
        self.blocks: list[dict[str, Any]] = []
        # report id -> every decision on it, oldest first: {"outcome", "note", "by", "at"}
        self.decisions: dict[str, list[dict[str, Any]]] = {}

    # --- reading ----------------------------------------------------------

    def block_in_force(self, at: datetime) -> dict[str, Any] | None:
        """The block that holds at `at`: neither lifted nor run out."""
        if not self.blocks:
            return None
        last = self.blocks[-1]
        if last["lifted_at"] is not None:
            return None
        if last["until"] is not None and datetime.fromisoformat(last["until"]) <= at:
            return None
        return last

    @property
    def held_block(self) -> tuple[bool, datetime | None]:
        """(True, until or None) while the last block is not lifted, whatever
        the time: what the blocks table keeps (its reader compares `until`)."""
        if not self.blocks or self.blocks[-1]["lifted_at"] is not None:
            return False, None
        until = self.blocks[-1]["until"]
        return True, datetime.fromisoformat(until) if until else None

    def decision(self, report_id: str) -> dict[str, Any] | None:
        """The latest decision on a report about this user (None: still open)."""
        found = self.decisions.get(report_id)
        return found[-1] if found else None

    def blocked_for(self, report_id: str) -> bool:
        return any(b["report_id"] == report_id for b in self.blocks)

    # --- commands -----------------------------------------------------------

    def block(self, *, reason: str, by: str, at: datetime, until: datetime | None = None,
              report_id: str | None = None) -> bool:
        """Block from `at` (until `until`, else until lifted). False, recording
        nothing, when a block on the same terms is already in force."""
        _word(reason, "a reason")
        _word(by, "who blocks")
        if until is not None and (until.tzinfo is None or until <= at):
            raise InvalidModeration("a block's end must be a later instant with its offset")
        current = self.block_in_force(at)
        if current is not None and (current["reason"], current["until"]) == (
            reason, until.isoformat() if until else None
        ):
            return False
        self._blocked(reason=reason, until=until, by=by, at=at, report_id=report_id)
        return True

    @event("Blocked")
    def _blocked(self, reason: str, until: datetime | None, by: str, at: datetime, report_id: str | None) -> None:
        self.blocks = [*self.blocks, {
            "reason": reason, "until": until.isoformat() if until else None, "by": by, "at": at.isoformat(),
            "report_id": report_id, "lifted_at": None, "lifted_by": None,
        }]

    def unblock(self, *, by: str, at: datetime) -> None:
        _word(by, "who unblocks")
        if self.block_in_force(at) is None:
            raise NotBlocked(f"user {self.user_id} is not blocked")
        self._unblocked(by=by, at=at)

    @event("Unblocked")
    def _unblocked(self, by: str, at: datetime) -> None:
        self.blocks = [*self.blocks[:-1], {**self.blocks[-1], "lifted_at": at.isoformat(), "lifted_by": by}]

    def resolve(self, *, report_id: str, outcome: str, by: str, at: datetime, note: str | None = None) -> bool:
        """A moderator's decision on a report about this user; a later one
        replaces it (both stay in the history). False, recording nothing,
        when it repeats the decision in force."""
        if outcome not in OUTCOMES:
            raise InvalidModeration(f"an outcome is one of {', '.join(OUTCOMES)}")
        _word(note, "a note")
        _word(by, "who decides")
        latest = self.decision(report_id)
        if latest is not None and (latest["outcome"], latest["note"]) == (outcome, note):
            return False
        self._report_resolved(report_id=report_id, outcome=outcome, note=note, by=by, at=at)
        return True

    @event("ReportResolved")
    def _report_resolved(self, report_id: str, outcome: str, note: str | None, by: str, at: datetime) -> None:
        decision = {"outcome": outcome, "note": note, "by": by, "at": at.isoformat()}
        self.decisions = {**self.decisions, report_id: [*self.decisions.get(report_id, []), decision]}


class UnknownReport(DomainError):
    reason = "unknown_report"
