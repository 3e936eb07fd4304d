"""A test bot that talks to datemaker over real RabbitMQ exactly as the
platform's bot does (body = command name, every header a string), plus the
service under test running in the same event loop."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aio_pika

from datemaker.adapters.rabbitmq.consumer import BotConsumer
from datemaker.adapters.rabbitmq.topology import (
    DEAD_LETTER_EXCHANGE,
    broker_url,
    dead_letter_queue_name,
    declare_topology,
)
from datemaker.app.bot_commands import BotCommandHandler
from datemaker.settings import Settings, load_settings

from .clock import T0

WAIT = 15.0  # seconds: the most any reply may take before a test fails
START = T0 + timedelta(days=3)  # when the bot tests' dating event starts


def broker_settings(base: Settings) -> Settings:
    """`base` with an exchange and queue of this test's own."""
    suffix = uuid.uuid4().hex[:10]
    values = {
        "RABBITMQ_EXCHANGE": f"dm_test_{suffix}",
        "DATEMAKER_RABBITMQ_QUEUE": f"dm_test_{suffix}_in",
    }
    return base.model_copy(update={"rabbitmq_exchange": values["RABBITMQ_EXCHANGE"], "rabbitmq_queue": values["DATEMAKER_RABBITMQ_QUEUE"]})


@dataclass
class Reply:
    body: Any
    headers: dict[str, str]
    message_id: str | None
    content_type: str | None = None
    persistent: bool = False


class TestBot:
    __test__ = False

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.replies: asyncio.Queue[Reply] = asyncio.Queue()

    async def start(self) -> None:
        self.connection = await aio_pika.connect_robust(broker_url(self.settings))
        self.channel = await self.connection.channel()
        self.exchange = await self.channel.declare_exchange(
            self.settings.rabbitmq_exchange, aio_pika.ExchangeType.DIRECT, durable=True
        )
        # datemaker's queue exists before the bot talks, as in production.
        await declare_topology(self.connection, self.channel, self.settings)
        self.queue = await self.channel.declare_queue(exclusive=True, auto_delete=True)
        await self.queue.bind(self.exchange, routing_key=self.settings.bot_routing_key)
        await self.queue.consume(self._on_reply, no_ack=True)

    async def _on_reply(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        headers = {k: v.decode() if isinstance(v, bytes) else str(v) for k, v in (message.headers or {}).items()}
        await self.replies.put(Reply(json.loads(message.body), headers, message.message_id, message.content_type,
                                     message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT))

    async def send(
        self, body: str | bytes, *, amqp_message_id: str | None = None, **headers: object
    ) -> None:
        await self.exchange.publish(
            aio_pika.Message(
                body=body.encode() if isinstance(body, str) else body,
                headers={k: str(v) for k, v in headers.items()},
                message_id=amqp_message_id,
            ),
            routing_key=self.settings.inbound_routing_key,
        )

    async def command(self, name: str, user_id: int, **headers: object) -> Any:
        """Send a command as the bot does and return the reply's body."""
        await self.send(name, user_id=user_id, chat_id=user_id, message_id=900 + user_id, **headers)
        return (await self.reply()).body

    async def reply(self) -> Reply:
        return await asyncio.wait_for(self.replies.get(), WAIT)

    async def dead_letters(self, expect: int = 0) -> list[aio_pika.abc.AbstractIncomingMessage]:
        """What the dead-letter queue holds; waits (bounded) for `expect` of
        them, since a dead letter and the reply travel side by side."""
        queue = await self.channel.get_queue(dead_letter_queue_name(self.settings))
        found: list[aio_pika.abc.AbstractIncomingMessage] = []
        deadline = asyncio.get_running_loop().time() + WAIT
        while True:
            while (message := await queue.get(fail=False, no_ack=True)) is not None:
                found.append(message)
            if len(found) >= expect or asyncio.get_running_loop().time() > deadline:
                return found
            await asyncio.sleep(0.05)

    async def close(self, keep_topology: bool = False) -> None:
        """Disconnect; unless kept, delete the test's exchange and queues."""
        if not keep_topology:
            for name in (self.settings.rabbitmq_queue, dead_letter_queue_name(self.settings)):
                await self.channel.queue_delete(name)
            await self.channel.exchange_delete(self.settings.rabbitmq_exchange)
        await self.connection.close()


@asynccontextmanager
async def running_service(settings: Settings, app: Any, **consumer_options: Any):
    handler = BotCommandHandler(app, display_timezone=settings.display_timezone)
    consumer = BotConsumer(settings, handler.handle, **consumer_options)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    await asyncio.wait_for(consumer.ready.wait(), WAIT)
    try:
        yield consumer
    finally:
        stop.set()
        await asyncio.wait_for(task, WAIT)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


__all__ = ["DEAD_LETTER_EXCHANGE", "TestBot", "broker_settings", "load_settings", "run", "running_service"]
