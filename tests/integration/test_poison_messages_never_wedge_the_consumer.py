"""A message whose headers cannot be published again as they came (a long
string that is not UTF-8 arrives as bytes) is still answered and
dead-lettered with its raw bytes, and the consumer goes on: no message is
left unacknowledged, none is acknowledged without being settled."""

from __future__ import annotations

import aio_pika
import pamqp.encode
import pytest

from datemaker.adapters.rabbitmq.dead_letters import encodable

from ..support.bot_harness import START, TestBot, run, running_service

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq]

RAW = b"\xff\xfe not UTF-8"


def test_received_bytes_become_a_byte_array_that_publishes_the_same_bytes():
    headers = {"chat_id": "1", "raw": RAW, "nested": {"more": RAW}, "listed": [RAW, 1]}
    again = encodable(headers)
    assert again == {"chat_id": "1", "raw": bytearray(RAW), "nested": {"more": bytearray(RAW)}, "listed": [bytearray(RAW), 1]}
    aio_pika.Message(body=b"", headers=again).properties  # encodable: no TypeError


def publish_strings_as_raw_bytes(monkeypatch) -> None:
    """Let this process publish a long string that is not UTF-8, as a
    foreign client can: lone surrogates go out as the bytes they stand for."""
    original = pamqp.encode._string

    def lenient(encoder, value):
        if isinstance(value, str) and any("\udc80" <= ch <= "\udcff" for ch in value):
            raw = value.encode("utf-8", "surrogateescape")
            return encoder.pack(len(raw)) + raw
        return original(encoder, value)

    monkeypatch.setattr(pamqp.encode, "_string", lenient)


def test_many_bad_messages_with_raw_headers_never_wedge_the_consumer(env, monkeypatch):
    settings, app, _ = env
    publish_strings_as_raw_bytes(monkeypatch)
    wire_id = app.schedule_event(start=START, timezone="Europe/Moscow")
    bad = 40  # more than a batch's share of the prefetch would hold if they stuck

    async def scenario() -> None:
        bot = TestBot(settings)
        await bot.start()
        try:
            async with running_service(settings, app, batch_size=8, prefetch=16):
                for n in range(bad):
                    await bot.exchange.publish(
                        aio_pika.Message(body=b"no_such_command",
                                         headers={"user_id": "1", "chat_id": "1", "message_id": str(n),
                                                  "raw": RAW.decode("utf-8", "surrogateescape")}),
                        routing_key=settings.inbound_routing_key,
                    )
                for _ in range(bad):  # each answered...
                    assert (await bot.reply()).body == {"success": False, "error": "unknown command"}
                # ...and the consumer still serves the next one
                assert await bot.command("register_event", 2, event_id=wire_id) == {"user_registered": True}
                dead = await bot.dead_letters(expect=bad)
                assert len(dead) == bad
                assert all(bytes(m.headers["raw"]) == RAW and m.headers["x-datemaker-error"] for m in dead)
            queue = await bot.channel.declare_queue(settings.rabbitmq_queue, passive=True)
            assert queue.declaration_result.message_count == 0  # nothing left unsettled to come back
        finally:
            await bot.close()

    run(scenario)
    assert app.get_event(wire_id).is_registered(2)
