"""Benchmark of the bot-command path: RabbitMQ in, PostgreSQL event store,
RabbitMQ reply out, against the real service (`python -m datemaker serve`
in a subprocess) and a naive baseline consumer.

    python bench/commands.py [--n 10000] [--rate 500] [--seconds 10]

Everything it touches is its own and removed at the end: a fresh PostgreSQL
database (`datemaker db init` applied), an exchange, the service's queue and its
dead-letter queue, the baseline's queue and the bench's bot queue. Only
127.0.0.1 is used. Lines printed (key=value, one per measurement):

    commands throughput n=10000 seconds=... per_second=... correct=true
    commands throughput baseline=naive n=10000 seconds=... per_second=... correct=true
    commands latency rate=500 n=5000 p50_ms=... p99_ms=... max_ms=... correct=true
    commands target name=... want=... got=... met=true|false

Throughput: all N `register_event` commands (distinct users, one event with
unlimited capacity, users_limit 20) are published and confirmed by the broker
before the consumer starts; the clock runs from the moment the broker shows
the consumer attached to the queue until the bench's own bot queue (bound
with the bot routing key) has received the last reply. The process start of
the consumer is therefore not counted (it is printed as `startup_seconds`).

Baseline: the naive approach, also a subprocess (this file with
`--naive-worker`): per message one INSERT and a commit on one psycopg
connection, a reply published with publisher confirms, then the ack.

Latency: the service keeps running; `--rate` commands per second are offered
for `--seconds` on a fixed schedule (command i is due at t0 + i/rate), each
carrying its send time in the `bench_sent_ns` header, which the service echoes
back with every other header. Latency = reply received - sent, both read in
this process on the monotonic clock.

`--py-spy FILE` attaches py-spy to the service for one phase
(`--py-spy-phase throughput|latency`, default throughput) and
writes a flame graph (svg), speedscope JSON (FILE ending in .json) or
collapsed stacks (FILE ending in .txt). `--service-env NAME=VALUE` (repeatable)
passes extra environment to the service, for tuning experiments.

Progress and diagnostics go to stderr as `# ...` lines. Exit status: 0 when
every phase completed with correct results, 1 when one did not (its line says
`correct=false`, with `error=` when it could not finish), 2 with `--strict`
when results were correct but a target was missed."""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
import uuid

from commands_parts.bot import BotSide
from commands_parts.naive import create_naive_table, naive_worker, phase_baseline
from commands_parts.run import Run, insert_users, schedule_events
from commands_parts.service_phases import phase_latency, phase_service_throughput
from harness.database import create_database, drop_database, make_settings
from harness.report import BenchFailure, log, out, print_targets
from harness.service import Worker

USER_ID_BASE = 7_000_000_000  # Telegram-sized ids
TARGET_PER_SECOND = 1000
TARGET_P99_MS = 50.0


def check_targets(run: Run) -> None:
    r = run.results
    checks = []
    if "per_second" in r:
        checks.append(("throughput", f"per_second>={TARGET_PER_SECOND}", f"{r['per_second']:.0f}",
                       r["per_second"] >= TARGET_PER_SECOND))
        if "baseline_per_second" in r:
            checks.append(("vs_baseline", f"per_second>={r['baseline_per_second']:.0f}", f"{r['per_second']:.0f}",
                           r["per_second"] >= r["baseline_per_second"]))
    if "p99_ms" in r:
        checks.append(("latency", f"p99_ms<={TARGET_P99_MS:.0f}", f"{r['p99_ms']:.1f}", r["p99_ms"] <= TARGET_P99_MS))
    run.targets_missed = not print_targets("commands", checks)


