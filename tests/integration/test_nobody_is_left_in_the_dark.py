"""Whole events on a fake clock, with what the bot hears taken off real
RabbitMQ: the round clock fires every deadline on PostgreSQL while the
outbox relay runs and publishes through the confirmed publisher. The bot
is the one in production today (no new commands) unless a test says so.
Every moment that used to pass in silence now reaches the people in it."""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from datetime import date, timedelta

import aio_pika
import pytest

from datemaker.adapters.event_store import persistence_env
from datemaker.adapters.fake_rooms import FakeRooms
from datemaker.adapters.rabbitmq.publisher import ConfirmedPublisher
from datemaker.adapters.rabbitmq.topology import broker_url
from datemaker.app.clock.round_clock import RoundClock
from datemaker.app.dating_events import DatingEvents
from datemaker.app.outbox import POSITION_NAME, OutboxRelay
from datemaker.domain.lifecycle import EventState
from datemaker.domain.profile import Profile
from datemaker.domain.timings import Timings

from ..support.bot_harness import broker_settings, run
from ..support.clock import T0, FakeClock

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq]

WAIT = 15.0  # seconds: the most the relay may take to publish what was recorded
START = T0 + timedelta(days=2)
T = Timings()
REMINDER = T.confirmation_closes_at(START) - timedelta(hours=3)
RULES = ["send_rules", "send_ready_for_event_request"]
DATE = ["invite_to_meeting", "send_partner_profile"]


def profile(uid: int) -> Profile:
    return Profile(sex="M" if uid < 10 else "F", birthday=date(1995, 1, 1), city="Kazan")


