"""The bench's side of the bot: its queues, and the messages they received."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from harness.broker import AMQP_URL, Broker, declare_bot_queue
from harness.report import BenchFailure


class RoundClockBroker(Broker):
    """The bench's connection, with a channel for bot-side queues of its own."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings, "bench-round-clock")

    async def start(self) -> None:
        await super().start()
        self.reader = await self.connection.channel()
        await self.reader.set_qos(prefetch_count=2000)

    async def bot_queue(self) -> Any:
        return await declare_bot_queue(self.reader, self.settings.rabbitmq_exchange, self.settings.bot_routing_key,
                                       f"{self.settings.rabbitmq_exchange}_bot_{uuid.uuid4().hex[:6]}",
                                       exclusive=True, auto_delete=False)


@dataclass
class Arrivals:
    """Messages the bench's bot queue received, with their arrival (wall clock)."""

    seen: dict[str, float] = field(default_factory=dict)
    duplicates: int = 0
    commands: Counter[str] = field(default_factory=Counter)
    bodies: dict[str, Any] = field(default_factory=dict)
    keep_bodies: bool = False

    async def on_message(self, message: Any) -> None:
        self.record(message.message_id or "", time.time(), message.body)

    def record(self, mid: str, arrived: float, body: bytes = b"") -> None:
        if mid in self.seen:
            self.duplicates += 1
            return
        self.seen[mid] = arrived
        self.commands[mid.split(":")[3] if mid.count(":") >= 4 else "?"] += 1
        if self.keep_bodies:
            self.bodies[mid] = body


class BotListener:
    """The skew phase's bot: a process of its own at low priority, so that
    reading ~33,000 messages as they come (the bot's work, which in production
    runs elsewhere) takes no CPU from the service under test. It writes each
    message id with its arrival time to a file, read back into `Arrivals`."""

    def __init__(self, exchange: str, routing_key: str) -> None:
        import multiprocessing

        self._file = tempfile.NamedTemporaryFile(prefix="bench-rc-bot-", suffix=".txt", delete=False)
        context = multiprocessing.get_context("spawn")
        self._ready, self._stop = context.Event(), context.Event()
        self._process = context.Process(target=listen_as_bot, daemon=True,
                                        args=(exchange, routing_key, self._file.name, self._ready, self._stop))
        self._process.start()
        if not self._ready.wait(30):
            raise BenchFailure("the bench's bot process did not start")
        self.arrivals = Arrivals()
        self._read_lines = 0

    def refresh(self) -> Arrivals:
        with open(self._file.name, encoding="utf-8") as f:
            lines = f.read().splitlines()
        for line in lines[self._read_lines :]:
            mid, _, arrived = line.rpartition(" ")
            if not mid or not arrived:
                break  # a line still being written
            self.arrivals.record(mid, float(arrived))
            self._read_lines += 1
        return self.arrivals

    def close(self) -> Arrivals:
        if self._stop.is_set():
            return self.arrivals  # closed already
        self._stop.set()
        self._process.join(10)
        self.refresh()
        with contextlib.suppress(OSError):
            os.unlink(self._file.name)
        return self.arrivals


def listen_as_bot(exchange: str, routing_key: str, path: str, ready: Any, stop: Any) -> None:
    os.nice(10)
    import aio_pika

    async def main() -> None:
        connection = await aio_pika.connect(AMQP_URL, client_properties={"connection_name": "bench-rc-bot"})
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=2000)
        queue = await declare_bot_queue(channel, exchange, routing_key, f"{exchange}_bot_{uuid.uuid4().hex[:6]}",
                                        exclusive=True)
        with open(path, "a", encoding="utf-8") as out:
            async def on_message(message: Any) -> None:
                out.write(f"{message.message_id or ''} {time.time()}\n")

            await queue.consume(on_message, no_ack=True)
            ready.set()
            while not stop.is_set():
                out.flush()
                await asyncio.sleep(0.05)
            out.flush()
        await connection.close()

    asyncio.run(main())


async def drain(queue: Any, arrivals: Arrivals, expected: int, timeout: float) -> None:
    """Consume the queue until `expected` messages were read or it stays empty."""
    tag = await queue.consume(arrivals.on_message, no_ack=True)
    deadline = time.monotonic() + timeout
    last, quiet_since = -1, time.monotonic()
    while len(arrivals.seen) + arrivals.duplicates < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        n = len(arrivals.seen) + arrivals.duplicates
        if n != last:
            last, quiet_since = n, time.monotonic()
        elif time.monotonic() - quiet_since > 2.0:
            break
    await queue.cancel(tag)
