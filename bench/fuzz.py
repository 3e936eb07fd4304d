"""Fuzz benchmark of the bot-command path: generated wire messages, most of
them bad, thrown at the real service (`python -m datemaker serve` in a
subprocess) on a fresh PostgreSQL database with the platform's schema.

    python bench/fuzz.py [--n 10000] [--seed 1] [--valid-share 0.2]

The messages are those of the fuzz test (`tests/support/wire_fuzz.py`, drawn
here from a seeded `random.Random`, published by `tests/support/raw_amqp.py`
so that properties no client would encode reach the broker as bytes): unknown
and near-miss commands; missing, non-integer, negative, huge, bytes, list,
table, boolean and float headers; random and non-UTF-8 bodies, empty, 65 KiB
and 2 MiB ones; message ids and timestamps the AMQP library cannot decode;
header tables too large to be echoed; duplicate AMQP message ids; and
`--valid-share` valid commands of every kind among them. Everything it
touches is its own and removed at the end (database, exchange, queues).
Only 127.0.0.1 is used. Lines printed (key=value):

    fuzz throughput n=10000 valid=... bad=... seconds=... per_second=...
    fuzz outcome answered=... dead_lettered=... unanswered_and_not_dead_lettered=0 wrong=0 queue_depth_end=0
    fuzz memory rss_before_mb=... rss_after_mb=... rss_growth_mb=...
    fuzz after still_answers=true
    fuzz target name=... want=... got=... met=true|false

The clock runs from the first message published (the service is running,
warmed by a few valid commands) until the last one is settled: a valid
command answered, a bad message dead-lettered. `wrong` counts messages
settled otherwise than they should be (a valid one answered with an error or
dead-lettered, a bad one dead-lettered twice or answered without an error,
two replies sharing an id without answering one command). RSS is the service
process's (the consumer's), after the warm-up and after the last settlement.
Exit status: 0 when every target was met, 1 otherwise."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests.support

from commands_parts.run import insert_users, schedule_events  # noqa: E402
from harness.broker import Broker, declare_bot_queue  # noqa: E402
from harness.database import create_database, drop_database, make_settings  # noqa: E402
from harness.report import BenchFailure, fmt, log, out, print_targets  # noqa: E402
from harness.service import Worker, service_env  # noqa: E402

from tests.support.raw_amqp import RawPublisher  # noqa: E402
from tests.support.wire_fuzz import Outcome, RandomPick, World, number_of, problems, summary, wire_message  # noqa: E402

USER_ID_BASE = 7_100_000_000
USERS = 200
TARGET_RSS_GROWTH_MB = 50.0
CHUNK = 500  # messages per confirmed publish


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class FuzzBot(Broker):
    """Reads every reply (a queue bound with the bot routing key) and every
    dead letter, into one Outcome."""

    def __init__(self, settings: object) -> None:
        super().__init__(settings, "bench-fuzz-bot")
        self.outcome = Outcome()
        self.changed = asyncio.Event()

    async def start(self) -> None:
        from datemaker.adapters.rabbitmq.topology import dead_letter_queue_name

        await super().start()
        self.reader = await self.connection.channel()
        await self.reader.set_qos(prefetch_count=1000)
        replies = await declare_bot_queue(self.reader, self.settings.rabbitmq_exchange,
                                          self.settings.bot_routing_key, exclusive=True, auto_delete=True)
        await replies.consume(self._on_reply, no_ack=True)
        dead = await self.reader.get_queue(dead_letter_queue_name(self.settings))
        await dead.consume(self._on_dead_letter, no_ack=True)

    async def _on_reply(self, message: object) -> None:
        headers = {k: v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                   for k, v in (message.headers or {}).items()}  # type: ignore[attr-defined]
        try:
            body = json.loads(message.body)  # type: ignore[attr-defined]
        except ValueError:
            body = {"unparsable": True}
        self.outcome.reply(number_of(headers, None), body, message.message_id)  # type: ignore[attr-defined]
        self.changed.set()

    async def _on_dead_letter(self, message: object) -> None:
        self.outcome.dead_letter(number_of(message.headers, message.message_id))  # type: ignore[attr-defined]
        self.changed.set()

    async def until_settled(self, messages: list, timeout: float, service: Worker) -> float:
        """Monotonic time when the last of `messages` was settled."""
        deadline = time.monotonic() + timeout
        pending = list(messages)
        while True:
            pending = [m for m in pending if not self.outcome.settled(m)]
            if not pending:
                return time.monotonic()
            service.check_alive()
            if time.monotonic() > deadline:
                raise BenchFailure(f"{len(pending)} of {len(messages)} messages unsettled after {timeout:.0f} s")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), 0.5)
            except TimeoutError:
                pass

    async def depth(self) -> int:
        """The input queue's depth, once 0 or after 10 s (acks follow replies)."""
        deadline = time.monotonic() + 10
        while True:
            ready, _ = await self.queue_state(self.settings.rabbitmq_queue)
            if ready == 0 or time.monotonic() > deadline:
                return ready
            await asyncio.sleep(0.05)


