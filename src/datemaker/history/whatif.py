"""`datemaker whatif`: an event that is over, planned again under other
settings from what its history recorded, writing nothing.

The inputs are the ones the pairing had then: who was confirmed when
confirmation closed, with their profiles as recorded at registration; the
pairs each recorded plan kept apart ("never again") and the seed it was made
with; who left while the plan stood (each `Replanned` before the start);
who was there at the start; and who left while the rounds ran
(`ParticipantLeft`). The what-if takes the steps the event took, in order
(the plan at the close, each re-plan in READY, the re-pairing of the present
at the start, each re-pairing from the round someone left on), each with the seed and the kept-apart pairs recorded
for that step, so with the event's own settings it gives back exactly the
plan that ran. Nothing is asked of the store but the event's history."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from datemaker.app.dating_events import DatingEvents
from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.lifecycle import EventState
from datemaker.domain.pairing import Plan, Unplaced, midway, plan_event, replan
from datemaker.domain.profile import Profile

PLANNED_AT_CLOSE = ("GroupsFormed", "Skipped")


class NotReplayable(ValueError):
    """The event is not over yet, or was never planned: nothing to plan again."""


@dataclass(frozen=True)
class Options:
    """What to change; None keeps the event's own value."""

    users_limit: int | None = None
    round_length: int | None = None  # seconds
    break_length: int | None = None  # seconds
    rounds_max: int | None = None  # keep at most this many rounds (the planner has no cap)
    ready_check: bool | None = None

    def __post_init__(self) -> None:
        if self.users_limit is not None and self.users_limit < 2:
            raise ValueError("users_limit must be at least 2 (one pair)")
        if self.round_length is not None and self.round_length <= 0:
            raise ValueError("a round must be longer than 0 seconds")
        if self.break_length is not None and self.break_length < 0:
            raise ValueError("a break cannot be shorter than 0 seconds")
        if self.rounds_max is not None and self.rounds_max < 1:
            raise ValueError("rounds_max must be at least 1")


@dataclass(frozen=True)
class Setting:
    """The settings one side was planned and timed under."""

    users_limit: int
    round_length: int
    break_length: int
    ready_check: bool
    rounds_max: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "users_limit": self.users_limit,
            "round_seconds": self.round_length,
            "break_seconds": self.break_length,
            "ready_check": self.ready_check,
            "rounds_max": self.rounds_max,
        }


@dataclass(frozen=True)
class Removal:
    """A re-plan while the plan stood: who left and why, who was still
    registered right after, and the plan recorded with it (seed, kept apart)."""

    removed: frozenset[int]
    reason: str
    registered: frozenset[int]
    plan: Plan


@dataclass(frozen=True)
class Start:
    registered: frozenset[int]  # still registered when the event started
    asked: frozenset[int]  # had a place then: the ready check, if any, was theirs to answer
    present: frozenset[int]  # of those, who was there (not a no-show)
    plan: Plan | None  # the re-pairing recorded at the start; None: nobody was missing


@dataclass(frozen=True)
class Leave:
    """Someone taken out while the rounds ran (`ParticipantLeft`): from which
    round on, with the seed and kept-apart pairs its re-pairing recorded."""

    user_id: int
    from_round: int
    plan: Plan


@dataclass(frozen=True)
class Recorded:
    """The planning's inputs as the history holds them."""

    event: DatingEvent  # the state after the last change
    confirmed: Mapping[int, Profile]  # confirmed when confirmation closed, profiles as recorded
    first: Plan  # fixed when confirmation closed
    removals: tuple[Removal, ...]  # re-plans before the start, in order
    start: Start | None  # None: the event never started
    later_replans: int  # re-plans recorded after the start (not replayed)
    leaves: tuple[Leave, ...] = ()  # who left while the rounds ran, in order


@dataclass(frozen=True)
class Presence:
    ready_check: bool
    present: tuple[int, ...]  # placed by the what-if and counted as there at the start
    absent: tuple[int, ...]  # placed by the what-if, not there: no-shows
    assumed: tuple[int, ...]  # counted as there although never asked (they had no place then)


