"""A bare AMQP 0-9-1 publisher for tests: it writes message properties as
given bytes, so a message can carry what no well-behaved client encodes (a
`message_id` that is not UTF-8, a timestamp past the year 9999, a header
name that is not UTF-8) and the publishing side never decodes it back.
Publisher confirms: `publish` returns once the broker has taken every
message."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pamqp import commands as spec
from pamqp import encode
from pamqp import frame as amqp_frame
from pamqp import header as amqp_header

CHANNEL = 1
_HEAD = struct.Struct(">BHI")


@dataclass(frozen=True)
class Raw:
    """A property or header value already in wire form (its type's bytes)."""

    wire: bytes


def short_string(raw: bytes) -> Raw:
    """A shortstr of exactly these bytes (UTF-8 or not)."""
    return Raw(bytes([len(raw)]) + raw)


def timestamp(seconds: int) -> Raw:
    """A timestamp property of any 64-bit value, in or out of range."""
    return Raw(struct.pack(">Q", seconds))


def table(entries: Sequence[tuple[bytes, bytes]]) -> Raw:
    """A field table of (name bytes, tagged value bytes) entries, as given."""
    body = b"".join(bytes([len(name)]) + name + value for name, value in entries)
    return Raw(struct.pack(">I", len(body)) + body)


def tagged(value: Any) -> bytes:
    """A header value as pamqp encodes it inside a table (type tag first)."""
    return encode.encode_table_value(value)


@dataclass
class RawMessage:
    body: bytes
    # Property name (pamqp's: message_id, timestamp, headers, ...) -> value or Raw.
    properties: Mapping[str, Any] = field(default_factory=dict)


def content_header_payload(message: RawMessage) -> bytes:
    flags, values = 0, []
    for name in spec.Basic.Properties.__slots__:  # the order on the wire
        if name not in message.properties:
            continue
        value = message.properties[name]
        flags |= spec.Basic.Properties.flags[name]
        kind = getattr(spec.Basic.Properties, "_" + name)
        values.append(value.wire if isinstance(value, Raw) else encode.by_type(value, kind))
    return struct.pack(">HHQH", spec.Basic.frame_id, 0, len(message.body), flags) + b"".join(values)


def _frame(kind: int, payload: bytes) -> bytes:
    return _HEAD.pack(kind, CHANNEL, len(payload)) + payload + b"\xce"


class RawPublisher:
    def __init__(self, host: str, port: int, username: str = "guest", password: str = "guest",
                 vhost: str = "/") -> None:
        self.address, self.credentials, self.vhost = (host, port), (username, password), vhost
        self.frame_max = 131072
        self.published = self.confirmed = 0

    async def start(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(*self.address)
        self.writer.write(amqp_header.ProtocolHeader().marshal())
        await self._expect(spec.Connection.Start)
        user, password = self.credentials
        self._send(spec.Connection.StartOk(response=f"\0{user}\0{password}"), 0)
        tune = await self._expect(spec.Connection.Tune)
        self.frame_max = tune.frame_max or self.frame_max
        self._send(spec.Connection.TuneOk(tune.channel_max, self.frame_max, 0), 0)
        self._send(spec.Connection.Open(virtual_host=self.vhost), 0)
        await self._expect(spec.Connection.OpenOk)
        self._send(spec.Channel.Open(), CHANNEL)
        await self._expect(spec.Channel.OpenOk)
        self._send(spec.Confirm.Select(), CHANNEL)
        await self._expect(spec.Confirm.SelectOk)

    async def publish(self, exchange: str, routing_key: str, messages: Sequence[RawMessage]) -> None:
        """Write them all, then wait until the broker confirmed every one."""
        publish = amqp_frame.marshal(spec.Basic.Publish(exchange=exchange, routing_key=routing_key), CHANNEL)
        room = self.frame_max - 8
        for message in messages:
            parts = [publish, _frame(2, content_header_payload(message))]
            parts += [_frame(3, message.body[at : at + room]) for at in range(0, len(message.body), room)]
            self.writer.write(b"".join(parts))
            self.published += 1
            await self.writer.drain()
        while self.confirmed < self.published:
            method = await self._method()
            if isinstance(method, spec.Basic.Nack):
                raise RuntimeError(f"the broker refused message {method.delivery_tag}")
            if isinstance(method, spec.Basic.Ack):
                self.confirmed = max(self.confirmed, method.delivery_tag) if method.multiple else self.confirmed + 1

    async def close(self) -> None:
        self._send(spec.Connection.Close(200, "done", 0, 0), 0)
        self.writer.close()
        await asyncio.gather(self.writer.wait_closed(), return_exceptions=True)

    def _send(self, method: Any, channel: int) -> None:
        self.writer.write(amqp_frame.marshal(method, channel))

    async def _method(self) -> Any:
        while True:
            head = await self.reader.readexactly(7)
            kind, _, size = _HEAD.unpack(head)
            payload = await self.reader.readexactly(size + 1)
            if kind != 1:
                continue  # heartbeats: none negotiated
            method = amqp_frame.unmarshal(head + payload)[2]
            if isinstance(method, (spec.Connection.Close, spec.Channel.Close)):
                raise RuntimeError(f"the broker closed on the publisher: {method.reply_code} {method.reply_text}")
            return method

    async def _expect(self, kind: type) -> Any:
        method = await self._method()
        if not isinstance(method, kind):
            raise RuntimeError(f"expected {kind.__name__}, got {method!r}")
        return method
