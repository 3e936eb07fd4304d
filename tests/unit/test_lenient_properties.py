"""Message properties pamqp refuses are read leniently: what decodes is
kept, what does not is left unset with its raw bytes under UNREADABLE, and
properties pamqp reads are read exactly as before."""

from __future__ import annotations

import datetime

import pytest
from pamqp import commands
from pamqp import header as amqp_header

from datemaker.adapters.rabbitmq import lenient_properties
from datemaker.adapters.rabbitmq.lenient_properties import UNREADABLE

from ..support.raw_amqp import Raw, RawMessage, content_header_payload, short_string, table, tagged, timestamp

BAD = {
    "message_id": {"message_id": short_string(b"\xff id")},
    "timestamp": {"timestamp": timestamp(2**64 - 1)},
    "header name": {"headers": table([(b"\xfe", tagged("x"))])},
    "header timestamp": {"headers": table([(b"t", b"T" + (2**63).to_bytes(8, "big"))])},
}


def read(properties: dict) -> commands.Basic.Properties:
    lenient_properties.install()
    content_header = amqp_header.ContentHeader()
    content_header.unmarshal(content_header_payload(RawMessage(b"body", properties)))
    return content_header.properties


@pytest.mark.parametrize("case", BAD)
def test_pamqp_itself_still_refuses_what_is_read_leniently(case):
    strict = getattr(amqp_header.ContentHeader, "_datemaker_strict_unmarshal", amqp_header.ContentHeader.unmarshal)
    with pytest.raises((ValueError, OverflowError, OSError)):
        strict(amqp_header.ContentHeader(), content_header_payload(RawMessage(b"body", BAD[case])))


def test_properties_pamqp_can_read_are_read_as_pamqp_reads_them():
    sent = commands.Basic.Properties(
        content_type="application/json", headers={"chat_id": "5", "n": 7, "raw": b"\xff".decode("latin-1")},
        delivery_mode=2, message_id="m-1", timestamp=datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC),
        app_id="bot",
    )
    lenient_properties.install()
    got = amqp_header.ContentHeader()
    got.unmarshal(amqp_header.ContentHeader(body_size=4, properties=sent).marshal())
    for name in commands.Basic.Properties.__slots__:
        assert getattr(got.properties, name) == getattr(sent, name), name
    assert UNREADABLE not in got.properties.headers


def test_what_cannot_be_read_is_unset_and_kept_raw_and_the_rest_is_read():
    properties = read({
        "headers": table([(b"chat_id", tagged("5")), (b"\xfe\xff", tagged("x")), (b"user_id", tagged("5"))]),
        "message_id": short_string(b"\xff id"),
        "timestamp": timestamp(2**64 - 1),
        "app_id": "bot",
    })
    assert properties.message_id is None and properties.timestamp is None and properties.app_id == "bot"
    assert properties.headers["chat_id"] == "5" and properties.headers["user_id"] == "5"
    kept = properties.headers[UNREADABLE]
    assert kept["message_id"] == bytearray(b"\xff id")
    assert kept["timestamp"] == bytearray((2**64 - 1).to_bytes(8, "big"))
    assert kept["headers"] == bytearray(b"\x02\xfe\xff" + tagged("x"))


def test_a_header_of_a_type_nobody_can_size_keeps_the_rest_of_the_table_raw():
    properties = read({"headers": table([(b"chat_id", tagged("5")), (b"odd", b"Z\x01\x02"), (b"t", tagged(1))])})
    assert properties.headers["chat_id"] == "5" and "t" not in properties.headers
    assert properties.headers[UNREADABLE]["headers"] == bytearray(b"\x03oddZ\x01\x02\x01t" + tagged(1))


def test_a_content_header_whose_sizes_do_not_add_up_is_kept_whole():
    payload = content_header_payload(RawMessage(b"body", {"headers": Raw(b"\x00\x00")}))  # half a length
    lenient_properties.install()
    content_header = amqp_header.ContentHeader()
    content_header.unmarshal(payload)
    assert content_header.body_size == 4
    assert content_header.properties.headers[UNREADABLE] == {"properties": bytearray(payload[12:])}