@dataclass(frozen=True)
class WhatIf:
    event: DatingEvent
    then: Setting
    now: Setting
    ran: Plan  # the plan that ran, as last recorded
    plan: Plan  # the what-if's plan, after the rounds cap
    rounds_planned: int  # the what-if's rounds before the cap
    presence: Presence | None  # None: the event never started, so nobody's presence is known
    later_replans: int


def read_recorded(recorded: Iterable[Any]) -> Recorded:
    """Fold the event's domain events (oldest first) through the aggregate,
    keeping what each planning step saw. Raises NotReplayable."""
    state: DatingEvent | None = None
    confirmed: dict[int, Profile] = {}
    first: Plan | None = None
    removals: list[Removal] = []
    start: Start | None = None
    later = 0
    leaves: list[Leave] = []
    before_start: tuple[Plan | None, frozenset[int]] = (None, frozenset())
    for domain_event in recorded:
        kind = type(domain_event).__name__
        if kind in PLANNED_AT_CLOSE and first is None and state is not None:
            confirmed = {uid: state.profile_of(uid) for uid in state.confirmed_user_ids}
        if kind == "Started" and state is not None:
            before_start = (state.planned, registered(state))
        state = domain_event.mutate(state)
        assert isinstance(state, DatingEvent)
        if kind in PLANNED_AT_CLOSE and first is None:
            first = state.planned
        elif kind == "Replanned" and start is None:
            removed = frozenset(int(uid) for uid in getattr(domain_event, "removed", ()))
            reason = str(getattr(domain_event, "reason", ""))
            removals.append(Removal(removed, reason, registered(state), Plan.from_record(domain_event.plan)))
        elif kind == "Replanned":
            later += 1
        elif kind == "ParticipantLeft" and getattr(domain_event, "plan", None) is not None:
            leaves.append(Leave(int(domain_event.user_id), int(domain_event.from_round),
                                Plan.from_record(domain_event.plan)))
        elif kind == "Started":
            plan_before, still = before_start
            asked = plan_before.placed_user_ids if plan_before else frozenset()
            no_shows = {int(uid) for uid in getattr(domain_event, "no_shows", ())}
            new = getattr(domain_event, "plan", None)
            start = Start(still, asked, frozenset(asked & still) - no_shows, Plan.from_record(new) if new else None)
    if state is None:
        raise NotReplayable("the event recorded nothing")
    if not state.state.is_over:
        raise NotReplayable(f"event {state.wire_id} is not over ({state.state.name}): "
                            "only an event that is over is planned again")
    if first is None or state.planned is None:
        raise NotReplayable(f"event {state.wire_id} was never planned ({state.state.name} before confirmation closed)")
    erased = sorted(int(uid) for uid, profile in confirmed.items() if profile.erased)
    if erased:
        raise NotReplayable(f"event {state.wire_id} cannot be planned again: {len(erased)} of its people were erased"
                            " (README, Privacy), and pairing needs the profiles they had")
    return Recorded(state, confirmed, first, tuple(removals), start, later, tuple(leaves))


def registered(state: DatingEvent) -> frozenset[int]:
    return frozenset(int(uid) for uid in state.registrations)


def settings_then(recorded: Recorded) -> Setting:
    timings = recorded.event.timings
    return Setting(recorded.first.users_limit, timings.round_length, timings.break_length, recorded.event.ready_check)


def settings_now(then: Setting, options: Options) -> Setting:
    def pick(given: Any, own: Any) -> Any:
        return own if given is None else given

    return Setting(
        users_limit=pick(options.users_limit, then.users_limit),
        round_length=pick(options.round_length, then.round_length),
        break_length=pick(options.break_length, then.break_length),
        ready_check=pick(options.ready_check, then.ready_check),
        rounds_max=options.rounds_max,
    )


def plan_again(recorded: Recorded, now: Setting) -> tuple[Plan, Presence | None]:
    """The plan the event would have run under `now` (before any rounds cap),
    and who counted as present at its start."""
    first, people = recorded.first, recorded.confirmed
    plan = plan_event(
        people, now.users_limit, reference_date=first.reference_date, forbidden=dict(first.kept_apart), seed=first.seed
    )
    for removal in recorded.removals:
        plan = after_removal(plan, removal, people)
    if recorded.start is None:
        return plan, None
    plan, presence = at_the_start(plan, recorded.start, now.ready_check, people)
    gone: set[int] = set()
    for leave in recorded.leaves:
        plan = while_running(plan, leave, gone, people)
        gone.add(leave.user_id)
    return plan, presence


