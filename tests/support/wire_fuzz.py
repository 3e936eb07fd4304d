"""Generated wire messages, good and bad, and the check that each one was
answered or dead-lettered. Shared by the fuzz test (drawn by hypothesis)
and `bench/fuzz.py` (drawn by a seeded `random.Random`): each kind of
message is built from a `Pick`, which either of them provides.

Every message is numbered; the number rides in the `fuzz` header (echoed by
replies and dead letters), in the bot's `message_id` header (the envelope a
reply keeps even when its other headers are too large), and, for the kinds
whose headers may not come back at all, in the AMQP `message_id` property
as `fuzz:<n>` (kept by a dead letter)."""

from __future__ import annotations

import random
import struct
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from .raw_amqp import Raw, RawMessage, short_string, table, tagged, timestamp

T = TypeVar("T")
COMMANDS = ("list_events", "register_event", "cancel_registration", "confirm_registration",
            "ready_for_event", "rate_partner", "leave_event")
NEAR_MISSES = ("List_events", "list_event", "list_events2", "listevents", "register-event", "REGISTER_EVENT",
               "rate_partner!", "list_events\x00", "cancel registration", "ready_for_events", "list_events;drop",
               "\u200blist_events", "l\u0131st_events", "{\"list_events\": 1}")
NOT_INTEGERS = ("abc", "1.5", "", "  ", "0x1f", "1e3", "9" * 30, str(2**63), "--1", "1 2", "+")
LIST_BEFORE_OFFSET = 2**64 - 1  # out of range as seconds and as milliseconds
DUPLICATE_IDS = ("dup-1", "dup-2", "dup-3")
VALID_VARIANTS = ("plain", "padded", "odd extras", "typed", "duplicate id", "huge table")
BODY_VARIANTS = ("not utf-8", "empty", "65 KiB")  # and 2 MiB, a kind of its own
UNREADABLE_VARIANTS = ("message_id", "timestamp", "app_id", "header name", "header timestamp")


class Pick(Protocol):
    def choice(self, options: Sequence[T]) -> T: ...

    def integer(self, low: int, high: int) -> int: ...

    def binary(self, size: int) -> bytes: ...


class RandomPick:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def choice(self, options: Sequence[T]) -> T:
        return self.rng.choice(options)

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def binary(self, size: int) -> bytes:
        return self.rng.randbytes(size)


@dataclass(frozen=True)
class World:
    users: Sequence[int]  # known platform users
    unknown_user: int  # not a platform user
    event_id: int


@dataclass
class FuzzMessage:
    n: int
    kind: str
    valid: bool  # must be answered (not as an error) and not dead-lettered; else must be dead-lettered
    message: RawMessage
    key: tuple[Any, ...] | None = None  # (user, command, AMQP message_id) of a valid command with an id


def _long_string(raw: bytes) -> bytes:
    return b"S" + struct.pack(">I", len(raw)) + raw


def _entries(headers: Mapping[str, Any]) -> list[tuple[bytes, bytes]]:
    """Header entries: str/int/... encoded by pamqp, bytes as given (tagged)."""
    return [(name.encode(), value if isinstance(value, bytes) else tagged(value)) for name, value in headers.items()]


