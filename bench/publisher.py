"""Benchmark of publishing bot messages with publisher confirms: the lean
ConfirmedPublisher (pamqp over an asyncio Protocol) against BotPublisher
(aio-pika), the same N messages each, on the RabbitMQ at 127.0.0.1:5672.

    python bench/publisher.py [--messages 40000]

Everything it touches is its own and removed at the end: an exchange (deleted
by the bench: the publishers declare it durable, as in production, so it
cannot be an auto-delete one) and an exclusive queue bound to it with the bot
routing key, which nothing consumes. Lines printed (key=value):

    publisher impl=confirmed messages=N seconds=... per_second=... cpu_seconds=... per_cpu_second=...
    publisher impl=aio_pika baseline messages=N seconds=... per_second=... cpu_seconds=... per_cpu_second=...
    publisher check queue_messages=... expected=2N correct=true|false

Each publisher connects before its clock starts; the clock covers one
`publish(messages)` call, which returns once the broker has confirmed every
message. `seconds` is wall time, `cpu_seconds` this process's CPU time (user
+ system) over the same call. The messages are `Outgoing` values (ids of
Telegram size, every other one with a JSON body), built before timing;
their `body`/`headers` properties are computed inside the call, as in the
service. Exit status 0 when the queue holds exactly 2N messages, else 1."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from typing import Any

USER_ID_BASE = 7_000_000_000


def make_messages(count: int) -> list[Any]:
    from datemaker.app.bot_messages import Outgoing

    commands = ("confirm_registration", "round_started", "send_sit_out_message")
    return [
        Outgoing(1234, USER_ID_BASE + k, commands[k % 3],
                 {"round": k % 7, "url": "https://meet.google.com/abc-defg-hij"} if k % 2 else None, k % 7)
        for k in range(count)
    ]


async def measure(name: str, publisher: Any, messages: list[Any]) -> None:
    await publisher.start()
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        await publisher.publish(messages)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        await publisher.close()
    n = len(messages)
    print(f"publisher impl={name} messages={n} seconds={wall:.3f} per_second={n / wall:.0f}"
          f" cpu_seconds={cpu:.3f} per_cpu_second={n / cpu:.0f}", flush=True)


async def main_async(args: argparse.Namespace) -> bool:
    import aio_pika

    from datemaker.adapters.rabbitmq.publisher import ConfirmedPublisher
    from datemaker.adapters.rabbitmq.topology import broker_url
    from harness.aio_pika_publisher import BotPublisher
    from datemaker.logs import configure_logging
    from datemaker.settings import load_settings

    configure_logging(debug=False, level="WARNING")
    settings = load_settings(RABBITMQ_HOST="127.0.0.1", RABBITMQ_PORT=5672,
                             RABBITMQ_EXCHANGE=f"dm_bench_pub_{uuid.uuid4().hex[:10]}",
                             DATEMAKER_RABBITMQ_USERNAME="guest", DATEMAKER_RABBITMQ_PASSWORD="guest")
    messages = make_messages(args.messages)
    connection = await aio_pika.connect(broker_url(settings), client_properties={"connection_name": "bench-publisher"})
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            settings.rabbitmq_exchange, aio_pika.ExchangeType.DIRECT, durable=True
        )
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key=settings.bot_routing_key)
        try:
            await measure("confirmed", ConfirmedPublisher(settings), messages)
            await measure("aio_pika baseline", BotPublisher(settings), messages)
            declared = await channel.declare_queue(queue.name, passive=True)
            held = int(declared.declaration_result.message_count or 0)
            correct = held == 2 * len(messages)
            print(f"publisher check queue_messages={held} expected={2 * len(messages)}"
                  f" correct={str(correct).lower()}", flush=True)
            return correct
        finally:
            await channel.exchange_delete(settings.rabbitmq_exchange)
    finally:
        await connection.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=40_000, help="messages published by each implementation")
    args = parser.parse_args(argv)
    if args.messages < 1:
        parser.error("--messages must be positive")
    return 0 if asyncio.run(main_async(args)) else 1


if __name__ == "__main__":
    sys.exit(main())
