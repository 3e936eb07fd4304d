"""The local RabbitMQ (127.0.0.1:5672, guest/guest): the bench's own
connection, the exchange and the service's queues, and queues that stand in
for the bot."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from harness.database import HOST
from harness.report import BenchFailure

AMQP_PORT = 5672
AMQP_URL = f"amqp://guest:guest@{HOST}:{AMQP_PORT}/"


async def declare_bot_queue(channel: Any, exchange: str, routing_key: str, name: str | None = None,
                            **options: Any) -> Any:
    """A queue bound to `exchange` with the bot routing key: it gets a copy of
    everything the service sends the bot."""
    queue = await channel.declare_queue(name, **options)
    await queue.bind(exchange, routing_key=routing_key)
    return queue


class Broker:
    """The bench's connection. `start` declares the exchange and the
    service's queues as the service does; `close` deletes them."""

    def __init__(self, settings: Any, connection_name: str) -> None:
        self.settings = settings
        self.connection_name = connection_name

    async def start(self) -> None:
        import aio_pika

        from datemaker.adapters.rabbitmq.topology import declare_topology

        self.connection = await aio_pika.connect(AMQP_URL, client_properties={"connection_name": self.connection_name})
        self.admin = await self.connection.channel()
        self.topology = await declare_topology(self.connection, self.admin, self.settings)

    async def queue_state(self, name: str) -> tuple[int, int]:
        """(messages ready, consumers) of a queue, from a passive declare."""
        queue = await self.admin.declare_queue(name, passive=True)
        result = queue.declaration_result
        return result.message_count, result.consumer_count

    async def wait_for_consumer(self, name: str, process: Any, timeout: float) -> int:
        """Poll until a consumer is attached; return the monotonic ns it was seen."""
        deadline = time.monotonic() + timeout
        while True:
            _, consumers = await self.queue_state(name)
            if consumers:
                return time.monotonic_ns()
            process.check_alive()
            if time.monotonic() > deadline:
                raise BenchFailure(f"no consumer on queue {name} after {timeout:.0f} s")
            await asyncio.sleep(0.002)

    async def close(self) -> None:
        from datemaker.adapters.rabbitmq.topology import dead_letter_queue_name

        for name in (self.settings.rabbitmq_queue, dead_letter_queue_name(self.settings)):
            with contextlib.suppress(Exception):
                await self.admin.queue_delete(name)
        with contextlib.suppress(Exception):
            await self.admin.exchange_delete(self.settings.rabbitmq_exchange)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.connection.close(), 5)
