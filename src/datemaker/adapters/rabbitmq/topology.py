"""The RabbitMQ topology datemaker declares (idempotently) and the broker's
address from the settings."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

from datemaker.settings import Settings

DEAD_LETTER_EXCHANGE = "datemaker.dead_letter"


def broker_url(settings: Settings) -> str:
    """aio-pika's address; with RABBITMQ_SSL, amqps:// and the files aiormq's TLS context loads.
    It holds the password: never log it (aiormq's own repr masks it)."""
    user = quote(settings.rabbitmq_username, safe="")
    password = quote(settings.rabbitmq_password.get_secret_value(), safe="")
    vhost = quote(settings.rabbitmq_virtual_host, safe="")
    scheme, files = ("amqps", tls_files(settings)) if settings.rabbitmq_ssl else ("amqp", {})
    query = f"?{urlencode(files)}" if files else ""
    return f"{scheme}://{user}:{password}@{settings.rabbitmq_host}:{settings.rabbitmq_port}/{vhost}{query}"


def tls_files(settings: Settings) -> dict[str, str]:
    """The CA file and client certificate and key that are set, under aiormq's names."""
    files = {"cafile": settings.rabbitmq_ssl_cafile, "certfile": settings.rabbitmq_ssl_certfile,
             "keyfile": settings.rabbitmq_ssl_keyfile}
    return {name: str(path) for name, path in files.items() if path}


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The same TLS for the confirmed publisher's own connection: the server's
    certificate and host name verified (against the CA file, else the system's CAs)."""
    if not settings.rabbitmq_ssl:
        return None
    files = tls_files(settings)
    context = ssl.create_default_context(cafile=files.get("cafile"))
    if "certfile" in files:
        context.load_cert_chain(files["certfile"], files.get("keyfile"))
    return context


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
