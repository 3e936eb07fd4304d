"""Every reply has an AMQP message_id of its own, so a bot that drops
duplicates by id never loses an answer; a redelivery of a command with an
AMQP message_id gets the same reply id as its first delivery."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from datemaker.adapters.rabbitmq.consumer import BotConsumer, receive
from datemaker.app.bot_commands import Answer
from datemaker.settings import load_settings


class Delivery:
    def __init__(self, body: bytes, headers: dict, message_id: str | None = None, redelivered: bool = False) -> None:
        self.body, self.headers, self.message_id, self.redelivered = body, headers, message_id, redelivered
        self.body_size = len(body)

    async def ack(self, multiple: bool = False) -> None: ...

    async def nack(self, requeue: bool = True) -> None: ...


class Exchange:
    def __init__(self) -> None:
        self.ids: list[str] = []

    async def publish(self, message, routing_key: str) -> None:
        self.ids.append(message.message_id)


class Replies:
    """In place of the lean publisher the replies go out through."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    async def publish(self, messages) -> None:
        self.ids += [m.message_id for m in messages]


def reply_ids(*deliveries: Delivery) -> list[str]:
    """The message_id of each delivery's reply, as the consumer sends them."""
    consumer = BotConsumer(load_settings(DATEMAKER_STORE="sqlite"), handle=lambda commands: [])
    received = [receive(d) for d in deliveries]  # type: ignore[arg-type]
    answers = [Answer({"user_registered": True}, "ok") for r in received if r.command is not None]
    consumer._replies = replies = Replies()  # type: ignore[assignment]
    topology = SimpleNamespace(exchange=Exchange(), dead_letters=Exchange())
    asyncio.run(consumer._settle_batch(received, answers, topology))  # type: ignore[arg-type]
    return replies.ids


def press(user: int = 5, amqp_message_id: str | None = None, redelivered: bool = False,
          body: bytes = b"register_event") -> Delivery:
    headers = {"user_id": str(user), "chat_id": str(user), "message_id": "40", "event_id": "1"}
    return Delivery(body, headers, amqp_message_id, redelivered)


def test_two_identical_button_presses_get_replies_with_different_ids():
    first, second = reply_ids(press(), press())
    assert first != second


def test_two_identical_bad_messages_get_replies_with_different_ids():
    first, second = reply_ids(press(body=b"no_such_command"), press(body=b"no_such_command"))
    assert first != second


def test_a_redelivered_command_with_an_amqp_message_id_gets_the_same_reply_id():
    [first] = reply_ids(press(amqp_message_id="m-1"))
    [again] = reply_ids(press(amqp_message_id="m-1", redelivered=True))
    assert first == again


def test_the_same_amqp_message_id_from_two_users_or_for_two_commands_gets_two_reply_ids():
    ids = reply_ids(press(5, "m-1"), press(6, "m-1"), press(5, "m-1", body=b"confirm_registration"))
    assert len(set(ids)) == 3
