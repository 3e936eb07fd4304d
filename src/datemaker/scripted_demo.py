"""`datemaker demo`: one small dating event taken from scheduling to fixed
groups on the configured store (embedded SQLite by default), on a simulated
clock, then its recorded history printed as a moderator would read it."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from datemaker.adapters.event_store import open_dating_events
from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.errors import DomainError
from datemaker.domain.profile import Profile
from datemaker.settings import Settings

CITIES = ("Moscow", "Saint Petersburg", "Kazan")


class SimulatedClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def simulated_people(count: int, rng: random.Random, today: date) -> dict[int, Profile]:
    """Seeded profiles: men and women in turn, ages 18-40, three cities."""
    people = {}
    for n in range(count):
        people[1000 + n] = Profile(
            sex="MF"[n % 2],
            birthday=today - timedelta(days=int(365.25 * rng.uniform(18, 40))),
            city=rng.choice(CITIES),
            rating=round(rng.uniform(0, 5), 1),
            manual_score=rng.choice((1, 2, 2, 3)),
        )
    return people


def run_demo(settings: Settings, *, people: int, seed: int, echo: Callable[[str], None]) -> int:
    rng = random.Random(seed)
    clock = SimulatedClock(datetime.now(UTC).replace(microsecond=0))
    app = open_dating_events(settings, clock=clock, rng=random.Random(seed))
    try:
        start = clock.now + timedelta(days=2)
        wire_id = app.schedule_event(start=start, timezone=settings.display_timezone, users_limit=6)
        event = app.get_event(wire_id)
        crowd = simulated_people(people, rng, start.date())
        for user_id, profile in crowd.items():
            app.register(wire_id, user_id, profile)
        dropout = rng.choice(sorted(crowd))
        app.cancel_registration(wire_id, dropout)

        clock.now = event.timings.confirmation_opens_at(start)
        app.open_confirmation(wire_id)
        silent = set(rng.sample(sorted(set(crowd) - {dropout}), k=max(1, people // 8)))
        for user_id in sorted(set(crowd) - {dropout} - silent):
            clock.now += timedelta(minutes=rng.randint(1, 30))
            app.confirm_registration(wire_id, user_id)

        clock.now = event.timings.confirmation_closes_at(start)
        app.close_confirmation(wire_id, seed=seed)
        event = app.get_event(wire_id)
        for line in describe(event, app.history(wire_id)):
            echo(line)
        return wire_id
    except DomainError as exc:  # only a bug in the script itself gets here
        raise RuntimeError(f"demo script refused: {exc}") from exc
    finally:
        app.close()


def describe(event: DatingEvent, history: list[object]) -> list[str]:
    zone = ZoneInfo(event.timezone)
    lines = [f"event {event.wire_id}: {event.state.name}, starts {event.start.astimezone(zone):%Y-%m-%d %H:%M} {event.timezone}"]
    lines.append("history:")
    for recorded in history:
        at = getattr(recorded, "at", None)
        when = at.astimezone(zone).strftime("%m-%d %H:%M") if isinstance(at, datetime) else ""
        who = f" user {recorded.user_id}" if hasattr(recorded, "user_id") else ""
        lines.append(f"  v{recorded.originator_version:<3} {when:<11} {type(recorded).__name__}{who}")
    plan = event.planned
    if plan is not None:
        lines.append(f"plan: {len(plan.groups)} group(s), {plan.rounds_count} round(s)")
        for group in plan.groups:
            lines.append(f"  group {group.number}: {', '.join(map(str, group.user_ids))}")
            for planned_round in group.rounds:
                pairs = "  ".join(f"{p.a}+{p.b}" for p in planned_round.pairs)
                resting = ", ".join(str(s.user_id) for s in planned_round.sit_outs)
                lines.append(f"    round {planned_round.number}: {pairs}" + (f"  (sits out: {resting})" if resting else ""))
        for unplaced in plan.unplaced:
            lines.append(f"  no place: {unplaced.user_id} ({unplaced.reason})")
    return lines
