"""What a case's evening recorded, read from the event store afterwards:
every date of every event's plan, and whether its room was there when its
round started; cross-checked with the bot messages the log calls for."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from round_clock_parts.analysis import read_log


@dataclass
class Dates:
    dates: int = 0  # pairs in every round of every event's plan, as recorded
    on_time: int = 0  # of those, given a room when their round started
    rounds_not_started: int = 0  # rounds of a plan the log never started (should be 0)
    roomless_events: int = 0  # events with at least one date without a room
    problems: list[str] = field(default_factory=list)
    messages: Counter[str] = field(default_factory=Counter)  # invite / no_room: the bot's side

    @property
    def no_room(self) -> int:
        return self.dates - self.on_time

    @property
    def bot_agrees(self) -> bool:
        """Each pair with a room: two invitations; each without: two
        sit-out messages with reason no_room; nothing else."""
        return self.messages["invite_to_meeting"] == 2 * self.on_time and self.messages["no_room"] == 2 * self.no_room


def read_dates(app: Any, wire_ids: list[int]) -> Dates:
    from datemaker.domain.dating_event import DatingEvent
    from datemaker.domain.ids import event_uuid
    from datemaker.domain.pairing import Plan

    ours = {event_uuid(w): w for w in wire_ids}
    history: dict[int, list[Any]] = defaultdict(list)
    for _, recorded in read_log(app):
        wire_id = ours.get(recorded.originator_id)
        if wire_id is not None:
            history[wire_id].append(recorded)
    found = Dates()
    for wire_id in sorted(wire_ids):
        events = history[wire_id]
        # The plan that ran: Started's when it re-paired at the start, else the one fixed before.
        records = [e.plan for e in events if isinstance(e, (DatingEvent.GroupsFormed, DatingEvent.Started)) and e.plan]
        if not records:
            found.problems.append(f"event {wire_id}: no plan recorded")
            continue
        plan = Plan.from_record(records[-1])
        given = {e.round_no: len(e.rooms) for e in events
                 if isinstance(e, (DatingEvent.Started, DatingEvent.RoundStarted)) and e.round_no}
        roomless = 0
        for round_no in range(1, plan.rounds_count + 1):
            pairs = len(plan.pairs_in_round(round_no))
            found.dates += pairs
            if round_no not in given:
                found.rounds_not_started += 1
                roomless += pairs
                continue
            found.on_time += given[round_no]
            roomless += pairs - given[round_no]
        found.roomless_events += roomless > 0
    found.messages = bot_messages(app)
    return found


def bot_messages(app: Any) -> Counter[str]:
    """The round-start messages the whole log calls for, computed as the
    outbox relay does, with the bot knowing the sit-out message."""
    from datemaker.app.outbox import OutboxRelay

    relay = OutboxRelay(app, publish=None, extensions={"send_sit_out_message"}, chunk=5000,  # type: ignore[arg-type]
                        states_kept=1_000_000)
    counted: Counter[str] = Counter()
    position = 0
    while True:
        last, messages = relay.read(position)
        if last == position:
            return counted
        for m in messages:
            if m.command == "invite_to_meeting":
                counted["invite_to_meeting"] += 1
            elif m.command == "send_sit_out_message" and (m.data or {}).get("reason") == "no_room":
                counted["no_room"] += 1
        position = last
