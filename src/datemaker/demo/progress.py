"""The demo's progress lines and closing summary, read from the event log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from datemaker.domain.dating_event import DatingEvent


def progress_line(recorded: Any, event: DatingEvent) -> str | None:
    kind = type(recorded).__name__
    plan = event.planned
    if kind == "Scheduled":
        return f"event {event.wire_id} scheduled"
    if kind == "ConfirmationOpened":
        return f"confirmation open: {len(event.registered_user_ids)} registered people asked to confirm"
    if kind == "GroupsFormed" and plan:
        return (f"groups fixed: {len(plan.placed_user_ids)} placed in {len(plan.groups)} group(s), "
                f"{plan.rounds_count} rounds, {len(plan.unplaced)} without a place")
    if kind == "Skipped":
        return "skipped: too few confirmed people for one pair"
    if kind == "RoomsReserved":
        return f"rooms made for round {recorded.round_no}: {len(recorded.rooms)}"
    if kind == "RulesAnnounced":
        return "rules sent; asking who is here"
    if kind in ("Started", "RoundStarted") and plan and event.round_no:
        dates = len(plan.pairs_in_round(event.round_no))
        resting = len(plan.sit_outs(event.round_no))
        noshow = f", no-shows: {len(event.no_shows)}" if kind == "Started" else ""
        return f"round {event.round_no}: {dates} dates, {resting} sitting out{noshow}"
    if kind == "RoundEnded":
        return f"round {recorded.round_no} ended" + ("; ratings open until the deadline" if recorded.phase == "final" else "; break")
    if kind == "Finished":
        return f"finished: {len(event.matches)} match(es)"
    return None


def summary(event: DatingEvent, echo: Callable[[str], None]) -> None:
    plan = event.planned
    echo("")
    echo(f"event {event.wire_id}: {event.state.name}")
    if plan is None:
        return
    for group in plan.groups:
        echo(f"  group {group.number}: {len(group.user_ids)} people")
        for planned in group.rounds:
            pairs = "  ".join(f"{p.a}+{p.b}" for p in planned.pairs)
            resting = ", ".join(str(s.user_id) for s in planned.sit_outs)
            echo(f"    round {planned.number}: {pairs}" + (f"  | sits out: {resting}" if resting else ""))
    for unplaced in plan.unplaced:
        echo(f"  no place: {unplaced.user_id} ({unplaced.reason})")
    reactions = sum(len(given) for given in event.ratings.values())
    echo(f"  no-shows: {len(event.no_shows)}, ratings: {reactions}, reports: {len(event.reports)}")
    echo(f"  matches: {', '.join(f'{a}+{b}' for a, b in event.matches) or 'none'}")
    echo(f"look at it: datemaker history {event.wire_id}")
