"""ConfirmedPublisher against the real RabbitMQ: what the bot receives is
what BotPublisher sends, every message confirmed, and a failed batch is
reported so the caller can publish it again on a fresh connection. (Two
tests need no broker: the content header and the ack bookkeeping.)"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from dataclasses import dataclass
from uuid import uuid4

import aio_pika
import pytest
from pamqp import frame as amqp_frame
from pamqp import header as amqp_header

from datemaker.adapters.rabbitmq.publisher import ConfirmedPublisher, PublishFailed, content_header
from bench.harness.aio_pika_publisher import BotPublisher
from datemaker.adapters.rabbitmq.topology import broker_url
from datemaker.app.bot_messages import Outgoing
from datemaker.settings import Settings, load_settings

from ..support.bot_harness import run
from ..support.tcp_proxy import CuttableProxy

WAIT = 15.0


@dataclass(frozen=True)
class Message:
    """Outgoing's shape, with any body and headers."""

    body: bytes
    headers: dict
    message_id: str
    command: str = "custom"
    event_id: int = 1
    user_id: int = 1
    round_no: int = 0


def make_settings(**overrides: object) -> Settings:
    return load_settings(RABBITMQ_EXCHANGE=f"test-pub-{uuid4().hex}", **overrides)


def outgoing(n: int, start: int = 0) -> list[Outgoing]:
    commands = ("confirm_registration", "round_started", "send_event_cancelled")
    return [
        Outgoing(42, 7_000_000_000 + k, commands[k % 3],
                 {"round": k % 5, "url": "https://meet.example/x"} if k % 2 else None, k % 5)
        for k in range(start, start + n)
    ]


def raw_properties(delivered) -> dict:
    props = delivered.header.properties
    return {name: getattr(props, name) for name in props.__slots__}


