"""The RabbitMQ topology datemaker declares (idempotently) and the broker's
address from the settings."""

from __future__ import annotations

import contextlib
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange, AbstractQueue

from datemaker.logs import get_logger
from datemaker.settings import Settings

log = get_logger(__name__)

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


def dead_letter_bounds(settings: Settings) -> dict[str, Any]:
    """Queue arguments of the dead-letter queue: at most this many messages
    (the oldest are dropped first: a dead letter is never refused, so the
    message it stands for is never retried for ever) and each kept this long."""
    return {"x-max-length": settings.dead_letter_max_length,
            "x-message-ttl": settings.dead_letter_ttl_seconds * 1000}


@dataclass
class Topology:
    exchange: AbstractExchange
    queue: AbstractQueue
    dead_letters: AbstractExchange


async def declare_topology(connection: AbstractConnection, channel: AbstractChannel, settings: Settings) -> Topology:
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
    await declare_dead_letter_queue(connection, settings)
    dead_queue = await channel.get_queue(dead_letter_queue_name(settings))
    await dead_queue.bind(dead_letters, routing_key=settings.rabbitmq_queue)
    return Topology(exchange, queue, dead_letters)


async def declare_dead_letter_queue(connection: AbstractConnection, settings: Settings) -> bool:
    """Declare `<queue>.dead_letter` with its bounds; True when it has them.

    Bounds are queue arguments, not a policy: a policy needs the management
    plugin and the policymaker tag, and only one policy applies to a queue, so
    one of datemaker's would displace the operator's own. A queue declared
    earlier with other arguments (by a datemaker without bounds, or other
    settings) cannot be declared again with these: RabbitMQ closes the channel
    (PRECONDITION_FAILED), so this runs on channels of its own. Such a queue is
    replaced only when it is empty and nobody consumes it (delete if-empty
    if-unused, atomic on the broker; a dead letter published in between is
    returned as unroutable and its message retried); otherwise it is kept as
    it is, with a warning saying how to bound it."""
    name, bounds = dead_letter_queue_name(settings), dead_letter_bounds(settings)
    if await _declare(connection, name, bounds):
        return True
    with contextlib.suppress(aiormq.exceptions.ChannelPreconditionFailed):
        async with connection.channel() as channel:
            await channel.queue_delete(name, if_unused=True, if_empty=True)
        if await _declare(connection, name, bounds):
            log.info("dead-letter queue declared again with its bounds", queue=name, **_log_bounds(bounds))
            return True
    log.warning("dead-letter queue kept without datemaker's bounds: it holds messages or has consumers;"
                " empty it and restart, or bound it with a policy", queue=name, **_log_bounds(bounds))
    return False


async def _declare(connection: AbstractConnection, name: str, arguments: dict[str, Any]) -> bool:
    try:
        async with connection.channel() as channel:
            await channel.declare_queue(name, durable=True, arguments=arguments)
        return True
    except aiormq.exceptions.ChannelPreconditionFailed:
        return False


def _log_bounds(bounds: dict[str, Any]) -> dict[str, Any]:
    return {"max_length": bounds["x-max-length"], "ttl_ms": bounds["x-message-ttl"]}