class LiveWorld:
    """The service's round clock, driven here on a fake clock, and its outbox
    relay running meanwhile against real RabbitMQ; the bot's queue bound to
    the bot routing key collects every message as it arrives."""

    def __init__(self, settings, *, extensions=(), attendance: bool = False) -> None:
        self.settings = broker_settings(settings)
        self.clock = FakeClock()
        self.app = DatingEvents(env=persistence_env(self.settings), clock=self.clock)
        self.rooms = FakeRooms(seed=1, attendance=attendance, clock=self.clock)
        self.round_clock = RoundClock(self.app, self.rooms, clock=self.clock)
        self.publisher = ConfirmedPublisher(self.settings)
        self.relay = OutboxRelay(self.app, self.publisher.publish, extensions=extensions)
        self.received: list[tuple[int, str, object, str]] = []  # (user, command, data, message_id)

    async def __aenter__(self) -> LiveWorld:
        self.connection = await aio_pika.connect(broker_url(self.settings))
        channel = await self.connection.channel()
        exchange = await channel.declare_exchange(self.settings.rabbitmq_exchange, aio_pika.ExchangeType.DIRECT,
                                                  durable=True)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key=self.settings.bot_routing_key)
        await queue.consume(self._arrived, no_ack=True)
        self.channel = channel
        await self.publisher.start()
        self.stop = asyncio.Event()
        self.relaying = asyncio.create_task(self.relay.run(self.stop))
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        await asyncio.wait_for(self.relaying, WAIT)
        await self.publisher.close()
        await self.channel.exchange_delete(self.settings.rabbitmq_exchange)
        await self.connection.close()
        self.app.close()

    async def _arrived(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        body = message.body.decode()
        command, data = next(iter(json.loads(body).items())) if body.startswith("{") else (body, None)
        self.received.append((int(message.headers["user_id"]), command, data, message.message_id))

    async def settled(self) -> None:
        """Until the relay published everything recorded so far and the bot got it all."""
        deadline = time.monotonic() + WAIT
        while True:
            head = await asyncio.to_thread(self.app.recorder.max_notification_id)
            position = await asyncio.to_thread(self.app.outbox_position, POSITION_NAME)
            if position == head and len(self.received) == self.relay.published:
                return
            assert time.monotonic() < deadline, f"relayed {position} of {head}, {len(self.received)} arrived"
            await asyncio.sleep(0.02)

    async def run_until(self, instant) -> None:
        """Fire every deadline up to `instant`, each one's messages delivered before the next."""
        while (due := self.app.next_due_at()) is not None and due <= instant:
            self.clock.now = max(self.clock.now, due)
            await asyncio.to_thread(self.round_clock.fire_due)
            await self.settled()
        self.clock.now = max(self.clock.now, instant)
        await self.settled()

    def commands(self, user_id: int) -> list[str]:
        return [command for uid, command, _, _ in self.received if uid == user_id]

    def messages(self, user_id: int) -> list[tuple[str, object]]:
        return [(command, data) for uid, command, data, _ in self.received if uid == user_id]


def test_a_whole_event_tells_everyone_what_happens_to_them(postgres_settings):
    """Reminded, told they are out when confirmation closes, and told they
    rest while others date (their turn to sit out, or their group done)."""

    async def main() -> None:
        async with LiveWorld(postgres_settings) as world:
            app = world.app
            # Groups of at most three: a woman with two men (two rounds, a man
            # resting in each) and a woman with one man (one round, then done).
            wire_id = app.schedule_event(start=START, timezone="Europe/Moscow", users_limit=3)
            for uid in (1, 2, 3, 11, 12, 4):
                app.register(wire_id, uid, profile(uid))
            await world.run_until(T.confirmation_opens_at(START))
            for uid in (2, 3, 11, 12):
                app.confirm_registration(wire_id, uid)
            app.register(wire_id, 5, profile(5))  # once confirmation is open: asked at once
            world.clock.now = REMINDER - timedelta(hours=1)  # 6 is asked a moment before the reminder
            app.register(wire_id, 6, profile(6))
            await world.run_until(REMINDER)
            app.confirm_registration(wire_id, 1)  # reminded, then confirms
            await world.run_until(T.rules_at(start=START))
            for uid in (1, 2, 3, 11, 12):
                app.change(wire_id, lambda e, uid=uid: e.mark_ready(uid, world.clock.now))
            await world.run_until(START + timedelta(days=1))

            event = app.get_event(wire_id)
            assert event.state is EventState.FINISHED
            plan = event.planned
            assert sorted(len(g.rounds) for g in plan.groups) == [1, 2]
            # Never confirmed: asked, asked again, told. Registered late and asked a moment ago: not nagged.
            assert world.commands(4) == ["confirm_registration", "confirm_registration",
                                         "send_user_will_not_take_part_in_event"]
            assert world.commands(5) == ["confirm_registration", "confirm_registration",
                                         "send_user_will_not_take_part_in_event"]
            assert world.commands(6) == ["confirm_registration", "send_user_will_not_take_part_in_event"]
            reminded = [m for uid, c, _, m in world.received if uid == 4 and c == "confirm_registration"]
            assert reminded == [f"dm:{wire_id}:0:confirm_registration:4",
                                f"dm:{wire_id}:0:confirm_registration:4:reminder"]
            for uid in plan.placed_user_ids:
                expected = ["confirm_registration"] + (["confirm_registration"] if uid == 1 else [])
                expected += ["send_user_will_take_part_in_event", *RULES]
                for round_no in (1, 2):
                    partner = plan.partner_of(uid, round_no)
                    if partner is None:  # resting: their turn, or their group's rounds are over
                        expected += ["send_break_message"]
                    else:
                        expected += [*DATE, "send_partner_rating_request"]
                        expected += ["send_break_message"] if round_no == 1 else []
                expected += ["send_final_dating_message"]
                assert world.commands(uid) == expected, uid
            small = next(g for g in plan.groups if len(g.rounds) == 1)
            assert all(plan.partner_of(uid, 2) is None for uid in small.user_ids)
            assert {"send_sit_out_message", "send_event_cancelled"}.isdisjoint(c for _, c, _, _ in world.received)
            ids = [m for *_, m in world.received]
            assert len(set(ids)) == len(ids)  # a bot dropping repeated ids drops none of these

    run(main)


def test_the_present_at_a_start_too_thin_to_go_on_hear_it_is_over_and_no_shows_nothing_more(postgres_settings):
    async def main() -> None:
        async with LiveWorld(postgres_settings) as world:
            app = world.app
            wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")
            for uid in (1, 11):
                app.register(wire_id, uid, profile(uid))
            await world.run_until(T.confirmation_opens_at(START))
            for uid in (1, 11):
                app.confirm_registration(wire_id, uid)
            await world.run_until(T.rules_at(START))
            app.change(wire_id, lambda e: e.mark_ready(1, world.clock.now))  # 11 does not come
            await world.run_until(T.round_starts_at(START, 1))
            event = app.get_event(wire_id)
            assert event.state is EventState.RUNNING and event.planned.rounds_count == 0 and event.no_shows == [11]
            await world.run_until(START + timedelta(days=1))
            assert app.get_event(wire_id).state is EventState.FINISHED
            told = ["confirm_registration", "send_user_will_take_part_in_event", *RULES]
            assert world.commands(1) == [*told, "send_final_dating_message"]
            assert world.commands(11) == told

    run(main)


@pytest.mark.parametrize("attendance", [False, True], ids=["instant-rooms", "rooms-read-after"])
@pytest.mark.parametrize("extensions", [(), ("send_event_cancelled",)], ids=["bot-today", "bot-knows-cancel"])
def test_an_operator_cancel_in_a_round_ends_its_calls_and_misleads_nobody(postgres_settings, extensions, attendance):
    async def main() -> None:
        async with LiveWorld(postgres_settings, extensions=extensions, attendance=attendance) as world:
            app = world.app
            wire_id = app.schedule_event(start=START, timezone="Europe/Moscow", ready_check=False)
            people = (1, 2, 11, 12)
            for uid in people:
                app.register(wire_id, uid, profile(uid))
            await world.run_until(T.confirmation_opens_at(START))
            for uid in people:
                app.confirm_registration(wire_id, uid)
            await world.run_until(T.round_starts_at(START, 1) + timedelta(seconds=30))
            round_one = app.get_event(wire_id).rooms["1"]
            assert len(round_one) == 2 and world.rooms.ended == []
            before = {uid: len(world.commands(uid)) for uid in people}

            app.cancel_event(wire_id)  # what `datemaker events cancel` does
            await world.run_until(world.clock.now + timedelta(seconds=1))  # the clock's next pass

            assert sorted(r.space for r in world.rooms.ended) == sorted(r["space"] for r in round_one.values())
            event = app.get_event(wire_id)
            kinds = [type(e).__name__ for e in app.history(wire_id)]
            assert event.state is EventState.CANCELLED and kinds.index("Cancelled") < kinds.index("RoundEnded")
            assert ("AttendanceRecorded" in kinds) is attendance  # read after the calls end, as at a round's end
            assert app.next_due_at() is None
            await world.run_until(START + timedelta(days=1))
            for uid in people:
                after = world.commands(uid)[before[uid]:]
                assert after == list(extensions), uid  # no rating request, break or final message
            assert len(world.rooms.ended) == 2  # once each

    run(main)
