"""The naive baseline: a consumer run as `commands.py --naive-worker` in a
subprocess, and the phase that measures it."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys

from commands_parts.bot import BotSide, wait_replies
from commands_parts.run import Run
from harness.broker import AMQP_URL
from harness.database import pg_connect
from harness.report import BenchFailure, fmt, log, out
from harness.service import Worker, child_env

NAIVE_TABLE = "bench_naive_registrations"
# The entry script: the naive worker is this bench run with --naive-worker.
ENTRY_SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "commands.py")


def create_naive_table(dbname: str) -> None:
    with pg_connect(dbname) as conn:
        conn.execute(
            f"CREATE TABLE {NAIVE_TABLE} (event_id INT8 NOT NULL, user_id INT8 NOT NULL,"
            " registered_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (event_id, user_id))"
        )


def count_naive(dbname: str, event_id: int) -> int:
    with pg_connect(dbname) as conn:
        row = conn.execute(f"SELECT count(*) FROM {NAIVE_TABLE} WHERE event_id = %s", (event_id,)).fetchone()
        return int(row[0])


async def naive_worker(args: argparse.Namespace) -> None:
    """One message at a time: INSERT + COMMIT, reply with confirms, ack.
    Exits after --expect messages, or at SIGTERM."""
    import aio_pika

    loop = asyncio.get_running_loop()
    this = asyncio.current_task()
    assert this is not None
    loop.add_signal_handler(signal.SIGTERM, this.cancel)
    db = pg_connect(args.db, autocommit=False)
    connection = await aio_pika.connect(AMQP_URL, client_properties={"connection_name": "bench-naive"})
    try:
        channel = await connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=512)
        exchange = await channel.get_exchange(args.exchange, ensure=True)
        queue = await channel.get_queue(args.queue, ensure=True)
        done = 0
        async with queue.iterator() as messages:
            async for message in messages:
                headers = {
                    k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in (message.headers or {}).items()
                }
                registered = False
                if message.body == b"register_event":
                    with db.cursor() as cur:
                        cur.execute(
                            f"INSERT INTO {NAIVE_TABLE} (event_id, user_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                            (int(headers["event_id"]), int(headers["user_id"])),
                        )
                        registered = cur.rowcount == 1
                    db.commit()
                await exchange.publish(
                    aio_pika.Message(
                        body=json.dumps({"user_registered": registered}).encode(),
                        headers=headers,
                        content_type="application/json",
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key=args.reply_key,
                )
                await message.ack()
                done += 1
                if done >= args.expect:
                    break
    except asyncio.CancelledError:
        pass  # SIGTERM: unacked messages go back to the queue
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.close(), 5)
        db.close()


async def phase_baseline(run: Run, bot: BotSide, user_ids: list[int], event_id: int) -> None:
    n = len(user_ids)
    queue_name = f"{run.settings.rabbitmq_queue}_naive"
    routing_key = f"bench_naive_{run.suffix}"
    queue = await bot.admin.declare_queue(queue_name, durable=True)
    await queue.bind(run.settings.rabbitmq_exchange, routing_key=routing_key)
    collector = bot.expect("naive", n)
    await bot.prepublish("naive", routing_key, user_ids, event_id)
    ready, _ = await bot.queue_state(queue_name)
    if ready != n:
        raise BenchFailure(f"baseline: {ready} of {n} commands in queue {queue_name} after publishing")
    argv = [
        sys.executable, ENTRY_SCRIPT, "--naive-worker", "--db", run.dbname,
        "--exchange", run.settings.rabbitmq_exchange, "--queue", queue_name,
        "--reply-key", run.settings.bot_routing_key, "--expect", str(n),
    ]
    worker = Worker("naive-baseline", argv, child_env({}), run.workdir)
    try:
        t0 = await bot.wait_for_consumer(queue_name, worker, 30)
        await wait_replies(collector, run.args.timeout, "baseline", worker, clean_exit_ok=True)
        # It exits by itself after the last ack; SIGTERM only if it does not.
        with contextlib.suppress(subprocess.TimeoutExpired):
            await asyncio.to_thread(worker.process.wait, 10)
    finally:
        code = worker.stop(5)
        if code != 0:
            log(f"baseline worker exited with {code}; output ends:\n{worker.output_tail()}")
        worker.discard_log()
        with contextlib.suppress(Exception):
            await bot.admin.queue_delete(queue_name)
    seconds = (collector.last_ns - t0) / 1e9  # type: ignore[operator]
    stored = await asyncio.to_thread(count_naive, run.dbname, event_id)
    correct = collector.all_registered() and stored == n and collector.duplicates == 0
    run.results["baseline_per_second"] = n / seconds
    out(
        f"commands throughput baseline=naive n={n} seconds={fmt(seconds)} per_second={n / seconds:.0f}"
        f" startup_seconds={fmt((t0 - worker.started) / 1e9)} stored={stored} correct={str(correct).lower()}"
    )
    if not correct:
        run.failed = True
        log(f"baseline wrong replies: {collector.wrong()} duplicates={collector.duplicates}")
