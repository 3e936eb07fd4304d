"""The bot's side of RabbitMQ: the command consumer (batched,
manual acks, replies with publisher confirms) and dead-lettering.

Order for every message: its effects are committed (with its reply), the
reply is confirmed by the broker, and only then is the message acked. A
crash anywhere in between redelivers it, and the stored reply is sent again
without a second state change."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from datemaker.adapters.rabbitmq import lenient_properties
from datemaker.adapters.rabbitmq.publisher import ConfirmedPublisher
from datemaker.adapters.rabbitmq.dead_letters import dead_letter, reply_headers, trimmed
from datemaker.adapters.rabbitmq.topology import Topology, broker_url, declare_topology
from datemaker.adapters.rabbitmq.wire import (
    MAX_BODY_BYTES,
    BadMessage,
    parse_command,
    reply_message_id,
    text_headers,
    usable_chat_id,
)
from datemaker.app.bot_commands import Answer, BotCommand, bad_input
from datemaker.app.pause import pause
from datemaker.app.ports import StoreUnavailable
from datemaker.logs import get_logger
from datemaker.settings import Settings

log = get_logger(__name__)

# A database restart takes seconds: a batch waits that out rather than
# answer "temporarily unavailable" (which the user would have to retry).
STORE_OUTAGE_GRACE_SECONDS = 60.0
STORE_OUTAGE_PAUSE_SECONDS = 0.5  # between tries (each already waits for a connection)


@dataclass(frozen=True)
class Received:
    message: AbstractIncomingMessage
    headers: dict[str, str]  # as text, echoed on the reply
    command: BotCommand | None
    answer: Answer | None  # set for bad input found while parsing
    chat_id: int | None
    arrived: float = field(default_factory=time.monotonic)


def receive(message: AbstractIncomingMessage) -> Received:
    headers = text_headers(message.headers)
    try:
        command = parse_command(
            message.body,
            message.headers,
            amqp_message_id=message.message_id,
            redelivered=bool(message.redelivered),
        )
        return Received(message, headers, command, None, usable_chat_id(headers))
    except BadMessage as bad:
        return Received(message, headers, None, bad_input(bad.phrase), bad.chat_id)


@dataclass(frozen=True)
class Reply:
    """A reply as the lean publisher sends it: the properties aio-pika gave
    replies (content type, headers, persistent, message id), the same bytes."""

    body: bytes
    headers: dict[str, str]
    message_id: str
    command: str  # for the publisher's count and log
    content_type: str = "application/json"
    event_id: int = 0
    user_id: int = 0
    round_no: int = 0


class BotConsumer:
    def __init__(
        self,
        settings: Settings,
        handle: Callable[[Sequence[BotCommand]], list[Answer]],
        *,
        batch_size: int = 256,
        prefetch: int = 512,
        on_answer: Callable[[str, str, float], None] | None = None,
        queue_depth_every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        store_outage_grace: float = STORE_OUTAGE_GRACE_SECONDS,
    ) -> None:
        self.settings = settings
        self._handle = handle
        self.batch_size = batch_size
        self.prefetch = prefetch
        self._on_answer = on_answer or (lambda command, outcome, seconds: None)
        self.queue_depth_every = queue_depth_every
        self.store_outage_grace = store_outage_grace
        self.store_outages = 0  # times a batch found the store away
        self.waiting_for_store = False
        self._inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        self.ready = asyncio.Event()  # set once consuming
        self.queue_depth = 0  # messages waiting in the input queue, as last read
        self._connection: AbstractRobustConnection | None = None
        # For /healthz: deliveries held, and when a batch was last settled.
        self._clock = clock
        self.unsettled = 0
        self.progress_at = clock()
        # Replies go out on a connection of their own through the lean
        # publisher: aio-pika costs ~250 µs of CPU per confirmed message,
        # a quarter of a command's whole cost.
        self._replies = ConfirmedPublisher(settings, connection_name="datemaker-replies", log_batches=False)

    @property
    def connected(self) -> bool:
        # A robust connection that is reconnecting is not closed, but its
        # `connected` event is clear until the broker answers again.
        conn = self._connection
        return conn is not None and not conn.is_closed and conn.connected.is_set()

    async def run(self, stop: asyncio.Event) -> None:
        lenient_properties.install()  # a message pamqp cannot decode must not drop the connection
        connection: AbstractRobustConnection = await aio_pika.connect_robust(
            broker_url(self.settings), client_properties={"connection_name": "datemaker"}
        )
        self._connection = connection
        watcher: asyncio.Task[None] | None = None
        try:
            channel = await connection.channel(publisher_confirms=True)
            await channel.set_qos(prefetch_count=self.prefetch)
            topology = await declare_topology(connection, channel, self.settings)
            tag = await topology.queue.consume(self._arrived, no_ack=False)
            watcher = asyncio.create_task(self._watch_queue_depth(connection, stop))
            self.ready.set()
            log.info("consuming", queue=self.settings.rabbitmq_queue, routing_key=self.settings.inbound_routing_key)
            # While one batch's replies go out, the next batch is handled; each
            # batch is settled only after the one before it.
            settling: asyncio.Task[None] | None = None
            while not stop.is_set():
                batch = await self._next_batch(stop)
                if not batch:
                    continue
                received = [receive(m) for m in batch]
                answers = await self._answers([r.command for r in received if r.command is not None], stop)
                if answers is None:  # stopped while the store was away: all of it back to the queue
                    for message in batch:
                        await message.nack(requeue=True)
                    break
                if settling is not None:
                    await settling
                settling = asyncio.create_task(self._settle_batch(received, answers, topology))
                settling.add_done_callback(partial(self._settled, len(batch)))
            if settling is not None:
                await settling
            await topology.queue.cancel(tag)
            await self._give_back_unprocessed()
        finally:
            if watcher is not None:
                watcher.cancel()
            await self._replies.close()
            await connection.close()

    async def _delivered(self, message: AbstractIncomingMessage) -> None:
        if not self.unsettled:  # caught up until now: a stall counts from here
            self.progress_at = self._clock()
        self.unsettled += 1
        await self._inbox.put(message)

    def _settled(self, count: int, _: asyncio.Task[None]) -> None:
        self.unsettled -= count  # settled, or gone with their channel (redelivered anew)
        self.progress_at = self._clock()

    def stalled_seconds(self) -> float:
        """How long work has waited (deliveries held, messages in the queue)
        while no batch was settled; 0 when none waits."""
        if not self.unsettled and not self.queue_depth:
            return 0.0
        return max(self._clock() - self.progress_at, 0.0)

    async def _watch_queue_depth(self, connection: AbstractRobustConnection, stop: asyncio.Event) -> None:
        """Read how many messages wait in the queue, every few seconds."""
        channel = await connection.channel()
        while not stop.is_set():
            try:
                # Not kept by the library (robust=False): a kept passive queue is never asked again.
                declared = await channel.declare_queue(self.settings.rabbitmq_queue, passive=True, robust=False)
                self.queue_depth = int(declared.declaration_result.message_count or 0)
            except Exception as exc:  # reconnecting: try again next time
                log.debug("queue depth unavailable", error=repr(exc))
                if channel.is_closed:
                    channel = await connection.channel()
            await pause(stop, self.queue_depth_every)

    async def _arrived(self, message: AbstractIncomingMessage) -> None:
        """A body over the limit is cut as it arrives, and a table of too many
        headers trimmed, so what is held waiting is at most prefetch x (64 KiB
        + one frame of headers). The cut body still reads as too large (one
        byte over) and its full length is kept (body_size)."""
        if message.body_size > MAX_BODY_BYTES:
            message.body = message.body[: MAX_BODY_BYTES + 1]
        message.headers = trimmed(message.headers)  # type: ignore[assignment]
        await self._delivered(message)

    async def _next_batch(self, stop: asyncio.Event) -> list[AbstractIncomingMessage]:
        getter = asyncio.ensure_future(self._inbox.get())
        stopper = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if getter not in done:
            getter.cancel()
            return []
        batch = [getter.result()]
        while len(batch) < self.batch_size and not self._inbox.empty():
            batch.append(self._inbox.get_nowait())
        return batch

    async def _give_back_unprocessed(self) -> None:
        while not self._inbox.empty():
            message = self._inbox.get_nowait()
            await message.nack(requeue=True)

    async def _settle_batch(self, received: list[Received], answers: list[Answer], topology: Topology) -> None:
        """Publish every reply and dead letter (confirmed), then ack each
        message whose publishing succeeded. One that failed is handed back
        (requeued): its redelivery finds the stored reply and changes nothing
        twice. An ack never covers a message that was not settled."""
        handled = iter(answers)
        settled = [(r, r.answer if r.command is None else next(handled)) for r in received]
        replying = [i for i, (r, _) in enumerate(settled) if r.chat_id is not None]

        async def publish_replies() -> None:  # whatever fails in here fails only the replies
            await self._replies.publish([reply(*settled[i]) for i in replying])

        replies = asyncio.ensure_future(publish_replies())
        outcomes: list[BaseException | None] = list(await asyncio.gather(
            *(self._dead_letter(r, answer, topology) for r, answer in settled), return_exceptions=True))
        try:
            await replies
        except Exception as exc:  # none of them is known to be confirmed
            for i in replying:
                outcomes[i] = outcomes[i] or exc
        failed = [i for i, outcome in enumerate(outcomes) if isinstance(outcome, BaseException)]
        try:
            if not failed:
                # One ack for the batch: every earlier delivery is settled by now.
                await received[-1].message.ack(multiple=True)
            else:
                for i in failed:
                    log.warning("could not settle a message; it goes back to the queue", error=repr(outcomes[i]))
                for (r, _), outcome in zip(settled, outcomes, strict=True):
                    if isinstance(outcome, BaseException):
                        await r.message.nack(requeue=True)
                    else:
                        await r.message.ack()
        except Exception as exc:  # broker trouble: whatever is unacked comes back on a new channel
            log.warning("could not settle a batch; it will be redelivered", error=repr(exc))
            return
        now = time.monotonic()
        for (r, answer), outcome in zip(settled, outcomes, strict=True):
            if not isinstance(outcome, BaseException):
                self._on_answer(r.command.name if r.command else "invalid", answer.outcome, now - r.arrived)

    async def _answers(self, commands: list[BotCommand], stop: asyncio.Event) -> list[Answer] | None:
        """The batch's answers. While the event store is away (a database
        restart) the batch waits for it, up to `store_outage_grace` seconds;
        then it is answered "temporarily unavailable" and dead-lettered.
        None: the service stopped while it waited."""
        if not commands:
            return []
        away_since: float | None = None
        try:
            while True:
                try:
                    return await asyncio.to_thread(self._handle, commands)
                except StoreUnavailable as exc:
                    away_since = away_since or self._clock()
                    waited = self._clock() - away_since
                    if waited >= self.store_outage_grace:
                        log.error("event store unavailable: dead-lettering the batch", size=len(commands),
                                  waited_seconds=round(waited, 1))
                        return [Answer({"success": False, "error": "temporarily unavailable, try again later"},
                                       "error")] * len(commands)
                    self.store_outages += 1
                    self.waiting_for_store = True  # not wedged: readiness reports the store
                    log.warning("event store unavailable; the batch waits for it", size=len(commands),
                                waited_seconds=round(waited, 1), error=type(exc.__cause__ or exc).__name__)
                    if await pause(stop, STORE_OUTAGE_PAUSE_SECONDS):
                        return None
                except Exception:
                    log.exception("batch failed")
                    return [Answer({"success": False, "error": "internal error"}, "error")] * len(commands)
        finally:
            self.waiting_for_store = False

    async def _dead_letter(self, received: Received, answer: Answer, topology: Topology) -> None:
        command = received.command
        if answer.dead_letter:
            error = answer.body.get("error", "error") if isinstance(answer.body, dict) else "error"
            await topology.dead_letters.publish(dead_letter(received.message, error),
                                                routing_key=self.settings.rabbitmq_queue)
            log.warning("dead-lettered", command=command.name if command else "invalid", error=error)


def reply(received: Received, answer: Answer) -> Reply:
    command = received.command
    return Reply(
        body=answer.text.encode("utf-8"),
        headers=reply_headers(received.headers),
        message_id=reply_message_id(command.dedupe_key if command else None),
        command=command.name if command else "invalid",
    )
