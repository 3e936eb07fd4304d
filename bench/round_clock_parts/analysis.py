"""Reading a phase's outcome from the event store: each recorded step against
the deadline the timeline gives for it, and the bot messages the log calls for."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from round_clock_parts.app_setup import Planned
    from round_clock_parts.store_watch import CommitWatch


def read_log(app: Any, after: int = 0) -> list[tuple[int, Any]]:
    """(notification id, domain event) of everything recorded after
    notification `after`, in order."""
    found = []
    position = after
    while True:
        notifications = app.recorder.select_notifications(start=position + 1, limit=5000)
        if not notifications:
            return found
        for n in notifications:
            found.append((n.id, app.mapper.to_domain_event(n)))
        position = notifications[-1].id


def due_of(kind: str, recorded: Any, start: datetime, t: Any, rounds: int) -> datetime | None:
    if kind == "ConfirmationOpened":
        return t.confirmation_opens_at(start)
    if kind in ("GroupsFormed", "Skipped"):
        return t.confirmation_closes_at(start)
    if kind == "RulesAnnounced":
        return t.rules_at(start)
    if kind == "Started":
        return t.round_starts_at(start, 1)
    if kind == "RoundStarted":
        return t.round_starts_at(start, recorded.round_no)
    if kind == "RoundEnded":
        return t.round_ends_at(start, recorded.round_no)
    if kind == "Finished":
        return t.ratings_lock_at(start, rounds)
    return None


@dataclass
class StoreOutcome:
    skews_ms: list[float] = field(default_factory=list)  # recorded `at` - deadline
    committed_ms: list[float] = field(default_factory=list)  # commit - deadline
    unwatched: int = 0  # steps whose commit the watcher missed
    roomless_dates: int = 0  # dates of started rounds that had no room (the pair rested)
    roomless_events: list[int] = field(default_factory=list)
    by_action: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    rooms_lag_ms: list[float] = field(default_factory=list)
    finished: int = 0
    problems: list[str] = field(default_factory=list)
    rounds: Counter[int] = field(default_factory=Counter)
    rounds_of: dict[int, int] = field(default_factory=dict)


def analyse_store(app: Any, planned: dict[int, Planned], watch: CommitWatch) -> StoreOutcome:
    from datemaker.domain.dating_event import DatingEvent
    from datemaker.domain.ids import event_uuid
    from datemaker.domain.pairing import Plan

    by_id = {event_uuid(w): w for w in planned}
    history: dict[int, list[Any]] = defaultdict(list)
    notification_of: dict[int, int] = {}  # id(domain event) -> notification id
    for notification_id, recorded in read_log(app):
        wire_id = by_id.get(recorded.originator_id)
        if wire_id is not None:
            history[wire_id].append(recorded)
            notification_of[id(recorded)] = notification_id
    outcome = StoreOutcome()
    for wire_id, p in sorted(planned.items()):
        events = history[wire_id]
        kinds = Counter(type(e).__name__ for e in events)
        started = [e for e in events if isinstance(e, DatingEvent.Started)]
        # The plan that ran: Started's when it re-paired, else the one fixed before.
        records = [e.plan for e in events if isinstance(e, (DatingEvent.GroupsFormed, DatingEvent.Started)) and e.plan]
        rounds = Plan.from_record(records[-1]).rounds_count if started and records else 0
        outcome.rounds[rounds] += 1
        outcome.rounds_of[wire_id] = rounds
        if kinds["Finished"] == 1:
            outcome.finished += 1
        want = {"ConfirmationOpened": 1, "GroupsFormed": 1, "RulesAnnounced": 1, "Started": 1,
                "RoundStarted": max(rounds - 1, 0), "RoundEnded": rounds, "Finished": 1}
        wrong = {k: kinds[k] for k, n in want.items() if kinds[k] != n}
        started_rounds = sorted([1] * len(started) + [e.round_no for e in events if type(e).__name__ == "RoundStarted"])
        if started:
            plan = Plan.from_record(records[-1])
            roomless = sum(
                max(0, len(plan.pairs_in_round(n)) - len(e.rooms))
                for e in events
                if type(e).__name__ in ("Started", "RoundStarted") and (n := e.round_no)
            )
            if roomless:
                outcome.roomless_dates += roomless
                outcome.roomless_events.append(wire_id)
        ended_rounds = sorted(e.round_no for e in events if type(e).__name__ == "RoundEnded")
        if wrong or rounds < 1 or started_rounds != list(range(1, rounds + 1)) or ended_rounds != started_rounds:
            outcome.problems.append(f"event {wire_id}: rounds={rounds} counts={dict(kinds)}")
        for e in events:
            kind = type(e).__name__
            if kind == "RoomsReserved":
                outcome.rooms_lag_ms.append((e.at - p.timings.confirmation_closes_at(p.start)).total_seconds() * 1e3)
                continue
            due = due_of(kind, e, p.start, p.timings, rounds)
            if due is not None:
                skew = (e.at - due).total_seconds() * 1e3
                outcome.skews_ms.append(skew)
                committed = watch.committed_at(notification_of[id(e)])
                if committed is None:
                    outcome.unwatched += 1
                else:
                    outcome.committed_ms.append((committed - due.timestamp()) * 1e3)
                    outcome.by_action[kind].append((committed - due.timestamp()) * 1e3)
    return outcome


def expected_message_ids(app: Any) -> set[str]:
    """The ids of every bot message the whole event log calls for, computed
    as the outbox relay does (same code, default extensions)."""
    from datemaker.app.outbox import OutboxRelay

    relay = OutboxRelay(app, publish=None, chunk=5000, states_kept=1_000_000)  # type: ignore[arg-type]
    found: set[str] = set()
    position = 0
    while True:
        last, messages = relay.read(position)
        if last == position:
            return found
        found.update(m.message_id for m in messages)
        position = last


# The deadline each bot command answers to (for the delivered skew).
def message_due(command: str, round_no: int, p: Planned, rounds: int) -> datetime | None:
    t, s = p.timings, p.start
    if command == "confirm_registration":
        return t.confirmation_opens_at(s)
    if command in ("send_user_will_take_part_in_event", "send_user_will_not_take_part_in_event"):
        return t.confirmation_closes_at(s)
    if command in ("send_rules", "send_ready_for_event_request"):
        return t.rules_at(s)
    if command in ("invite_to_meeting", "send_partner_profile", "send_sit_out_message"):
        return t.round_starts_at(s, round_no)
    if command in ("send_partner_rating_request", "send_break_message"):
        return t.round_ends_at(s, round_no)
    if command == "send_final_dating_message":  # carries round 0: due when the last round ends
        return t.round_ends_at(s, rounds)
    return None
