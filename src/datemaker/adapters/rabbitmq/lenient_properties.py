"""Reading a message whose AMQP properties pamqp refuses, instead of losing
the connection over it.

RabbitMQ forwards properties as the publisher wrote them: a shortstr
(`message_id`, `app_id`, ...) or a header name need not be UTF-8, a
timestamp may lie past the year 9999. pamqp (the codec under aiormq and
aio-pika) raises on those while it decodes the content header, aiormq then
drops the whole connection, the robust connection comes back, the same
message is delivered first again, and nothing after it is ever consumed.

Why this way, of the ways out:
- a quorum queue's `x-delivery-limit` would need the input queue to change
  type, but it is the platform's queue (a classic one, declared without
  arguments); `x-queue-type` cannot change on an existing queue (a redeclare
  fails with PRECONDITION_FAILED, the queue would have to be deleted, with
  whatever waits in it, under the platform's feet), and every failed attempt
  would still cost a reconnect and the whole prefetched batch;
- a guard that notices the same delivery killing the connection twice cannot
  settle it: the delivery tag dies with the connection that could not read it;
- decoding leniently keeps the connection and hands the consumer a message it
  can answer and dead-letter like any other bad input. Chosen.

`install()` wraps pamqp's `ContentHeader.unmarshal` (pamqp is held to 4.0.x):
a content header that decodes strictly is decoded exactly as before, by
pamqp; only one that raises is decoded again here, property by property.
What cannot be read is left unset, and its raw bytes ride in the headers
under `UNREADABLE` (a table: property name, or `headers` for a header entry,
to bytes), where the consumer finds them and dead-letters the message with
them. It is process-wide, as pamqp's codec is; it changes nothing but frames
that would otherwise raise."""

from __future__ import annotations

import struct
from typing import Any

from pamqp import commands, decode
from pamqp import header as amqp_header

UNREADABLE = "x-datemaker-unreadable"
_ORIGINAL = "_datemaker_strict_unmarshal"
_UINT32 = struct.Struct(">I")
# Sizes of table values by type tag (pamqp's TABLE_MAPPING, RabbitMQ's errata):
# fixed, or a 32-bit length and that many bytes.
_FIXED = {b"t": 1, b"b": 1, b"B": 1, b"s": 2, b"u": 2, b"I": 4, b"i": 4, b"l": 8, b"L": 8,
          b"f": 4, b"d": 8, b"D": 5, b"T": 8, b"V": 0, b"\x00": 0}
_SIZED = frozenset({b"S", b"x", b"A", b"F"})
_PROPERTY_SIZE = {"octet": lambda data: 1, "timestamp": lambda data: 8,
                  "shortstr": lambda data: 1 + data[0], "table": lambda data: 4 + _UINT32.unpack_from(data)[0]}


def install() -> None:
    """Idempotent."""
    content_header = amqp_header.ContentHeader
    if hasattr(content_header, _ORIGINAL):
        return
    strict = content_header.unmarshal

    def unmarshal(self: amqp_header.ContentHeader, data: bytes) -> None:
        try:
            strict(self, data)
        except Exception:  # UnicodeDecodeError, ValueError, OverflowError, OSError from datetime
            try:
                self.properties = read_leniently(data)
            except Exception:  # not even the sizes add up (RabbitMQ checks them): keep it all raw
                self.properties = commands.Basic.Properties(headers={UNREADABLE: {"properties": bytearray(data[12:])}})

    setattr(content_header, _ORIGINAL, strict)
    content_header.unmarshal = unmarshal  # type: ignore[method-assign]


def read_leniently(data: bytes) -> commands.Basic.Properties:
    """The properties of a content header payload, each read on its own."""
    offset, flags = amqp_header.ContentHeader._get_flags(data[12:])
    rest = data[12 + offset:]
    properties = commands.Basic.Properties()
    unreadable: dict[str, bytes] = {}
    for name in commands.Basic.Properties.__slots__:
        if not flags & commands.Basic.Properties.flags[name]:
            continue
        kind = getattr(commands.Basic.Properties, "_" + name)
        size = _PROPERTY_SIZE[kind](rest)
        if kind == "table":
            value: Any = _read_table(rest[4:size], unreadable)
        else:
            try:
                _, value = decode.by_type(rest[:size], kind)
            except Exception:  # the value's bytes, without a shortstr's length
                value, unreadable[name] = None, rest[1 if kind == "shortstr" else 0 : size]
        setattr(properties, name, value)
        rest = rest[size:]
    headers = properties.headers if isinstance(properties.headers, dict) else {}
    properties.headers = {**headers, UNREADABLE: {k: bytearray(v) for k, v in unreadable.items()}}
    return properties


def _read_table(data: bytes, unreadable: dict[str, bytes]) -> dict[str, Any]:
    """The entries that decode; the others' raw bytes (name and value, one
    after the other) go to `unreadable["headers"]`."""
    entries: dict[str, Any] = {}
    skipped = bytearray()
    at = 0
    while at < len(data):
        start = at
        key = data[at + 1 : at + 1 + data[at]]
        at += 1 + data[at]
        tag = data[at : at + 1]
        if tag in _FIXED:
            at += 1 + _FIXED[tag]
        elif tag in _SIZED:
            at += 5 + _UINT32.unpack_from(data, at + 1)[0]
        else:  # a type nobody can size: the rest of the table stays raw
            skipped += data[start:]
            break
        try:
            _, value = decode.embedded_value(data[start + 1 + len(key) : at])
            entries[key.decode("utf-8")] = value
        except Exception:
            skipped += data[start:at]
    if skipped:
        unreadable["headers"] = bytes(skipped)
    return entries
