"""The straightforward aio-pika publisher with publisher confirms: the
baseline the service's own publisher (`adapters/rabbitmq/publisher.py`) is
measured and byte-compared against. Not used by the service."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import aio_pika
from aio_pika.abc import AbstractExchange, AbstractRobustConnection

from datemaker.adapters.rabbitmq.topology import broker_url
from datemaker.settings import Settings


class BotPublisher:
    """Publishes datemaker's own commands to the bot, with publisher confirms."""

    def __init__(
        self, settings: Settings, *, in_flight: int = 2000, on_published: Callable[[str], None] | None = None
    ) -> None:
        self.settings = settings
        self.in_flight = in_flight
        self._on_published = on_published or (lambda command: None)
        self._connection: AbstractRobustConnection | None = None
        self._exchange: AbstractExchange | None = None

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(
            broker_url(self.settings), client_properties={"connection_name": "datemaker-outbox"}
        )
        channel = await self._connection.channel(publisher_confirms=True)
        self._exchange = await channel.declare_exchange(
            self.settings.rabbitmq_exchange, aio_pika.ExchangeType.DIRECT, durable=True
        )

    async def publish(self, messages: Sequence[Any]) -> None:
        """Every message confirmed by the broker when this returns."""
        if self._exchange is None:
            await self.start()
        assert self._exchange is not None
        for start in range(0, len(messages), self.in_flight):
            await asyncio.gather(*(self._one(m) for m in messages[start : start + self.in_flight]))

    async def _one(self, message: Any) -> None:
        assert self._exchange is not None
        await self._exchange.publish(
            aio_pika.Message(
                body=message.body,
                headers=message.headers,
                message_id=message.message_id,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=self.settings.bot_routing_key,
        )
        self._on_published(message.command)

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
