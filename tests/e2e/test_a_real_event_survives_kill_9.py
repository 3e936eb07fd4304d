"""A real event with second-scale timings through `datemaker serve`, real
PostgreSQL and RabbitMQ, a bot that answers every prompt — and the same event
with the service killed (-9) at chosen instants, and with two instances."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from datemaker.domain.lifecycle import EventState
from datemaker.domain.timings import Timings

from ..support import service_process
from ..support.bot_harness import TestBot, run

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq]

PEOPLE = {1: "M", 2: "M", 11: "F", 12: "F"}
TIMINGS = Timings(
    confirm_before=10, confirm_deadline=5, rules_before=3, round_length=2,
    break_length=1, ready_grace=1, rating_deadline=2,
)


class Bot(TestBot):
    """Answers prompts as users would: confirm, say "here", like every partner."""

    def __init__(self, settings, wire_id):
        super().__init__(settings)
        self.wire_id = wire_id
        self.received: list[tuple[str, int, object, str]] = []  # (command, user, data, message_id)

    async def _on_reply(self, message) -> None:
        if not (message.message_id or "").startswith("dm:"):
            return  # a reply to one of our own commands
        user = int(message.headers["user_id"].decode() if isinstance(message.headers["user_id"], bytes) else message.headers["user_id"])
        body = message.body.decode()
        command, data = (body, None) if not body.startswith("{") else next(iter(json.loads(body).items()))
        self.received.append((command, user, data, message.message_id))
        answer = {
            "confirm_registration": ("confirm_registration", {}),
            "send_ready_for_event_request": ("ready_for_event", {}),
            "send_partner_rating_request": ("rate_partner", {"partner_id": data and data.get("partner_id"), "reaction": "like"}),
        }.get(command)
        if answer:
            name, extra = answer
            await self.send(name, user_id=user, chat_id=user, message_id=1, event_id=self.wire_id, **extra)

    def commands(self, user: int) -> list[str]:
        """What one user was told, duplicates (redeliveries) dropped."""
        seen, order = set(), []
        for command, uid, _, message_id in self.received:
            if uid == user and message_id not in seen:
                seen.add(message_id)
                order.append(command)
        return order


def told_the_end(app, wire_id, bot) -> bool:
    """Over, and everyone has had the last message (the outbox follows the
    history, after the analytics tables): what the checks then look at."""
    return (app.get_event(wire_id).state is EventState.FINISHED
            and all("send_match_message" in bot.commands(user) for user in PEOPLE))


def scenario(settings, app, kill_at: list[float] = (), instances: int = 1, restart: bool = True,
             timings: Timings = TIMINGS, lead: float = 12.5, **service):
    """The event run by the service(s), starting `lead` seconds from now
    (the services start meanwhile: about two seconds, before confirmation
    opens 10 s before the start); `service`: more of live_event's options."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=lead)
    wire_id = app.schedule_event(start=start, timezone="Europe/Moscow", timings=timings, users_limit=4)
    for uid in PEOPLE:
        app.register(wire_id, uid, app.profiles([uid])[uid])
    finish_by = timings.ratings_lock_at(start, 2) + timedelta(seconds=15)
    killed = []

    async def main() -> Bot:
        bot = Bot(settings, wire_id)
        await bot.start()
        try:
            killed.extend(await service_process.live_event(
                settings, start, finished=lambda: told_the_end(app, wire_id, bot),
                finish_by=finish_by, kill_at=kill_at, instances=instances, restart=restart, **service,
            ))
            return bot
        finally:
            await bot.close()

    result: list[Bot] = []

    async def collect() -> None:
        result.append(await main())

    run(collect)
    return wire_id, result[0], killed


def check_the_outcome(app, wire_id, bot):
    event = app.get_event(wire_id)
    assert event.state is EventState.FINISHED
    plan = event.planned
    assert plan.rounds_count == 2
    assert event.matches == sorted([min(p.a, p.b), max(p.a, p.b)] for n in (1, 2) for p in plan.pairs_in_round(n))
    kinds = [type(e).__name__ for e in app.history(wire_id)]
    for once in ("ConfirmationOpened", "GroupsFormed", "RulesAnnounced", "Started", "Finished"):
        assert kinds.count(once) == 1, once
    assert kinds.count("RoundEnded") == 2 and kinds.count("RoundStarted") == 1
    expected = ["confirm_registration", "send_user_will_take_part_in_event", "send_rules", "send_ready_for_event_request",
                "invite_to_meeting", "send_partner_profile", "send_partner_rating_request", "send_break_message",
                "invite_to_meeting", "send_partner_profile", "send_partner_rating_request", "send_final_dating_message",
                "send_match_message"]
    for user in PEOPLE:
        assert bot.commands(user) == expected, user
    # The same logical message always carries the same id and the same body.
    bodies: dict[str, object] = {}
    for command, user, data, message_id in bot.received:
        assert bodies.setdefault(message_id, (command, user, data)) == (command, user, data)


def lateness(app, wire_id) -> dict[str, float]:
    """Seconds each round's start and end was recorded after its time."""
    event = app.get_event(wire_id)
    scheduled = {}
    for n in range(1, event.planned.rounds_count + 1):
        scheduled[f"RoundStarted {n}"] = event.timings.round_starts_at(event.start, n)
        scheduled[f"RoundEnded {n}"] = event.timings.round_ends_at(event.start, n)
    recorded = {}
    for e in app.history(wire_id):
        kind = type(e).__name__
        if kind == "Started":  # the event's start begins round 1
            recorded["RoundStarted 1"] = e.at
        elif kind in ("RoundStarted", "RoundEnded"):
            recorded[f"{kind} {e.round_no}"] = e.at
    return {step: round((recorded[step] - at).total_seconds(), 2) for step, at in scheduled.items()}


def test_a_real_event_runs_itself_end_to_end(env):
    settings, app, _ = env
    wire_id, bot, _ = scenario(settings, app)
    check_the_outcome(app, wire_id, bot)
    invite = next(d for c, u, d, _ in bot.received if c == "invite_to_meeting" and u == 1)
    assert invite["round"] == 1 and invite["url"].startswith("https://meet.google.com/")


@pytest.mark.parametrize(
    "kill_at",
    [[-8.0], [-5.0], [-2.9], [1.05], [1.9], [3.5], [-5.0, 1.05, 4.2]],
    ids=["during-confirmation", "at-the-deadline", "at-the-rules", "during-fan-out", "mid-round",
         "during-the-break", "three-times"],
)
def test_kill_9_at_any_instant_ends_with_the_same_outcome(env, kill_at):
    settings, app, _ = env
    wire_id, bot, killed = scenario(settings, app, kill_at=kill_at)
    assert killed == kill_at
    check_the_outcome(app, wire_id, bot)


def test_two_instances_one_killed_mid_event(env):
    settings, app, _ = env
    wire_id, bot, _ = scenario(settings, app, kill_at=[1.5], instances=2, restart=False)
    check_the_outcome(app, wire_id, bot)


def test_a_service_restarted_after_kill_9_fires_at_once_what_its_dead_predecessor_had_leased(env):
    """With the default 30 s leases: killed half a second before round 1 ends,
    when the clock (a second ahead) has leased that deadline; the service
    started again fires it as soon as it runs, not when the lease runs out."""
    settings, app, _ = env
    wire_id, bot, killed = scenario(settings, app, kill_at=[2.5], lease_seconds=30.0, lead=12.0)
    assert killed == [2.5]
    check_the_outcome(app, wire_id, bot)
    late = lateness(app, wire_id)
    assert late["RoundEnded 1"] < 5.0, late  # the time to start a service, not the lease's 30 s
