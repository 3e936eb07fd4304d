"""A whole event with the platform's bot exactly as PLATFORM.md says it
behaves: list/register/confirm over RabbitMQ; "I am ready" and reactions as
its own SQL statements on the platform tables; and its own SELECTs the
moment it receives `confirm_registration` and `send_match_message`, each of
which must find its row. With the ready check on and off, with a kill -9 of
the service right after the presses, and with two instances."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from datemaker.domain.lifecycle import EventState
from datemaker.domain.timings import Timings

from ..support import service_process
from ..support.bot_harness import TestBot, run

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq]

PEOPLE = [1, 2, 11, 12]  # two women, two men (tests/conftest.py `env`)
TIMINGS = Timings(
    confirm_before=7, confirm_deadline=5, rules_before=3, round_length=2,
    break_length=1, ready_grace=1, rating_deadline=2,
)
CONFIRM_SCREEN = (
    "SELECT DISTINCT e.id, e.start_dttm AT TIME ZONE 'Europe/Moscow' AS start_dttm,"
    " (r.user_id IS NOT NULL) AS registered, users_limit FROM public.dating_events e"
    " LEFT JOIN (SELECT * FROM public.dating_registrations WHERE user_id = %s) r ON e.id = r.event_id"
    " WHERE start_dttm > NOW() ORDER BY start_dttm ASC LIMIT 10"
)
MATCHES = ("SELECT user_1_id, user_2_id, username, name FROM public.matches INNER JOIN public.users"
           " ON users.id = matches.user_2_id WHERE user_1_id = %s AND event_id = %s")


class PlatformBot(TestBot):
    def __init__(self, settings, wire_id: int) -> None:
        super().__init__(settings)
        self.wire_id = wire_id
        self.screens: list[tuple[int, bool]] = []  # (user, the confirmation screen found its event)
        self.matches_seen: dict[int, int] = {}  # user -> rows the match screen found
        self.pressed: list[tuple[str, int, int]] = []

    def sql(self, statement: str, *params: object) -> list[tuple]:
        s = self.settings
        with psycopg.connect(host=s.postgres_host, port=s.postgres_port, dbname=s.postgres_db, user=s.postgres_user,
                             autocommit=True) as conn:
            cur = conn.execute(statement, params)
            return cur.fetchall() if cur.description else []

    async def _on_reply(self, message) -> None:
        if not (message.message_id or "").startswith("dm:"):
            await super()._on_reply(message)  # a reply to one of our commands
            return
        raw = message.headers["user_id"]
        user = int(raw.decode() if isinstance(raw, bytes) else raw)
        body = message.body.decode()
        command, data = (body, None) if not body.startswith("{") else next(iter(json.loads(body).items()))
        if command == "confirm_registration":
            found = await asyncio.to_thread(self.sql, CONFIRM_SCREEN, user)
            self.screens.append((user, any(row[0] == self.wire_id for row in found)))
            await self.send("confirm_registration", user_id=user, chat_id=user, message_id=1, event_id=self.wire_id)
        elif command == "send_ready_for_event_request":
            self.pressed.append(("ready", user, 0))
            await asyncio.to_thread(self.sql, "UPDATE public.dating_registrations SET is_ready = TRUE"
                                    " WHERE user_id = %s AND event_id = %s", user, self.wire_id)
        elif command == "send_partner_rating_request":
            partner = int(data["partner_id"])
            self.pressed.append(("like", user, partner))
            await asyncio.to_thread(self.sql, "INSERT INTO public.likes (source_user_id, target_user_id, event_id)"
                                    " VALUES (%s, %s, %s)", user, partner, self.wire_id)
        elif command == "send_match_message":
            self.matches_seen[user] = len(await asyncio.to_thread(self.sql, MATCHES, user, self.wire_id))


def scenario(settings, app, *, ready_check: bool, kill_at: float | None = None, instances: int = 1):
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=12)
    wire_id = app.schedule_event(start=start, timezone="Europe/Moscow", timings=TIMINGS, users_limit=4,
                                 ready_check=ready_check)
    finish_by = TIMINGS.ratings_lock_at(start, 2) + timedelta(seconds=15)

    async def main() -> PlatformBot:
        bot = PlatformBot(settings, wire_id)
        await bot.start()

        async def register() -> None:  # over RabbitMQ, as the bot does it
            for uid in PEOPLE:
                assert await bot.command("register_event", uid, event_id=wire_id) == {"user_registered": True}

        try:
            await service_process.live_event(
                settings, start, finished=lambda: app.get_event(wire_id).state is EventState.FINISHED,
                finish_by=finish_by, kill_at=[] if kill_at is None else [kill_at], instances=instances, first=register,
            )
            return bot
        finally:
            await bot.close()

    result: list[PlatformBot] = []

    async def collect() -> None:
        result.append(await main())

    run(collect)
    return wire_id, result[0]


def check_the_outcome(settings, app, wire_id: int, bot: PlatformBot, ready_check: bool) -> None:
    event = app.get_event(wire_id)
    assert event.state is EventState.FINISHED and event.no_shows == []
    plan = event.planned
    assert event.matches == sorted([min(p.a, p.b), max(p.a, p.b)] for n in (1, 2) for p in plan.pairs_in_round(n))
    kinds = [type(e).__name__ for e in app.history(wire_id)]
    assert kinds.count("MarkedReady") == (len(PEOPLE) if ready_check else 0)
    assert kinds.count("PartnerRated") == 2 * len(event.matches)  # each press once
    assert sorted(user for user, _ in bot.screens) == PEOPLE and all(found for _, found in bot.screens)
    assert bot.matches_seen == {uid: 2 for uid in PEOPLE}  # each screen found both matches
    rows = bot.sql("SELECT user_1_id, user_2_id FROM public.matches WHERE event_id = %s", wire_id)
    assert sorted(rows) == sorted([(a, b) for a, b in event.matches] + [(b, a) for a, b in event.matches])
    assert bot.sql("SELECT count(*) FROM datemaker.platform_inbox") == [(0,)]
    assert bot.sql("SELECT state_id FROM public.dating_events WHERE id = %s", wire_id) == [(4,)]


@pytest.mark.parametrize("ready_check", [True, False], ids=["ready-check", "no-ready-check"])
def test_the_platform_bot_runs_a_whole_event(env, ready_check):
    settings, app, _ = env
    wire_id, bot = scenario(settings, app, ready_check=ready_check)
    check_the_outcome(settings, app, wire_id, bot, ready_check)


def test_a_kill_9_right_after_the_presses_loses_none_of_them(env):
    settings, app, _ = env
    # Round 1 ends 3 s after the start (1 s grace, 2 s round): the likes come in then.
    wire_id, bot = scenario(settings, app, ready_check=True, kill_at=3.15)
    check_the_outcome(settings, app, wire_id, bot, ready_check=True)


def test_two_instances_take_every_press_once(env):
    settings, app, _ = env
    wire_id, bot = scenario(settings, app, ready_check=True, instances=2)
    check_the_outcome(settings, app, wire_id, bot, ready_check=True)