async def publish(publisher: RawPublisher, settings: object, messages: list) -> None:
    for start in range(0, len(messages), CHUNK):
        await publisher.publish(settings.rabbitmq_exchange, settings.inbound_routing_key,  # type: ignore[attr-defined]
                                [m.message for m in messages[start : start + CHUNK]])


async def main_async(args: argparse.Namespace, settings: object, dbname: str, workdir: str) -> bool:
    from datemaker.adapters.postgres.schema import apply_schema
    from datemaker.logs import configure_logging

    configure_logging(debug=False, level="WARNING")
    started = time.monotonic()
    await asyncio.to_thread(create_database, dbname)
    service: Worker | None = None
    bot = FuzzBot(settings)
    try:
        await asyncio.to_thread(apply_schema, settings)
        users = [USER_ID_BASE + k for k in range(USERS)]
        await asyncio.to_thread(insert_users, dbname, users)
        [event_id] = await asyncio.to_thread(schedule_events, settings, 1)
        world = World(users=users, unknown_user=USER_ID_BASE - 1, event_id=event_id)
        pick = RandomPick(random.Random(args.seed))
        messages = [wire_message(pick, world, n, args.valid_share) for n in range(args.n)]
        warm_up = [wire_message(RandomPick(random.Random(n)), world, args.n + n, 1.0) for n in range(20)]
        last = wire_message(RandomPick(random.Random(-1)), world, args.n + 20, 1.0)
        log(f"database {dbname}: {USERS} users, event {event_id}; messages: {summary(messages)}")
        await bot.start()
        publisher = RawPublisher("127.0.0.1", 5672)
        await publisher.start()
        service = Worker("service", [sys.executable, "-m", "datemaker", "serve"], service_env(settings), workdir)
        await bot.wait_for_consumer(settings.rabbitmq_queue, service, 60)  # type: ignore[attr-defined]
        await publish(publisher, settings, warm_up)
        await bot.until_settled(warm_up, args.timeout, service)
        rss_before = rss_mb(service.pid)

        t0 = time.monotonic()
        await publish(publisher, settings, messages)
        t1 = await bot.until_settled(messages, args.timeout, service)
        rss_after = rss_mb(service.pid)
        depth = await bot.depth()
        await publish(publisher, settings, [last])
        await bot.until_settled([last], 30, service)
        await publisher.close()

        outcome = bot.outcome
        unsettled = sum(1 for m in messages if m.n not in outcome.replies and not outcome.dead[m.n])
        # The warm-up counts too: a copy of one of its commands (same user,
        # command and id) is rightly answered under the same reply id.
        wrong = problems([*warm_up, *messages], outcome)
        valid = sum(m.valid for m in messages)
        seconds = t1 - t0
        out(f"fuzz throughput n={args.n} valid={valid} bad={args.n - valid} seconds={fmt(seconds)}"
            f" per_second={args.n / seconds:.0f}")
        out(f"fuzz outcome answered={sum(1 for m in messages if m.n in outcome.replies)}"
            f" dead_lettered={sum(1 for m in messages if outcome.dead[m.n])}"
            f" unanswered_and_not_dead_lettered={unsettled} wrong={len(wrong)} queue_depth_end={depth}"
            f" stray={outcome.stray}")
        out(f"fuzz memory rss_before_mb={rss_before:.1f} rss_after_mb={rss_after:.1f}"
            f" rss_growth_mb={rss_after - rss_before:.1f}")
        out("fuzz after still_answers=true")
        for problem in wrong[:20]:
            log(problem)
        return print_targets("fuzz", [
            ("settled", "unanswered_and_not_dead_lettered=0", str(unsettled), unsettled == 0),
            ("correct", "wrong=0", str(len(wrong)), not wrong),
            ("queue_empty", "queue_depth_end=0", str(depth), depth == 0),
            ("rss_growth", f"rss_growth_mb<{TARGET_RSS_GROWTH_MB:.0f}", f"{rss_after - rss_before:.1f}",
             rss_after - rss_before < TARGET_RSS_GROWTH_MB),
        ])
    except BenchFailure as exc:
        out(f"fuzz throughput n={args.n} correct=false error={json.dumps(str(exc))}")
        if service is not None:
            log(f"service output ends:\n{service.output_tail()}")
        return False
    finally:
        if service is not None:
            service.stop()
            service.discard_log()
        await bot.close()
        await asyncio.to_thread(drop_database, dbname)
        log(f"cleaned up; total {time.monotonic() - started:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="generated messages")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--valid-share", type=float, default=0.2, help="share of valid commands")
    parser.add_argument("--timeout", type=float, default=300.0, help="max seconds until every message is settled")
    args = parser.parse_args(argv)
    if args.n < 1 or not 0 <= args.valid_share <= 1:
        parser.error("--n must be positive, --valid-share within 0..1")
    suffix = uuid.uuid4().hex[:10]
    dbname = f"datemaker_bench_{suffix}"
    workdir = tempfile.mkdtemp(prefix="datemaker-bench-")  # no stray .env is read
    try:
        met = asyncio.run(main_async(args, make_settings(dbname, suffix, prefix="dm_fuzz"), dbname, workdir))
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
