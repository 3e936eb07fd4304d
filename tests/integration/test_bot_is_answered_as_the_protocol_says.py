"""datemaker answers the bot over real RabbitMQ and PostgreSQL exactly as
PROTOCOL.md says, and never loses or double-applies a message."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest

from datemaker.adapters.rabbitmq.consumer import BotConsumer
from datemaker.app.bot_commands import BotCommandHandler
from datemaker.app.ports import StoreUnavailable

from ..support.bot_harness import START, WAIT, TestBot, run, running_service
from ..support.postgres import admin_connection

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq]


def with_bot(settings, app, scenario, **consumer_options):
    async def main() -> None:
        bot = TestBot(settings)
        await bot.start()
        try:
            async with running_service(settings, app, **consumer_options):
                await scenario(bot)
        finally:
            await bot.close()

    run(main)


def test_list_events_shows_open_events_soonest_first_in_display_time(env):
    settings, app, _ = env
    later = app.schedule_event(start=START + timedelta(days=1), timezone="Europe/Moscow", users_limit=10)
    sooner = app.schedule_event(start=START, timezone="Asia/Tokyo", capacity=5)
    over = app.schedule_event(start=START, timezone="Europe/Moscow")
    app.cancel_event(over)

    async def scenario(bot: TestBot) -> None:
        listing = await bot.command("list_events", 1)
        assert [list(item) for item in listing] == [[str(sooner)], [str(later)]]
        first = listing[0][str(sooner)]
        assert first["start_time"] == "2026-12-04 15:00:00"  # Europe/Moscow, the display zone
        assert (first["users_limit"], first["places_left"], first["registered"]) == (20, 5, False)
        assert listing[1][str(later)]["users_limit"] == 10

    with_bot(settings, app, scenario)


def test_registration_replies_true_then_false_with_the_reason(env):
    settings, app, _ = env
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow", capacity=2)

    async def scenario(bot: TestBot) -> None:
        assert await bot.command("register_event", 1, event_id=wire_id) == {"user_registered": True}
        assert await bot.command("register_event", 1, event_id=wire_id) == {"user_registered": False, "reason": "already_registered"}
        assert await bot.command("register_event", 2, event_id=wire_id) == {"user_registered": True}
        assert await bot.command("register_event", 3, event_id=wire_id) == {"user_registered": False, "reason": "event_full"}
        assert await bot.command("register_event", 3, event_id=999) == {"user_registered": False, "reason": "unknown_event"}

    with_bot(settings, app, scenario)
    event = app.get_event(wire_id)
    assert event.registered_user_ids == [1, 2]
    assert event.profile_of(1).city == "Moscow" and event.profile_of(1).sex == "F"  # user 1 is F


def test_a_reply_goes_to_the_bot_with_the_requests_headers(env):
    settings, app, _ = env
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")

    async def scenario(bot: TestBot) -> None:
        await bot.send("register_event", user_id=4, chat_id=4, message_id=77, event_id=wire_id)
        reply = await bot.reply()
        assert reply.headers == {"user_id": "4", "chat_id": "4", "message_id": "77", "event_id": str(wire_id)}
        assert reply.message_id  # stable id for the bot to drop duplicates
        assert reply.content_type == "application/json" and reply.persistent

    with_bot(settings, app, scenario)


def test_confirmation_cancellation_and_cancel_everything(env):
    settings, app, _ = env
    first = app.schedule_event(start=START, timezone="Europe/Moscow")
    second = app.schedule_event(start=START + timedelta(days=1), timezone="Europe/Moscow")

    async def scenario(bot: TestBot) -> None:
        await bot.command("register_event", 5, event_id=first)
        await bot.command("register_event", 5, event_id=second)
        assert await bot.command("confirm_registration", 5, event_id=first) == {"registration_confirmed": False, "reason": "confirmation_closed"}
        app.open_confirmation(first)
        assert await bot.command("confirm_registration", 5, event_id=first) == {"registration_confirmed": True}
        assert await bot.command("confirm_registration", 6, event_id=first) == {"registration_confirmed": False, "reason": "not_registered"}
        assert await bot.command("cancel_registration", 5, event_id=first) == {"registration_cancelled": True}
        await bot.command("register_event", 5, event_id=first)
        assert await bot.command("cancel_registration", 5, event_id=0) == {"registration_cancelled": True}
        assert await bot.command("cancel_registration", 5, event_id=0) == {"registration_cancelled": False, "reason": "not_registered"}

    with_bot(settings, app, scenario)
    assert app.get_event(first).registered_user_ids == [] == app.get_event(second).registered_user_ids


def test_ready_check_and_rating_a_partner(env):
    settings, app, clock = env
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")
    for uid in (1, 2):
        app.register(wire_id, uid, app.profiles([uid])[uid])
    app.open_confirmation(wire_id)
    for uid in (1, 2):
        app.confirm_registration(wire_id, uid)
    app.close_confirmation(wire_id, seed=1)

    async def scenario(bot: TestBot) -> None:
        assert await bot.command("ready_for_event", 1, event_id=wire_id) == {"ready_confirmed": True}
        assert await bot.command("ready_for_event", 3, event_id=wire_id) == {"ready_confirmed": False, "reason": "not_participant"}
        await bot.command("ready_for_event", 2, event_id=wire_id)
        clock.now = START
        app.change(wire_id, lambda e: e.begin(clock.now, seed=1))
        clock.now = app.get_event(wire_id).timings.round_starts_at(START, 1) + timedelta(seconds=5)
        assert await bot.command("rate_partner", 1, event_id=wire_id, partner_id=2, reaction="like") == {"partner_rated": True}
        assert await bot.command("rate_partner", 1, event_id=wire_id, partner_id=4, reaction="like") == {"partner_rated": False, "reason": "not_your_partner"}
        assert await bot.command("rate_partner", 2, event_id=wire_id, partner_id=1, reaction="report",
                                 category="fake_profile") == {"partner_rated": True}
        assert await bot.command("rate_partner", 2, event_id=wire_id, partner_id=1, reaction="report") == {
            "partner_rated": False, "reason": "already_reported"}
        clock.now = app.get_event(wire_id).ratings_lock_at() + timedelta(seconds=1)
        assert await bot.command("rate_partner", 2, event_id=wire_id, partner_id=1, reaction="like") == {"partner_rated": False, "reason": "rating_closed"}

    with_bot(settings, app, scenario)
    rated = app.get_event(wire_id)
    assert rated.reaction(1, 2) == "like" and rated.reports == [[2, 1]]
    assert dict(rated.report_categories) == {"2-1": "fake_profile"}


def test_a_duplicate_delivery_changes_state_once_and_gets_the_same_reply(env):
    settings, app, _ = env
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")

    async def scenario(bot: TestBot) -> None:
        for _ in range(2):
            await bot.send("register_event", amqp_message_id="bot-msg-1", user_id=7, chat_id=7, event_id=wire_id)
        first, second = await bot.reply(), await bot.reply()
        assert first.body == second.body == {"user_registered": True}
        assert first.message_id == second.message_id

    with_bot(settings, app, scenario)
    assert app.get_event(wire_id).version == 2  # Scheduled, Registered: once


def test_the_same_amqp_message_id_from_two_users_or_for_two_commands_is_two_commands(env):
    settings, app, _ = env
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")

    async def scenario(bot: TestBot) -> None:
        replies = []
        for user, command in ((5, "register_event"), (6, "register_event"), (5, "cancel_registration")):
            await bot.send(command, amqp_message_id="1", user_id=user, chat_id=user, event_id=wire_id)
            replies.append((await bot.reply()).body)
        assert replies == [{"user_registered": True}, {"user_registered": True}, {"registration_cancelled": True}]

    with_bot(settings, app, scenario)
    event = app.get_event(wire_id)
    assert event.is_registered(6) and not event.is_registered(5)


BAD_INPUTS = [
    (b"launch_rockets", {"user_id": 1, "chat_id": 1}, "unknown command"),
    (b"register_event", {"chat_id": 1, "event_id": 1}, "missing header: user_id"),
    (b"register_event", {"user_id": "one", "chat_id": 1, "event_id": 1}, "header user_id is not an integer"),
    (b"register_event", {"user_id": 1, "chat_id": 1}, "missing header: event_id"),
    (b"register_event", {"user_id": 1, "chat_id": 1, "event_id": 0}, "header event_id must be a positive integer"),
    (b"\xff\xfeoops", {"user_id": 1, "chat_id": 1}, "body is not UTF-8"),
    (b"x" * (64 * 1024 + 1), {"user_id": 1, "chat_id": 1}, "body is too large"),
    (b"register_event", {"user_id": 555, "chat_id": 555, "event_id": 1}, "unknown user"),
    (b"rate_partner", {"user_id": 1, "chat_id": 1, "event_id": 1, "partner_id": 2, "reaction": "meh"},
     "header reaction must be like, dislike or report"),
    (b"rate_partner", {"user_id": 1, "chat_id": 1, "event_id": 1, "partner_id": 2, "reaction": "report",
                       "category": "rude"},
     "header category must be harassment, no_show, fake_profile, inappropriate or other, with a report"),
]


@pytest.mark.parametrize(("body", "headers", "phrase"), BAD_INPUTS, ids=[p for _, _, p in BAD_INPUTS])
def test_bad_input_is_answered_dead_lettered_and_the_next_message_is_served(env, body, headers, phrase):
    settings, app, _ = env
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")

    async def scenario(bot: TestBot) -> None:
        await bot.send(body, **headers)
        reply = await bot.reply()
        assert reply.body == {"success": False, "error": phrase}
        assert await bot.command("register_event", 2, event_id=wire_id) == {"user_registered": True}
        dead = await bot.dead_letters(expect=1)
        assert [m.body for m in dead] == [body]
        assert dead[0].headers["x-datemaker-error"] == phrase

    with_bot(settings, app, scenario)


def test_bad_input_without_a_usable_chat_id_is_dead_lettered_without_a_reply(env):
    settings, app, _ = env
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")

    async def scenario(bot: TestBot) -> None:
        await bot.send("register_event", user_id=1, chat_id="nope", event_id=wire_id)
        assert await bot.command("register_event", 2, event_id=wire_id) == {"user_registered": True}
        assert bot.replies.empty()
        assert len(await bot.dead_letters(expect=1)) == 1

    with_bot(settings, app, scenario)


@pytest.mark.slow
def test_when_the_store_keeps_failing_past_the_grace_the_batch_is_answered_and_dead_lettered(env, databases):
    settings, app, _ = env
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")
    with admin_connection() as admin:  # the database goes away under the running service
        admin.execute(f'DROP DATABASE "{settings.postgres_db}" WITH (FORCE)')

    async def main() -> None:
        bot = TestBot(settings)
        await bot.start()
        try:
            from datemaker.adapters.rabbitmq.consumer import BotConsumer
            from datemaker.app.bot_commands import BotCommandHandler

            handler = BotCommandHandler(app, store_attempts=2, sleep=lambda _: None)
            consumer = BotConsumer(settings, handler.handle, store_outage_grace=1.0)  # then it gives up
            stop = asyncio.Event()
            task = asyncio.create_task(consumer.run(stop))
            await asyncio.wait_for(consumer.ready.wait(), 15)
            await bot.send("register_event", user_id=1, chat_id=1, event_id=wire_id)
            reply = await asyncio.wait_for(bot.replies.get(), 60)
            assert reply.body == {"success": False, "error": "temporarily unavailable, try again later"}
            assert [m.body for m in await bot.dead_letters(expect=1)] == [b"register_event"]
            stop.set()
            await asyncio.wait_for(task, 15)
        finally:
            await bot.close()

    run(main)


class StoreAway:
    """The store failing at once (a database restart refuses connections)
    until the test brings it back; counts the failed tries."""

    def __init__(self, app, monkeypatch) -> None:
        self.back = threading.Event()
        self.tries = 0
        profiles = app.profiles

        def away(user_ids):
            if not self.back.is_set():
                self.tries += 1
                raise StoreUnavailable("connection refused")
            return profiles(user_ids)

        monkeypatch.setattr(app, "profiles", away)

    async def tried(self, times: int) -> None:
        deadline = asyncio.get_running_loop().time() + WAIT
        while self.tries < times:
            assert asyncio.get_running_loop().time() < deadline, f"tried {self.tries} times"
            await asyncio.sleep(0.05)


def test_a_batch_waits_while_the_store_is_away_and_is_answered_once_it_is_back(env, monkeypatch):
    settings, app, _ = env
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")
    store = StoreAway(app, monkeypatch)

    async def scenario(bot: TestBot) -> None:
        await bot.send("register_event", user_id=1, chat_id=1, message_id=901, event_id=wire_id)
        await store.tried(12)  # more than a batch's own tries: it used to be given up on after five
        assert bot.replies.empty()
        store.back.set()
        assert (await bot.reply()).body == {"user_registered": True}
        assert await bot.dead_letters() == []

    with_bot(settings, app, scenario)
    assert app.get_event(wire_id).registered_user_ids == [1]


def test_a_batch_waiting_for_the_store_when_the_service_stops_goes_back_to_the_queue(env, monkeypatch):
    settings, app, _ = env
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")
    store = StoreAway(app, monkeypatch)

    async def main() -> None:
        bot = TestBot(settings)
        await bot.start()
        try:
            consumer = BotConsumer(settings, BotCommandHandler(app).handle)
            stop = asyncio.Event()
            task = asyncio.create_task(consumer.run(stop))
            await asyncio.wait_for(consumer.ready.wait(), WAIT)
            await bot.send("register_event", user_id=1, chat_id=1, message_id=901, event_id=wire_id)
            await store.tried(6)
            stop.set()
            await asyncio.wait_for(task, WAIT)
            queue = await bot.channel.get_queue(settings.rabbitmq_queue)
            deadline = asyncio.get_running_loop().time() + WAIT
            while (back := await queue.get(fail=False, no_ack=True)) is None:  # handed back, for the next consumer
                assert asyncio.get_running_loop().time() < deadline, "not back in the queue"
                await asyncio.sleep(0.05)
            assert back.body == b"register_event" and back.headers["user_id"] in (b"1", "1")
            assert bot.replies.empty() and await bot.dead_letters() == []
        finally:
            await bot.close()

    run(main)
