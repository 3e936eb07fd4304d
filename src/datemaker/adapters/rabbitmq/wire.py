"""The wire format of bot commands (PROTOCOL.md): headers and body in, a
`BotCommand` or a `BadMessage` out. Error texts are fixed phrases from this
module and never echo what was received."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

from datemaker.adapters.rabbitmq.lenient_properties import UNREADABLE
from datemaker.app.bot_commands import COMMANDS, BotCommand
from datemaker.domain.dating_event import REACTIONS, REPORT_CATEGORIES

MAX_BODY_BYTES = 64 * 1024
_STABLE = "amqp:"  # dedupe keys of an AMQP message_id
INT64_MAX = 2**63 - 1

# Every error text datemaker sends for bad input.
PHRASES = frozenset({
    "message properties are unreadable",
    "body is too large",
    "body is not UTF-8",
    "unknown command",
    "missing header: user_id",
    "missing header: chat_id",
    "missing header: event_id",
    "missing header: partner_id",
    "missing header: reaction",
    "header user_id is not an integer",
    "header chat_id is not an integer",
    "header message_id is not an integer",
    "header event_id is not an integer",
    "header partner_id is not an integer",
    "header event_id must be a positive integer",
    "header reaction must be like, dislike or report",
    "header category must be harassment, no_show, fake_profile, inappropriate or other, with a report",
    "unknown user",
    "temporarily unavailable, try again later",
    "internal error",
})


class BadMessage(Exception):
    def __init__(self, phrase: str, chat_id: int | None) -> None:
        assert phrase in PHRASES
        super().__init__(phrase)
        self.phrase = phrase
        self.chat_id = chat_id


def text_headers(headers: Mapping[str, Any] | None) -> dict[str, str]:
    """Header values as the strings the bot sends; undecodable ones dropped."""
    result: dict[str, str] = {}
    for name, value in (headers or {}).items():
        if isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError:
                continue
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            continue
        result[str(name)] = str(value)
    return result


def _int(headers: Mapping[str, str], name: str, chat_id: int | None, required: bool = True) -> int | None:
    raw = headers.get(name)
    if raw is None or raw.strip() == "":
        if required:
            raise BadMessage(f"missing header: {name}", chat_id)
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise BadMessage(f"header {name} is not an integer", chat_id) from None
    if abs(value) > INT64_MAX:
        raise BadMessage(f"header {name} is not an integer", chat_id)
    return value


def usable_chat_id(headers: Mapping[str, str]) -> int | None:
    try:
        return _int(headers, "chat_id", None)
    except BadMessage:
        return None


def parse_command(
    body: bytes,
    raw_headers: Mapping[str, Any] | None,
    *,
    amqp_message_id: str | None = None,
    redelivered: bool = False,
) -> BotCommand:
    headers = text_headers(raw_headers)
    chat_id = usable_chat_id(headers)
    if UNREADABLE in (raw_headers or {}):
        raise BadMessage("message properties are unreadable", chat_id)
    if len(body) > MAX_BODY_BYTES:
        raise BadMessage("body is too large", chat_id)
    try:
        name = body.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise BadMessage("body is not UTF-8", chat_id) from None
    if name not in COMMANDS:
        raise BadMessage("unknown command", chat_id)
    user_id = _int(headers, "user_id", chat_id)
    _int(headers, "chat_id", chat_id)
    _int(headers, "message_id", chat_id, required=False)
    event_id = partner_id = reaction = category = None
    if name != "list_events":
        event_id = _int(headers, "event_id", chat_id)
        if event_id is None or event_id < 0 or (event_id == 0 and name != "cancel_registration"):
            raise BadMessage("header event_id must be a positive integer", chat_id)
    if name == "rate_partner":
        partner_id = _int(headers, "partner_id", chat_id)
        reaction = headers.get("reaction", "").strip()
        if not reaction:
            raise BadMessage("missing header: reaction", chat_id)
        if reaction not in REACTIONS:
            raise BadMessage("header reaction must be like, dislike or report", chat_id)
        category = headers.get("category", "").strip() or None
        if category is not None and (category not in REPORT_CATEGORIES or reaction != "report"):
            raise BadMessage(
                "header category must be harassment, no_show, fake_profile, inappropriate or other, with a report",
                chat_id)
    key, seen_before = dedupe_key(body, headers, amqp_message_id, redelivered, user_id=user_id or 0, command=name)
    return BotCommand(
        name=name,
        user_id=user_id or 0,
        event_id=event_id,
        partner_id=partner_id,
        reaction=reaction,
        category=category,
        dedupe_key=key,
        seen_before=seen_before,
    )


def dedupe_key(
    body: bytes, headers: Mapping[str, str], amqp_message_id: str | None, redelivered: bool,
    *, user_id: int = 0, command: str = "",
) -> tuple[str, bool]:
    """Where a command's reply is kept, and whether to look there first.

    With an AMQP message_id (stable per logical message) that id, for this
    user and this command, is the key, always looked up: the same id from two
    users (or for two commands) is two commands. Without one, the key is the message's content (body and
    headers, which include the bot's own message_id and chat_id) and it is
    looked up only on a redelivery: a fresh delivery is always a new action,
    even when a user repeats the same button, and it overwrites the stored
    reply, so a redelivery finds the reply of its own latest handling."""
    if amqp_message_id:
        scoped = f"{user_id}\0{command}\0{amqp_message_id}"
        return _STABLE + hashlib.sha256(scoped.encode()).hexdigest(), True
    digest = hashlib.sha256(body)
    for name in sorted(headers):
        digest.update(b"\0" + name.encode() + b"\0" + headers[name].encode())
    return "content:" + digest.hexdigest(), redelivered


def reply_message_id(dedupe_key: str | None) -> str:
    """The AMQP message_id of a reply. Derived from a key of an AMQP
    message_id (which names the user and the command), it is the same for
    every delivery of that message, so the bot may drop a repeat. Any other
    reply gets an id of its own: two presses of the same button carry the same
    content and are two answers (a redelivery of such a press, after a crash
    before its ack, may then be answered twice under two ids)."""
    if dedupe_key and dedupe_key.startswith(_STABLE):
        return "reply-" + hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]
    return "reply-" + uuid.uuid4().hex