class BotQueue:
    """An exclusive queue bound to the test's exchange with the bot routing
    key, read below aio-pika's Message so the raw properties can be compared."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.received: list = []
        self.arrived = asyncio.Event()

    async def open(self) -> BotQueue:
        self.connection = await aio_pika.connect(broker_url(self.settings))
        self.channel = await self.connection.channel()
        self.queue = await self.channel.declare_queue(exclusive=True, auto_delete=True)
        raw = await self.channel.get_underlay_channel()
        await raw.basic_consume(self.queue.name, self._on_message, no_ack=True)
        return self

    async def _on_message(self, delivered) -> None:
        self.received.append(delivered)
        self.arrived.set()

    async def bind(self) -> None:
        """After the publisher declared the exchange."""
        await self.queue.bind(self.settings.rabbitmq_exchange, routing_key=self.settings.bot_routing_key)

    async def take(self, count: int) -> list:
        deadline = time.monotonic() + WAIT
        while len(self.received) < count:
            self.arrived.clear()
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{len(self.received)} of {count} messages arrived"
            try:
                await asyncio.wait_for(self.arrived.wait(), remaining)
            except TimeoutError:
                pass
        await asyncio.sleep(0.1)  # anything extra would show up now
        assert len(self.received) == count
        taken, self.received = self.received, []
        return taken

    async def close(self) -> None:
        await self.channel.exchange_delete(self.settings.rabbitmq_exchange)
        await self.connection.close()


async def publish_and_take(publisher, queue: BotQueue, messages) -> list:
    await publisher.publish(messages)
    return await queue.take(len(messages))


def test_the_content_header_is_the_one_aio_pika_marshals():
    shapes = [
        Message(b"x", {"user_id": "7", "chat_id": "7", "event_id": "12"}, "dm:12:0:confirm_registration:7"),
        Message(b"", {}, "empty"),
        Message(b"y" * 70000, {"zeta": "ünïcode ✓", "alpha": ""}, "id-ä"),
        Message(b"z", {"n": 5, "flag": True, "s": "text"}, "not-only-text"),  # other value types
        Message(b"w", {"k" * 200: "long key"}, "long-key"),  # truncated to 128 bytes
    ]
    for m in shapes:
        properties = aio_pika.Message(
            body=m.body, headers=m.headers, message_id=m.message_id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT
        ).properties
        want = amqp_frame.marshal(amqp_header.ContentHeader(0, len(m.body), properties), 1)
        assert content_header(m, len(m.body)) == want, m.message_id


@pytest.mark.slow
@pytest.mark.rabbitmq
def test_messages_arrive_in_order_exactly_as_bot_publisher_sends_them():
    settings = make_settings()
    messages = outgoing(5000)

    async def main() -> None:
        queue = await BotQueue(settings).open()
        old = BotPublisher(settings)
        new = ConfirmedPublisher(settings)
        try:
            await new.start()
            await old.start()
            await queue.bind()
            sample = messages[:6]
            by_old = await publish_and_take(old, queue, sample)
            by_new = await publish_and_take(new, queue, sample)
            for a, b in zip(by_old, by_new, strict=True):
                assert raw_properties(b) == raw_properties(a)
                assert amqp_frame.marshal(b.header, 1) == amqp_frame.marshal(a.header, 1)
                assert b.body == a.body

            received = await publish_and_take(new, queue, messages)
            assert [d.header.properties.message_id for d in received] == [m.message_id for m in messages]
            for d, m in zip(received, messages, strict=True):
                assert d.body == m.body
                assert d.header.properties.headers == m.headers
                assert d.header.properties.delivery_mode == 2
                assert d.routing_key == settings.bot_routing_key
                assert d.exchange == settings.rabbitmq_exchange
        finally:
            await new.close()
            await old.close()
            await queue.close()

    run(main)


@pytest.mark.rabbitmq
def test_a_body_larger_than_frame_max_arrives_whole():
    settings = make_settings()
    body = os.urandom(3 * 131072 + 17)

    async def main() -> None:
        queue = await BotQueue(settings).open()
        publisher = ConfirmedPublisher(settings)
        try:
            await publisher.start()
            await queue.bind()
            assert len(body) > publisher._conn.frame_max
            big = Message(body, {"chat_id": "1"}, "big")
            batch = [Message(b"before", {}, "a"), big, Message(b"after", {}, "b")]
            received = await publish_and_take(publisher, queue, batch)
            assert [d.body for d in received] == [b"before", body, b"after"]
        finally:
            await publisher.close()
            await queue.close()

    run(main)


@pytest.mark.rabbitmq
@pytest.mark.parametrize("window", [7, 5000])
def test_on_published_is_called_once_per_confirmed_message(window):
    settings = make_settings()
    messages = outgoing(1234)
    seen: list[str] = []

    async def main() -> None:
        queue = await BotQueue(settings).open()
        publisher = ConfirmedPublisher(settings, window=window, on_published=seen.append)
        try:
            await publisher.start()
            await queue.bind()
            received = await publish_and_take(publisher, queue, messages)
            assert [d.header.properties.message_id for d in received] == [m.message_id for m in messages]
        finally:
            await publisher.close()
            await queue.close()

    run(main)
    assert seen == [m.command for m in messages]
    assert Counter(seen) == {"confirm_registration": 412, "round_started": 411, "send_event_cancelled": 411}


@pytest.mark.rabbitmq
def test_an_exchange_of_another_type_fails_the_batch_and_the_next_publish_works():
    settings = make_settings()

    async def main() -> None:
        queue = await BotQueue(settings).open()
        publisher = ConfirmedPublisher(settings)
        try:
            await queue.channel.declare_exchange(settings.rabbitmq_exchange, aio_pika.ExchangeType.FANOUT, durable=True)
            with pytest.raises(PublishFailed) as failed:
                await publisher.publish(outgoing(3))
            assert failed.value.reply_code == 406
            assert "PRECONDITION_FAILED" in str(failed.value)

            await queue.channel.exchange_delete(settings.rabbitmq_exchange)
            await publisher.start()
            await queue.bind()
            received = await publish_and_take(publisher, queue, outgoing(3))
            assert len(received) == 3
        finally:
            await publisher.close()
            await queue.close()

    run(main)


@pytest.mark.rabbitmq
def test_an_exchange_deleted_under_the_publisher_fails_the_batch_and_the_next_publish_reconnects():
    settings = make_settings()
    seen: list[str] = []

    async def main() -> None:
        queue = await BotQueue(settings).open()
        publisher = ConfirmedPublisher(settings, on_published=seen.append)
        try:
            await publisher.start()
            await queue.channel.exchange_delete(settings.rabbitmq_exchange)
            with pytest.raises(PublishFailed) as failed:
                await publisher.publish(outgoing(100))
            assert failed.value.reply_code == 404
            assert "NOT_FOUND" in failed.value.reply_text

            # The exchange is back (as the publisher declares it) and bound:
            # the same batch, published again, arrives whole.
            await queue.channel.declare_exchange(settings.rabbitmq_exchange, aio_pika.ExchangeType.DIRECT, durable=True)
            await queue.bind()
            seen.clear()
            received = await publish_and_take(publisher, queue, outgoing(100))
            assert [d.body for d in received] == [m.body for m in outgoing(100)]
            assert len(seen) == 100
        finally:
            await publisher.close()
            await queue.close()

    run(main)


@pytest.mark.slow
@pytest.mark.rabbitmq
def test_a_cut_connection_fails_the_batch_and_the_next_publish_reconnects():
    proxy = CuttableProxy(5672)
    settings = make_settings(RABBITMQ_PORT=proxy.port)
    messages = outgoing(20000)
    seen: list[str] = []

    async def main() -> None:
        queue = await BotQueue(settings.model_copy(update={"rabbitmq_port": 5672})).open()
        publisher = ConfirmedPublisher(settings, on_published=seen.append)
        try:
            await publisher.start()
            await queue.bind()
            conn = publisher._conn
            batch = asyncio.create_task(publisher.publish(messages))
            while conn.confirmed == 0:  # cut at the first confirm, mid-batch
                await asyncio.sleep(0)
            proxy.cut()
            with pytest.raises(PublishFailed, match="connection to RabbitMQ lost"):
                await asyncio.wait_for(batch, WAIT)
            assert seen == []  # none counted: the caller publishes the batch again
            proxy.restore()
            # What got through before the cut may still be arriving: look
            # for the new batch by its ids.
            later = outgoing(500, start=len(messages))
            await publisher.publish(later)
            want = [m.message_id for m in later]
            wanted = set(want)
            deadline = time.monotonic() + WAIT
            while len(got := [d.header.properties.message_id for d in queue.received
                              if d.header.properties.message_id in wanted]) < 500:
                assert time.monotonic() < deadline, f"{len(got)} of 500 arrived"
                await asyncio.sleep(0.05)
            assert got == want
            assert len(seen) == 500
        finally:
            await publisher.close()
            await queue.close()
            proxy.close()

    run(main)


class StallingProxy:
    """Passes bytes to and from RabbitMQ; while stalled, the broker's bytes
    are held back, as from a broker that has gone quiet."""

    def __init__(self) -> None:
        self.flowing = asyncio.Event()
        self.flowing.set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _client(self, reader, writer) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", 5672)

        async def pump(source, sink, gated: bool) -> None:
            try:
                while data := await source.read(65536):
                    if gated:
                        await self.flowing.wait()
                    sink.write(data)
                    await sink.drain()
            finally:
                sink.close()

        await asyncio.gather(pump(reader, up_writer, False), pump(up_reader, writer, True), return_exceptions=True)

    async def close(self) -> None:
        self.flowing.set()
        self.server.close()


@pytest.mark.slow
@pytest.mark.rabbitmq
def test_no_confirm_within_the_timeout_fails_the_batch():
    async def main() -> None:
        proxy = StallingProxy()
        settings = make_settings(RABBITMQ_PORT=await proxy.start())
        queue = await BotQueue(settings.model_copy(update={"rabbitmq_port": 5672})).open()
        publisher = ConfirmedPublisher(settings, confirm_timeout=0.5)
        try:
            await publisher.start()
            await queue.bind()
            await publish_and_take(publisher, queue, outgoing(10))
            proxy.flowing.clear()
            started = time.monotonic()
            with pytest.raises(PublishFailed, match=r"no confirm from RabbitMQ within 0.5 s"):
                await publisher.publish(outgoing(10, start=10))
            assert time.monotonic() - started < 5
            proxy.flowing.set()
            await queue.take(10)  # they did reach the broker; the caller publishes again
            assert len(await publish_and_take(publisher, queue, outgoing(10, start=10))) == 10
        finally:
            await publisher.close()
            await queue.close()
            await proxy.close()

    run(main)


@pytest.mark.rabbitmq
def test_a_wrong_password_is_a_clear_error_without_the_password():
    password = "not-the-password-" + uuid4().hex
    settings = make_settings(DATEMAKER_RABBITMQ_PASSWORD=password)

    async def main() -> None:
        publisher = ConfirmedPublisher(settings)
        with pytest.raises(PublishFailed) as failed:
            await publisher.publish(outgoing(1))
        text = f"{failed.value} {failed.value!r} {failed.value.reply_text}"
        assert failed.value.reply_code == 403
        assert "ACCESS_REFUSED" in text
        assert password not in text
        await publisher.close()

    run(main)


@pytest.mark.rabbitmq
def test_close_is_clean_and_publish_after_close_reconnects():
    settings = make_settings()

    async def main() -> None:
        queue = await BotQueue(settings).open()
        publisher = ConfirmedPublisher(settings)
        try:
            await publisher.start()
            await queue.bind()
            await publish_and_take(publisher, queue, outgoing(5))
            conn = publisher._conn
            started = time.monotonic()
            await publisher.close()
            assert time.monotonic() - started < 1.0  # CloseOk came: no waiting out the timeout
            assert conn.lost.done() and conn.transport.is_closing()
            await publisher.close()  # twice is fine
            received = await publish_and_take(publisher, queue, outgoing(5, start=5))
            assert [d.header.properties.message_id for d in received] == [m.message_id for m in outgoing(5, start=5)]
        finally:
            await publisher.close()
            await queue.close()

    run(main)


def test_acks_settle_in_any_order_single_or_multiple():
    import random

    from datemaker.adapters.rabbitmq.publisher import _Connection

    async def main() -> None:
        rng = random.Random(7)
        for _ in range(50):  # the broker may confirm out of order, one by one
            conn = _Connection(asyncio.get_running_loop())
            tags = list(range(1, 301))
            rng.shuffle(tags)
            for tag in tags:
                conn.ack(tag, 0)
            assert conn.confirmed == 300 and not conn.acked_ahead
        conn = _Connection(asyncio.get_running_loop())
        for tag in (5, 9, 3, 2):
            conn.ack(tag, 0)
        assert conn.confirmed == 0
        conn.ack(4, 1)  # 1-4, and 5 was acked on its own before
        assert conn.confirmed == 5 and conn.acked_ahead == {9}
        conn.ack(12, 1)
        conn.ack(7, 0)  # already covered: ignored
        assert conn.confirmed == 12 and not conn.acked_ahead

    run(main)