def while_running(plan: Plan, leave: Leave, gone: set[int], people: Mapping[int, Profile]) -> Plan:
    """As the aggregate does it: the leaver's group re-paired from the same
    round on, the others untouched; nothing when they have no place here."""
    group = plan.group_of(leave.user_id)
    if group is None:
        return plan
    staying = [uid for uid in group.user_ids if uid != leave.user_id and uid not in gone]
    return midway.without(plan, leave.user_id, staying, leave.from_round, forbidden=dict(leave.plan.kept_apart),
                          seed=leave.plan.seed, participants=people)


def after_removal(plan: Plan, removal: Removal, people: Mapping[int, Profile]) -> Plan:
    """As the aggregate does it: only when someone who leaves has a place,
    the rest still registered are planned afresh, and those who left are
    named with the reason they left."""
    if not removal.removed & plan.placed_user_ids:
        return plan
    staying = sorted(uid for uid in plan.placed_user_ids if uid in removal.registered and uid not in removal.removed)
    fresh = replan(plan, staying, from_round=1, forbidden=dict(removal.plan.kept_apart), seed=removal.plan.seed,
                   participants=people)
    unplaced = tuple(Unplaced(u.user_id, removal.reason) if u.user_id in removal.removed else u for u in fresh.unplaced)
    return replace(fresh, unplaced=unplaced)


def at_the_start(plan: Plan, start: Start, ready_check: bool, people: Mapping[int, Profile]) -> tuple[Plan, Presence]:
    """Who is there: with the ready check, those who were there then; someone
    the what-if places who had no place then was never asked, and counts as
    there. Without it, everyone still registered. The present are re-paired
    (with the seed recorded at the start) unless everyone placed is there."""
    placed = sorted(uid for uid in plan.placed_user_ids if uid in start.registered)
    if ready_check:
        present = [uid for uid in placed if uid in start.present or uid not in start.asked]
    else:
        present = placed
    assumed = tuple(uid for uid in present if uid not in start.asked) if ready_check else ()
    presence = Presence(ready_check, tuple(present), tuple(sorted(plan.placed_user_ids - set(present))), assumed)
    if set(present) == plan.placed_user_ids:
        return plan, presence
    recorded = start.plan
    fresh = replan(
        plan,
        present,
        from_round=1,
        forbidden=dict(recorded.kept_apart) if recorded else (),
        seed=recorded.seed if recorded else plan.seed,
        participants=people,
    )
    return fresh, presence


def capped(plan: Plan, rounds_max: int | None) -> Plan:
    """The first `rounds_max` rounds of each group (the planner itself has no
    cap; the best dates come first, so the cut keeps those)."""
    if rounds_max is None or plan.rounds_count <= rounds_max:
        return plan
    groups = tuple(replace(g, rounds=tuple(r for r in g.rounds if r.number <= rounds_max)) for g in plan.groups)
    return replace(plan, groups=groups)


def compare(recorded: Recorded, options: Options) -> WhatIf:
    then = settings_then(recorded)
    now = settings_now(then, options)
    plan, presence = plan_again(recorded, now)
    ran = recorded.event.planned
    assert ran is not None  # read_recorded refuses an event never planned
    return WhatIf(recorded.event, then, now, ran, capped(plan, now.rounds_max), plan.rounds_count, presence,
                  recorded.later_replans)


def what_if(app: DatingEvents, wire_id: int, options: Options) -> WhatIf:
    """Raises UnknownEvent for an unknown id, NotReplayable for an event not
    over or never planned. Reads the history only."""
    return compare(read_recorded(app.history(wire_id)), options)


def finished_since(app: DatingEvents, since: datetime | None) -> list[int]:
    """FINISHED events starting at or after `since` (all when None), by start."""
    catalog = app.catalog()
    if catalog is None:
        return []
    found = []
    for start, wire_id in catalog.by_start():
        if since is not None and start < since:
            continue
        if app.get_event(wire_id).state is EventState.FINISHED:
            found.append(wire_id)
    return found
