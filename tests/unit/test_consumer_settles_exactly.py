"""The consumer acknowledges only what it settled: a message whose reply or
dead letter could not be published goes back to the queue, and no ack with
`multiple` ever covers it."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from datemaker.adapters.rabbitmq.consumer import BotConsumer, Received
from datemaker.app.bot_commands import Answer, bad_input
from datemaker.settings import load_settings


class Delivery:
    def __init__(self, tag: int, body: bytes) -> None:
        self.delivery_tag, self.body, self.headers, self.message_id = tag, body, {"chat_id": "1"}, None
        self.body_size = len(body)
        self.settled: list[str] = []

    async def ack(self, multiple: bool = False) -> None:
        self.settled.append("ack-multiple" if multiple else "ack")

    async def nack(self, requeue: bool = True) -> None:
        self.settled.append("requeued" if requeue else "rejected")


class Exchange:
    def __init__(self, refuse: bytes | None = None) -> None:
        self.refuse, self.published = refuse, []

    async def publish(self, message, routing_key: str) -> None:
        if self.refuse is not None and message.body == self.refuse:
            raise ConnectionError("the broker refused it")
        self.published.append(message.body)


class Replies:
    """In place of the lean publisher: the whole batch is confirmed, or none of it."""

    def __init__(self, fail: bool = False) -> None:
        self.fail, self.published = fail, []

    async def publish(self, messages) -> None:
        if self.fail:
            raise ConnectionError("the broker went away")
        self.published += [m.body for m in messages]


def settle(deliveries: list[Delivery], answers: list[Answer], dead_letters: Exchange,
           replies: Replies | None = None) -> BotConsumer:
    consumer = BotConsumer(load_settings(DATEMAKER_STORE="sqlite"), handle=lambda commands: [])
    consumer._replies = replies or Replies()  # type: ignore[assignment]
    received = [Received(d, {"chat_id": "1"}, None, a, 1) for d, a in zip(deliveries, answers, strict=True)]  # type: ignore[arg-type]
    topology = SimpleNamespace(exchange=Exchange(), dead_letters=dead_letters)
    asyncio.run(consumer._settle_batch(received, [], topology))  # type: ignore[arg-type]
    return consumer


def test_a_batch_that_settles_is_acknowledged_with_one_ack():
    deliveries = [Delivery(n, f"m{n}".encode()) for n in range(1, 4)]
    settle(deliveries, [bad_input("unknown command")] * 3, Exchange())
    assert [d.settled for d in deliveries] == [[], [], ["ack-multiple"]]


def test_a_message_whose_dead_letter_fails_goes_back_and_no_ack_covers_it():
    deliveries = [Delivery(n, f"m{n}".encode()) for n in range(1, 4)]
    settle(deliveries, [bad_input("unknown command")] * 3, Exchange(refuse=b"m2"))
    assert [d.settled for d in deliveries] == [["ack"], ["requeued"], ["ack"]]


def test_when_the_replies_are_not_confirmed_every_message_goes_back():
    deliveries = [Delivery(n, f"m{n}".encode()) for n in range(1, 4)]
    settle(deliveries, [bad_input("unknown command")] * 3, Exchange(), Replies(fail=True))
    assert [d.settled for d in deliveries] == [["requeued"]] * 3
