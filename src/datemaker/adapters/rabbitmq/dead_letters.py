"""What a bad message becomes in the dead-letter queue, and the bound on
the headers datemaker publishes again (a reply's or a dead letter's).

A dead letter carries the message as it came: its body (cut to the first
64 KiB + 1 byte when it was longer, with the full length in
`x-datemaker-body-bytes`), its headers (bytes as byte arrays, the raw bytes
of properties that could not be decoded under `x-datemaker-unreadable`) and
`x-datemaker-error`. Headers that would not fit are left out and their number
said in `x-datemaker-headers-dropped`: a content header larger than the
broker's frame (128 KiB) makes RabbitMQ close the connection, and the message
would then come back for ever."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from pamqp import encode

from datemaker.adapters.rabbitmq.lenient_properties import UNREADABLE

# Far above what the bot sends (a few short strings), far below a frame.
MAX_HEADERS, MAX_HEADERS_BYTES = 256, 32 * 1024
ENVELOPE = ("user_id", "chat_id", "message_id", "event_id")  # PROTOCOL.md: what the bot routes a reply by
PROTOCOL_HEADERS = (*ENVELOPE, "partner_id", "reaction")


def encodable(value: Any) -> Any:
    """Headers as received, in a form they can be published again: a long
    string that was not UTF-8 arrives as bytes, which the encoder refuses,
    so it goes back as a byte array (the same bytes)."""
    if isinstance(value, bytes):
        return bytearray(value)
    if isinstance(value, dict):
        return {key: encodable(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [encodable(v) for v in value]
    return value


def fits(headers: Mapping[str, Any]) -> bool:
    """Whether headers may be published again: few enough to be cheap to
    encode (a maximal table takes pamqp a tenth of a second), small enough."""
    if len(headers) > MAX_HEADERS:
        return False
    try:
        return len(encode.field_table(dict(headers))) <= MAX_HEADERS_BYTES
    except (TypeError, ValueError):
        return False


def trimmed(headers: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """Headers as a message is held: a table of more than MAX_HEADERS entries
    (up to ~15,000 fit in a frame, a few MB as Python objects) keeps only the
    protocol's, and says how many there were."""
    if headers is None or len(headers) <= MAX_HEADERS:
        return headers
    kept = {name: headers[name] for name in (*PROTOCOL_HEADERS, UNREADABLE) if name in headers}
    return {**kept, "x-datemaker-headers-dropped": len(headers)}


def reply_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A reply goes back with the headers it came with (PROTOCOL.md) when they
    fit; otherwise with the envelope the bot routes it by."""
    if fits(headers):
        return dict(headers)
    return {name: headers[name] for name in ENVELOPE if len(headers.get(name, "")) in range(1, 65)}


def dead_letter(message: AbstractIncomingMessage, error: str) -> aio_pika.Message:
    notes: dict[str, Any] = {"x-datemaker-error": error}
    if message.body_size > len(message.body):
        notes["x-datemaker-body-bytes"] = message.body_size
    headers = {**encodable(message.headers or {}), **notes}
    if not fits(headers):
        headers = {**notes, "x-datemaker-headers-dropped": len(message.headers or {})}
    return aio_pika.Message(
        body=message.body,
        headers=headers,
        message_id=message.message_id,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )
