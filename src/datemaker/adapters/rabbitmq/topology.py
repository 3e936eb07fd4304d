"""The RabbitMQ topology datemaker declares (idempotently) and the broker's
address from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

from datemaker.settings import Settings

DEAD_LETTER_EXCHANGE = "datemaker.dead_letter"


def broker_url(settings: Settings) -> str:
    user = quote(settings.rabbitmq_username, safe="")
    password = quote(settings.rabbitmq_password.get_secret_value(), safe="")
    vhost = quote(settings.rabbitmq_virtual_host, safe="")
    return f"amqp://{user}:{password}@{settings.rabbitmq_host}:{settings.rabbitmq_port}/{vhost}"


def dead_letter_queue_name(settings: Settings) -> str:
    return f"{settings.rabbitmq_queue}.dead_letter"


@dataclass
class Topology:
    exchange: AbstractExchange
    queue: AbstractQueue
    dead_letters: AbstractExchange


async def declare_topology(channel: AbstractChannel, settings: Settings) -> Topology:
    """Idempotent. The input queue is declared without arguments, so an
    existing production queue is accepted as it is; dead letters are
    published explicitly instead of through queue arguments. The bot's queue
    is never declared."""
    exchange = await channel.declare_exchange(
        settings.rabbitmq_exchange, aio_pika.ExchangeType.DIRECT, durable=True
    )
    queue = await channel.declare_queue(settings.rabbitmq_queue, durable=True)
    await queue.bind(exchange, routing_key=settings.inbound_routing_key)
    dead_letters = await channel.declare_exchange(
        DEAD_LETTER_EXCHANGE, aio_pika.ExchangeType.DIRECT, durable=True
    )
    dead_queue = await channel.declare_queue(dead_letter_queue_name(settings), durable=True)
    await dead_queue.bind(dead_letters, routing_key=settings.rabbitmq_queue)
    return Topology(exchange, queue, dead_letters)