class _Builder:
    def __init__(self, pick: Pick, world: World, n: int) -> None:
        self.pick, self.world, self.n = pick, world, n

    def user(self) -> int:
        return self.pick.choice(self.world.users)

    def envelope(self, user: int) -> dict[str, Any]:
        return {"fuzz": str(self.n), "user_id": str(user), "chat_id": str(user), "message_id": str(self.n)}

    def command_headers(self, name: str, user: int) -> dict[str, Any]:
        headers = self.envelope(user)
        if name != "list_events":
            headers["event_id"] = str(0 if name == "cancel_registration" and self.pick.integer(0, 3) == 0
                                      else self.world.event_id)
        if name == "rate_partner":
            headers["partner_id"] = str(self.user())
            headers["reaction"] = self.pick.choice(("like", "dislike", "report"))
        return headers

    def message(self, kind: str, valid: bool, body: bytes, headers: Mapping[str, Any] | None,
                key: tuple[Any, ...] | None = None, **properties: Any) -> FuzzMessage:
        if headers is not None:
            properties["headers"] = table(_entries(headers))
        return FuzzMessage(self.n, kind, valid, RawMessage(body, properties), key)

    # --- valid commands ------------------------------------------------------

    def valid(self, variant: str | None = None) -> FuzzMessage:
        name, user = self.pick.choice(COMMANDS), self.user()
        headers = self.command_headers(name, user)
        body = name.encode()
        variant = variant or self.pick.choice(("plain", "plain", "plain", *VALID_VARIANTS))
        properties: dict[str, Any] = {}
        key = None
        if variant == "padded":
            body = self.pick.choice((b" ", b"\n", b"\t ")) + body + self.pick.choice((b"", b"\r\n", b"  "))
        elif variant == "odd extras":  # headers the wire format ignores
            headers |= {"raw": _long_string(b"\xff\xfe"), "flag": True, "ratio": 0.5, "nested": {"a": 1},
                        "items": [1, "two"], "blob": bytearray(b"\x00\x01"), "nothing": None}
        elif variant == "typed":  # integers typed as integers, not strings
            headers |= {"user_id": user, "chat_id": user}
        elif variant == "duplicate id":
            properties["message_id"] = self.pick.choice(DUPLICATE_IDS)
            key = (user, name, properties["message_id"])
        elif variant == "huge table":
            headers |= {f"h{k}": k % 100 for k in range(15_000)}
        return self.message(f"valid {variant}", True, body, headers, key, **properties)

    # --- bad input -----------------------------------------------------------

    def unknown_command(self) -> FuzzMessage:
        if self.pick.integer(0, 1):
            text = self.pick.choice(NEAR_MISSES)
        else:
            text = "".join(self.pick.choice("abcdefghijklmnopqrstuvwxyz_ 0123456789") for _ in range(self.pick.integer(1, 20)))
        if text.strip() in COMMANDS:
            text += "!"
        return self.message("unknown command", False, text.encode(), self.envelope(self.user()))

    def missing_header(self) -> FuzzMessage:
        name = self.pick.choice(COMMANDS[1:])
        headers = self.command_headers(name, self.user())
        required = ["user_id", "chat_id", "event_id"] + (["partner_id", "reaction"] if name == "rate_partner" else [])
        if name == "cancel_registration":
            headers["event_id"] = str(self.world.event_id)
        del headers[self.pick.choice(required)]
        return self.message("missing header", False, name.encode(), headers)

    def bad_header_value(self) -> FuzzMessage:
        name = self.pick.choice(COMMANDS[1:])
        headers = self.command_headers(name, self.user())
        target = self.pick.choice(["user_id", "chat_id", "event_id", "message_id"]
                                  + (["partner_id", "reaction"] if name == "rate_partner" else []))
        odd: list[Any] = [*NOT_INTEGERS, True, 2.5, [1, 2], {"n": 1}, _long_string(b"\xff1"), None]
        if target == "message_id":  # optional: only a value that is there and no integer is bad
            odd = [v for v in NOT_INTEGERS if v.strip()]
        if target == "event_id":
            odd += ["-5", str(-(2**40)), "0" if name != "cancel_registration" else "-1"]
        if target == "user_id":
            odd += ["-3", str(self.world.unknown_user)]
        if target == "reaction":
            odd = ["love", "", "LIKE", "like ", 1, True]
        value = self.pick.choice(odd)
        if target == "reaction" and value == "like ":  # stripped: a valid reaction
            value = "like!"
        headers[target] = value
        return self.message(f"bad {target}", False, name.encode(), headers)

    def unknown_user(self) -> FuzzMessage:
        name = self.pick.choice(COMMANDS)
        return self.message("unknown user", False, name.encode(), self.command_headers(name, self.world.unknown_user))

    def bad_body(self, variant: str | None = None) -> FuzzMessage:
        variant = variant or self.pick.choice(BODY_VARIANTS)
        if variant == "not utf-8":
            body = b"\xff" + self.pick.binary(self.pick.integer(0, 40))
        elif variant == "empty":
            body = b""
        else:
            size = 65 * 1024 if variant == "65 KiB" else 2 * 1024 * 1024
            seed = self.pick.integer(0, 2**32 - 1)
            body = b"list_events" + random.Random(seed).randbytes(size - 11)
        return self.message(f"body {variant}", False, body, self.envelope(self.user()))

    def unreadable_properties(self, variant: str | None = None) -> FuzzMessage:
        name, user = self.pick.choice(COMMANDS), self.user()
        headers = self.command_headers(name, user)
        variant = variant or self.pick.choice(UNREADABLE_VARIANTS)
        properties: dict[str, Any] = {}
        entries = _entries(headers)
        if variant == "message_id":
            properties["message_id"] = short_string(b"\xff" + self.pick.binary(self.pick.integer(0, 8)))
        elif variant == "timestamp":
            properties["timestamp"] = timestamp(self.pick.choice((LIST_BEFORE_OFFSET, 2**63 + 7, 10**17)))
        elif variant == "app_id":
            properties["app_id"] = short_string(b"\xc3(")
        elif variant == "header name":
            entries.append((b"\xfe" + self.pick.binary(2), tagged("x")))
        else:
            entries.append((b"sent", b"T" + struct.pack(">Q", LIST_BEFORE_OFFSET)))
        properties["headers"] = table(entries)
        return FuzzMessage(self.n, f"unreadable {variant}", False, RawMessage(name.encode(), properties))

    def no_headers(self) -> FuzzMessage:
        return self.message("no headers", False, self.pick.choice(COMMANDS).encode(), None,
                            message_id=f"fuzz:{self.n}")

    def huge_bad_table(self) -> FuzzMessage:
        headers = self.envelope(self.user()) | {f"h{k}": k % 100 for k in range(15_000)}
        return self.message("huge table", False, b"no_such_command", headers, message_id=f"fuzz:{self.n}")

    def duplicate_bad(self) -> FuzzMessage:
        message = self.unknown_command()
        message.message.properties["message_id"] = self.pick.choice(DUPLICATE_IDS)
        message.kind = "duplicate id, unknown command"
        return message