async def main_async(run: Run) -> None:
    from datemaker.adapters.postgres.schema import apply_schema
    from datemaker.adapters.rabbitmq.topology import dead_letter_queue_name
    from datemaker.logs import configure_logging

    configure_logging(debug=False, level="WARNING")
    args = run.args
    n, n_latency = args.n, args.rate * args.seconds
    throughput_users = [USER_ID_BASE + k for k in range(n)]
    latency_users = [USER_ID_BASE + n + k for k in range(n_latency)]

    started = time.monotonic()
    await asyncio.to_thread(create_database, run.dbname)
    try:
        await asyncio.to_thread(apply_schema, run.settings)
        await asyncio.to_thread(insert_users, run.dbname, throughput_users + latency_users)
        await asyncio.to_thread(create_naive_table, run.dbname)
        throughput_event, latency_event = await asyncio.to_thread(schedule_events, run.settings, 2)
        log(f"database {run.dbname}: {n + n_latency} users, events {throughput_event} and {latency_event}"
            f" ({time.monotonic() - started:.1f} s)")
        bot = BotSide(run.settings)
        await bot.start()
        service: Worker | None = None
        try:
            if not args.skip_baseline:
                try:
                    await phase_baseline(run, bot, throughput_users, throughput_event)
                except BenchFailure as exc:
                    run.failed = True
                    out(f"commands throughput baseline=naive n={n} correct=false error={json.dumps(str(exc))}")
            try:
                service = await phase_service_throughput(run, bot, throughput_users, throughput_event)
            except BenchFailure as exc:
                run.failed = True
                out(f"commands throughput n={n} correct=false error={json.dumps(str(exc))}")
            if service is not None and n_latency:
                try:
                    await phase_latency(run, bot, service, latency_users, latency_event)
                except BenchFailure as exc:
                    run.failed = True
                    out(f"commands latency rate={args.rate} n={n_latency} correct=false"
                        f" error={json.dumps(str(exc))}")
            check_targets(run)
            dead, _ = await bot.queue_state(dead_letter_queue_name(run.settings))
            if dead:
                run.failed = True
                log(f"{dead} messages were dead-lettered by the service")
            if bot.stray:
                log(f"{bot.stray} replies without a bench phase arrived")
        finally:
            if service is not None:
                code = service.stop()
                if code not in (0, None) or run.failed:
                    log(f"service exited with {code}; output ends:\n{service.output_tail()}")
                service.discard_log()
            await bot.close()
    finally:
        await asyncio.to_thread(drop_database, run.dbname)
        log(f"cleaned up; total {time.monotonic() - started:.1f} s")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="commands in the throughput phases")
    parser.add_argument("--rate", type=int, default=500, help="offered commands per second (latency)")
    parser.add_argument("--seconds", type=int, default=10, help="duration of the latency phase")
    parser.add_argument("--timeout", type=float, default=90.0, help="max seconds to wait for a phase's replies")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--strict", action="store_true", help="exit 2 when a target is missed")
    parser.add_argument("--service-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the service (tuning experiments), repeatable")
    parser.add_argument("--py-spy", metavar="FILE", help="profile the service with py-spy during one phase (see --py-spy-phase)")
    parser.add_argument("--py-spy-phase", choices=("throughput", "latency"), default="throughput",
                        help="which phase --py-spy records")
    parser.add_argument("--py-spy-idle", action="store_true", help="include idle (waiting) threads")
    # internal: the naive baseline consumer
    parser.add_argument("--naive-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--exchange", help=argparse.SUPPRESS)
    parser.add_argument("--queue", help=argparse.SUPPRESS)
    parser.add_argument("--reply-key", help=argparse.SUPPRESS)
    parser.add_argument("--expect", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.n < 1 or args.rate < 1 or args.seconds < 0:
        parser.error("--n and --rate must be positive, --seconds not negative")
    if any("=" not in item for item in args.service_env):
        parser.error("--service-env takes NAME=VALUE")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.naive_worker:
        asyncio.run(naive_worker(args))
        return 0
    suffix = uuid.uuid4().hex[:10]
    dbname = f"datemaker_bench_{suffix}"
    workdir = tempfile.mkdtemp(prefix="datemaker-bench-")  # no stray .env is read
    run = Run(args, suffix, dbname, make_settings(dbname, suffix), workdir)
    try:
        asyncio.run(main_async(run))
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if run.failed:
        return 1
    return 2 if args.strict and run.targets_missed else 0


if __name__ == "__main__":
    sys.exit(main())
