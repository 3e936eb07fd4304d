"""What bad input can hold is bounded: a body over 64 KiB is cut as it
arrives (its dead letter keeps the first 64 KiB + 1 byte and says the full
length), and the dead-letter queue keeps at most its max length (the oldest
go first) for at most its TTL; an older unbounded dead-letter queue is
replaced when empty and unused, and otherwise kept as it is."""

from __future__ import annotations

import aio_pika
import pytest

from datemaker.adapters.rabbitmq.topology import broker_url, dead_letter_bounds, dead_letter_queue_name, declare_dead_letter_queue
from datemaker.adapters.rabbitmq.wire import MAX_BODY_BYTES

from ..support.bot_harness import TestBot, run, running_service

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq]


def test_a_body_over_the_limit_is_cut_as_it_arrives_and_its_dead_letter_says_its_length(env):
    settings, app, _ = env
    size = 2 * 1024 * 1024

    async def scenario() -> None:
        bot = TestBot(settings)
        await bot.start()
        try:
            async with running_service(settings, app):
                await bot.send(b"x" * size, user_id=1, chat_id=1, message_id=1)
                assert (await bot.reply()).body == {"success": False, "error": "body is too large"}
                [dead] = await bot.dead_letters(expect=1)
                assert len(dead.body) == MAX_BODY_BYTES + 1
                assert dead.headers["x-datemaker-body-bytes"] == size
                assert dead.headers["chat_id"] == "1"
        finally:
            await bot.close()

    run(scenario)


def test_the_dead_letter_queue_keeps_its_max_length_dropping_the_oldest_and_has_its_ttl(env):
    base, app, _ = env
    settings = base.model_copy(update={"dead_letter_max_length": 3, "dead_letter_ttl_seconds": 3600})

    async def scenario() -> None:
        bot = TestBot(settings)
        await bot.start()
        try:
            async with running_service(settings, app):
                for n in range(5):
                    await bot.send("no_such_command", user_id=1, chat_id=1, message_id=n)
                for _ in range(5):
                    await bot.reply()
                dead = await bot.dead_letters(expect=3)
                assert [m.headers["message_id"] for m in dead] == ["2", "3", "4"]
            # Declaring it again with exactly these arguments succeeds only if it has them.
            channel = await bot.connection.channel()
            await channel.declare_queue(dead_letter_queue_name(settings), durable=True,
                                        arguments={"x-max-length": 3, "x-message-ttl": 3_600_000})
            await channel.close()
        finally:
            await bot.close()

    run(scenario)


def test_an_empty_unbounded_dead_letter_queue_is_replaced_by_a_bounded_one(env):
    settings, _, _ = env

    async def scenario() -> None:
        connection = await aio_pika.connect_robust(broker_url(settings))
        try:
            channel = await connection.channel()
            name = dead_letter_queue_name(settings)
            await channel.declare_queue(name, durable=True)  # as a datemaker without bounds left it
            assert await declare_dead_letter_queue(connection, settings) is True
            await channel.declare_queue(name, durable=True, arguments=dead_letter_bounds(settings))
            await channel.queue_delete(name)
        finally:
            await connection.close()

    run(scenario)


def test_an_unbounded_dead_letter_queue_holding_messages_is_kept_with_them(env):
    settings, app, _ = env

    async def scenario() -> None:
        connection = await aio_pika.connect_robust(broker_url(settings))
        channel = await connection.channel()
        name = dead_letter_queue_name(settings)
        await channel.declare_queue(name, durable=True)
        await channel.default_exchange.publish(aio_pika.Message(b"an old dead letter"), routing_key=name)
        assert await declare_dead_letter_queue(connection, settings) is False
        bot = TestBot(settings)
        await bot.start()  # declares the topology: no error, the queue stays as it is
        try:
            async with running_service(settings, app):
                await bot.send("no_such_command", user_id=1, chat_id=1, message_id=1)
                assert (await bot.reply()).body == {"success": False, "error": "unknown command"}
                dead = await bot.dead_letters(expect=2)
                assert [m.body for m in dead] == [b"an old dead letter", b"no_such_command"]
        finally:
            await bot.close()
            await connection.close()

    run(scenario)


def test_a_command_with_too_many_headers_is_answered_with_the_protocol_headers(env):
    """Integers typed as integers come back as strings, which take more room:
    15,000 such headers fit in the command's frame but not in its reply's, and
    RabbitMQ closes a connection that sends a frame too large (the message
    would come back for ever); held, they would take a few MB each."""
    settings, app, _ = env
    padding = {f"h{k}": k % 100 for k in range(15_000)}

    async def scenario() -> None:
        bot = TestBot(settings)
        await bot.start()
        try:
            async with running_service(settings, app):
                await bot.exchange.publish(
                    aio_pika.Message(b"list_events", headers={"user_id": "4", "chat_id": "4", "message_id": "8", **padding}),
                    routing_key=settings.inbound_routing_key,
                )
                reply = await bot.reply()
                assert isinstance(reply.body, list)
                assert reply.headers == {"user_id": "4", "chat_id": "4", "message_id": "8",
                                         "x-datemaker-headers-dropped": "15003"}
                assert await bot.command("list_events", 5) is not None  # the next one too
        finally:
            await bot.close()

    run(scenario)
