"""A message whose AMQP properties the client library cannot decode (a
`message_id` that is not UTF-8, a timestamp past the year 9999, a header
name that is not UTF-8) used to drop the consumer's connection: the robust
connection came back, the same message came first again, and nothing else
was ever consumed. Now it is answered, dead-lettered with the raw bytes of
what could not be read, and the command after it is answered too."""

from __future__ import annotations

import pytest

from datemaker.adapters.rabbitmq.lenient_properties import UNREADABLE

from ..support.bot_harness import START, TestBot, run, running_service
from ..support.raw_amqp import RawMessage, RawPublisher, short_string, table, tagged, timestamp

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq]

ENVELOPE = [(b"user_id", tagged("3")), (b"chat_id", tagged("3")), (b"message_id", tagged("77"))]
OUT_OF_RANGE = 2**64 - 1  # seconds (or milliseconds): far past the year 9999

CASES = {
    "message_id not UTF-8": ({"message_id": short_string(b"\xff\xfe id")}, "message_id", b"\xff\xfe id"),
    "timestamp out of range": ({"timestamp": timestamp(OUT_OF_RANGE)}, "timestamp", OUT_OF_RANGE.to_bytes(8, "big")),
    "app_id not UTF-8": ({"app_id": short_string(b"\xc3(")}, "app_id", b"\xc3("),
    "header name not UTF-8": ({"headers": table([*ENVELOPE, (b"\xff\xfe", tagged("x"))])}, "headers", b"\xff\xfe"),
    "header timestamp out of range": (
        {"headers": table([*ENVELOPE, (b"sent", b"T" + OUT_OF_RANGE.to_bytes(8, "big"))])}, "headers", b"sent"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_message_with_unreadable_properties_is_dead_lettered_and_the_next_command_answered(env, case):
    settings, app, _ = env
    properties, unreadable, raw = CASES[case]
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")
    answered: list[tuple[str, str]] = []

    async def scenario() -> None:
        bot = TestBot(settings)
        await bot.start()
        publisher = RawPublisher(settings.rabbitmq_host, settings.rabbitmq_port)
        await publisher.start()
        try:
            options = {"on_answer": lambda command, outcome, seconds: answered.append((command, outcome))}
            async with running_service(settings, app, **options):
                poison = RawMessage(b"list_events", {"headers": table(ENVELOPE), **properties})
                await publisher.publish(settings.rabbitmq_exchange, settings.inbound_routing_key, [poison])
                await bot.send("register_event", user_id=2, chat_id=2, message_id=5, event_id=wire_id)
                replies = {}
                while "2" not in replies:  # bounded: each wait fails the test after WAIT seconds
                    reply = await bot.reply()
                    replies[reply.headers.get("user_id")] = reply.body
                assert replies["2"] == {"user_registered": True}
                assert replies["3"] == {"success": False, "error": "message properties are unreadable"}
                [dead] = await bot.dead_letters(expect=1)
                assert dead.headers["x-datemaker-error"] == "message properties are unreadable"
                assert dead.body == b"list_events"
                kept = dead.headers[UNREADABLE]
                assert unreadable in kept
                assert raw in bytes(kept[unreadable])
            queue = await bot.channel.declare_queue(settings.rabbitmq_queue, passive=True)
            assert queue.declaration_result.message_count == 0
        finally:
            await publisher.close()
            await bot.close()

    run(scenario)
    assert app.get_event(wire_id).is_registered(2)
    assert ("invalid", "bad_input") in answered and ("register_event", "ok") in answered
