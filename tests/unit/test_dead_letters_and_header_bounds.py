"""What datemaker publishes again of a message it received stays within a
frame: too many headers are trimmed to the protocol's as the message is
held, a reply whose headers do not fit keeps the envelope, a dead letter's
are left out (with their number) and an over-size body's length is said."""

from __future__ import annotations

from types import SimpleNamespace

from datemaker.adapters.rabbitmq.dead_letters import MAX_HEADERS, dead_letter, reply_headers, trimmed
from datemaker.adapters.rabbitmq.lenient_properties import UNREADABLE

PROTOCOL = {"user_id": "4", "chat_id": "4", "message_id": "8", "event_id": "1", "partner_id": "5", "reaction": "like"}
PADDING = {f"h{k}": k for k in range(MAX_HEADERS + 1)}


def test_a_table_of_too_many_headers_keeps_the_protocols_and_the_unreadable_bytes():
    held = trimmed({**PROTOCOL, **PADDING, UNREADABLE: {"message_id": bytearray(b"\xff")}})
    assert held == {**PROTOCOL, UNREADABLE: {"message_id": bytearray(b"\xff")},
                    "x-datemaker-headers-dropped": len(PROTOCOL) + len(PADDING) + 1}
    small = {**PROTOCOL, "extra": "x"}
    assert trimmed(small) is small and trimmed(None) is None


def test_a_reply_whose_headers_do_not_fit_keeps_the_envelope():
    assert reply_headers({**PROTOCOL, "extra": "x"}) == {**PROTOCOL, "extra": "x"}
    big = {**PROTOCOL, "blob": "x" * 40_000, "message_id": "9" * 100}
    assert reply_headers(big) == {"user_id": "4", "chat_id": "4", "event_id": "1"}


def test_a_dead_letter_says_the_full_length_of_a_cut_body_and_leaves_out_headers_that_do_not_fit():
    message = SimpleNamespace(body=b"x" * 10, body_size=2_000_000, message_id="m",
                              headers={"chat_id": "1", "blob": "y" * 40_000})
    dead = dead_letter(message, "body is too large")  # type: ignore[arg-type]
    assert dead.body == b"x" * 10 and dead.message_id == "m"
    assert dead.headers == {"x-datemaker-error": "body is too large", "x-datemaker-body-bytes": 2_000_000,
                            "x-datemaker-headers-dropped": 2}
    kept = dead_letter(SimpleNamespace(body=b"b", body_size=1, message_id=None,  # type: ignore[arg-type]
                                       headers={"chat_id": "1", "raw": b"\xff"}), "unknown command")
    assert kept.headers == {"chat_id": "1", "raw": bytearray(b"\xff"), "x-datemaker-error": "unknown command"}
