"""The bench's stand-in for the platform bot: commands out, replies in."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from harness.broker import Broker, declare_bot_queue
from harness.report import BenchFailure
from harness.service import Worker


@dataclass
class Collector:
    """Replies of one phase, keyed by the bench's sequence number."""

    expected: int
    bodies: dict[int, Any] = field(default_factory=dict)
    received_ns: dict[int, int] = field(default_factory=dict)
    sent_ns: dict[int, int] = field(default_factory=dict)
    duplicates: int = 0
    first_ns: int | None = None
    last_ns: int | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, seq: int, body: Any, sent_ns: int | None, now_ns: int) -> None:
        if seq in self.bodies:
            self.duplicates += 1
            return
        self.bodies[seq] = body
        self.received_ns[seq] = now_ns
        if sent_ns is not None:
            self.sent_ns[seq] = sent_ns
        if self.first_ns is None:
            self.first_ns = now_ns
        self.last_ns = now_ns
        if len(self.bodies) >= self.expected:
            self.done.set()

    def all_registered(self) -> bool:
        return len(self.bodies) == self.expected and all(
            b == {"user_registered": True} for b in self.bodies.values()
        )

    def wrong(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for body in self.bodies.values():
            if body != {"user_registered": True}:
                key = json.dumps(body, sort_keys=True)
                counts[key] = counts.get(key, 0) + 1
        return counts


class BotSide(Broker):
    """The bench's stand-in for the platform bot: publishes commands and reads
    the replies from a queue of its own bound with the bot routing key."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings, "bench-bot")
        self.phases: dict[str, Collector] = {}
        self.stray = 0

    async def start(self) -> None:
        await super().start()
        self.confirming = await self.connection.channel(publisher_confirms=True)
        self.exchange = await self.confirming.get_exchange(self.settings.rabbitmq_exchange)
        self.fast = await self.connection.channel(publisher_confirms=False)
        self.fast_exchange = await self.fast.get_exchange(self.settings.rabbitmq_exchange)
        self.reader = await self.connection.channel()
        self.bot_queue = await declare_bot_queue(self.reader, self.settings.rabbitmq_exchange,
                                                 self.settings.bot_routing_key, exclusive=True, auto_delete=True)
        await self.bot_queue.consume(self._on_reply, no_ack=True)

    async def _on_reply(self, message: Any) -> None:
        now = time.monotonic_ns()
        headers = message.headers or {}

        def text(name: str) -> str | None:
            value = headers.get(name)
            return value.decode() if isinstance(value, bytes) else (None if value is None else str(value))

        phase = self.phases.get(text("bench_phase") or "")
        seq = text("bench_seq")
        if phase is None or seq is None:
            self.stray += 1
            return
        try:
            body = json.loads(message.body)
        except ValueError:
            body = {"unparsable": message.body[:80].decode("utf-8", "replace")}
        sent = text("bench_sent_ns")
        phase.add(int(seq), body, int(sent) if sent else None, now)

    def expect(self, phase: str, count: int) -> Collector:
        collector = Collector(count)
        self.phases[phase] = collector
        return collector

    def message(self, phase: str, seq: int, user_id: int, event_id: int, sent_ns: int | None = None) -> Any:
        import aio_pika

        headers = {
            "user_id": str(user_id),
            "chat_id": str(user_id),
            "message_id": str(100_000 + seq),
            "event_id": str(event_id),
            "bench_phase": phase,
            "bench_seq": str(seq),
        }
        if sent_ns is not None:
            headers["bench_sent_ns"] = str(sent_ns)
        return aio_pika.Message(body=b"register_event", headers=headers)

    async def prepublish(self, phase: str, routing_key: str, user_ids: list[int], event_id: int) -> None:
        """Publish every command with publisher confirms, in parallel chunks."""
        chunk = 500
        for start in range(0, len(user_ids), chunk):
            await asyncio.gather(*(
                self.exchange.publish(self.message(phase, seq, uid, event_id), routing_key=routing_key)
                for seq, uid in enumerate(user_ids[start:start + chunk], start)
            ))


async def wait_replies(
    collector: Collector, timeout: float, what: str, process: Worker, clean_exit_ok: bool = False
) -> None:
    deadline = time.monotonic() + timeout
    while not collector.done.is_set():
        process.check_alive(clean_exit_ok)
        if time.monotonic() > deadline:
            raise BenchFailure(
                f"{what}: timed out after {timeout:.0f} s with {len(collector.bodies)} of"
                f" {collector.expected} replies"
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(collector.done.wait(), 0.5)