# Bad kinds and their weights: a 2 MiB body is about 1 in 250 bad messages.
BAD: dict[str, tuple[int, Callable[[_Builder], FuzzMessage]]] = {
    "unknown command": (40, _Builder.unknown_command),
    "missing header": (40, _Builder.missing_header),
    "bad header value": (80, _Builder.bad_header_value),
    "unknown user": (20, _Builder.unknown_user),
    "bad body": (24, _Builder.bad_body),
    "2 MiB body": (1, lambda b: b.bad_body("2 MiB")),
    "unreadable properties": (32, _Builder.unreadable_properties),
    "no headers": (12, _Builder.no_headers),
    "huge table": (2, _Builder.huge_bad_table),
    "duplicate id": (16, _Builder.duplicate_bad),
}
_WEIGHTED_BAD = [build for weight, build in BAD.values() for _ in range(weight)]


def wire_message(pick: Pick, world: World, n: int, valid_share: float = 0.2) -> FuzzMessage:
    """One generated message: valid with `valid_share` probability."""
    builder = _Builder(pick, world, n)
    if pick.integer(0, 99) < valid_share * 100:
        return builder.valid()
    return pick.choice(_WEIGHTED_BAD)(builder)


def every_kind(world: World, first: int, seed: int = 0) -> list[FuzzMessage]:
    """One message of every kind and variant, numbered from `first`."""
    pick = RandomPick(random.Random(seed))
    builds: list[Callable[[_Builder], FuzzMessage]] = [
        *(lambda b, v=v: b.valid(v) for v in VALID_VARIANTS),
        *(build for _, build in BAD.values()),
        *(lambda b, v=v: b.bad_body(v) for v in BODY_VARIANTS),
        *(lambda b, v=v: b.unreadable_properties(v) for v in UNREADABLE_VARIANTS),
    ]
    return [build(_Builder(pick, world, first + k)) for k, build in enumerate(builds)]


# --- what came back ----------------------------------------------------------


def number_of(headers: Mapping[str, Any] | None, message_id: str | None) -> int | None:
    """The fuzz number a reply or a dead letter carries, if any."""
    headers = headers or {}
    for name in ("fuzz", "message_id"):
        value = headers.get(name)
        if isinstance(value, bytes | bytearray):
            value = value.decode("utf-8", "replace")
        if isinstance(value, str) and value.isdigit():
            return int(value)
    if message_id and message_id.startswith("fuzz:") and message_id[5:].isdigit():
        return int(message_id[5:])
    return None


@dataclass
class Outcome:
    replies: dict[int, list[tuple[Any, str | None]]] = field(default_factory=dict)  # n -> [(body, reply id)]
    dead: Counter[int] = field(default_factory=Counter)
    stray: int = 0

    def reply(self, n: int | None, body: Any, reply_id: str | None) -> None:
        if n is None:
            self.stray += 1
        else:
            self.replies.setdefault(n, []).append((body, reply_id))

    def dead_letter(self, n: int | None) -> None:
        if n is None:
            self.stray += 1
        else:
            self.dead[n] += 1

    def settled(self, message: FuzzMessage) -> bool:
        return bool(self.dead[message.n]) if not message.valid else message.n in self.replies


def problems(messages: Sequence[FuzzMessage], outcome: Outcome) -> list[str]:
    """What is wrong with what came back; empty when all is as it should be."""
    found: list[str] = []
    for m in messages:
        answers = [body for body, _ in outcome.replies.get(m.n, [])]
        if m.valid:
            if len(answers) != 1 or (isinstance(answers[0], dict) and answers[0].get("success") is False):
                found.append(f"{m.n} ({m.kind}): valid, answered {answers!r}")
            if outcome.dead[m.n]:
                found.append(f"{m.n} ({m.kind}): valid, dead-lettered")
        else:
            if outcome.dead[m.n] != 1:
                found.append(f"{m.n} ({m.kind}): bad, dead-lettered {outcome.dead[m.n]} times")
            if any(not (isinstance(a, dict) and a.get("success") is False) for a in answers) or len(answers) > 1:
                found.append(f"{m.n} ({m.kind}): bad, answered {answers!r}")
    # A reply id is shared only by the replies of one valid command's copies
    # (same user, command and AMQP message_id).
    keys: dict[str, set[Any]] = {}
    by_n = {m.n: m for m in messages}
    for n, replies in outcome.replies.items():
        for _, reply_id in replies:
            keys.setdefault(str(reply_id), set()).add(by_n[n].key if n in by_n and by_n[n].key else ("n", n))
    found += [f"reply id {rid} shared by {sorted(map(str, ks))}" for rid, ks in keys.items() if len(ks) > 1]
    return found


def summary(messages: Sequence[FuzzMessage]) -> str:
    kinds = Counter(m.kind for m in messages)
    return ", ".join(f"{kind}: {count}" for kind, count in sorted(kinds.items()))


