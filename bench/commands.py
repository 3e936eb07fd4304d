"""Benchmark of the bot-command path: RabbitMQ in, PostgreSQL event store,
RabbitMQ reply out, against the real service (`python -m datemaker serve`
in a subprocess) and a naive baseline consumer.

    python bench/commands.py [--n 10000] [--rate 500] [--seconds 10]

Everything it touches is its own and removed at the end: a fresh PostgreSQL
database (schema.sql applied), an exchange, the service's queue and its
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
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
AMQP_PORT = 5672
AMQP_URL = f"amqp://guest:guest@{HOST}:{AMQP_PORT}/"

USER_ID_BASE = 7_000_000_000  # Telegram-sized ids
USERS_LIMIT = 20
TARGET_PER_SECOND = 1000
TARGET_P99_MS = 50.0
NAIVE_TABLE = "bench_naive_registrations"


def log(message: str) -> None:
    print(f"# {message}", file=sys.stderr, flush=True)


class BenchFailure(Exception):
    """A phase could not complete; the message says what was seen."""


# --- PostgreSQL ---------------------------------------------------------------


def pg_connect(dbname: str, autocommit: bool = True) -> Any:
    import psycopg

    return psycopg.connect(
        host=HOST, port=PG_PORT, user=PG_USER, dbname=dbname, autocommit=autocommit,
        connect_timeout=5, application_name="datemaker-bench",
    )


def create_database(name: str) -> None:
    with pg_connect("postgres") as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    with pg_connect("postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def insert_users(dbname: str, user_ids: list[int]) -> None:
    """Platform users via COPY, with a plausible spread of profiles."""
    cities = ("Kazan", "Moscow", "Perm")
    with pg_connect(dbname, autocommit=False) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY public.users (id, username, birthday, sex, city, rating, manual_score) FROM STDIN"
        ) as copy:
            for n, uid in enumerate(user_ids):
                copy.write_row((
                    uid,
                    f"u{n}",
                    date(1990, 1, 1) + timedelta(days=(n * 37) % 7000),
                    "M" if n % 2 else "F",
                    cities[n % 3],
                    round((n % 50) / 10, 1),
                    1 + n % 3,
                ))
        conn.commit()


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


# --- the naive baseline worker (a subprocess of this file) ----------------------


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


# --- replies ------------------------------------------------------------------


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


class BotSide:
    """The bench's stand-in for the platform bot: publishes commands and reads
    the replies from a queue of its own bound with the bot routing key."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.phases: dict[str, Collector] = {}
        self.stray = 0

    async def start(self) -> None:
        import aio_pika

        from datemaker.adapters.rabbitmq.consumer import declare_topology

        self.connection = await aio_pika.connect(AMQP_URL, client_properties={"connection_name": "bench-bot"})
        self.admin = await self.connection.channel()
        self.topology = await declare_topology(self.admin, self.settings)
        self.confirming = await self.connection.channel(publisher_confirms=True)
        self.exchange = await self.confirming.get_exchange(self.settings.rabbitmq_exchange)
        self.fast = await self.connection.channel(publisher_confirms=False)
        self.fast_exchange = await self.fast.get_exchange(self.settings.rabbitmq_exchange)
        self.reader = await self.connection.channel()
        self.bot_queue = await self.reader.declare_queue(exclusive=True, auto_delete=True)
        await self.bot_queue.bind(self.settings.rabbitmq_exchange, routing_key=self.settings.bot_routing_key)
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

    async def queue_state(self, name: str) -> tuple[int, int]:
        """(messages ready, consumers) of a queue, from a passive declare."""
        queue = await self.admin.declare_queue(name, passive=True)
        result = queue.declaration_result
        return result.message_count, result.consumer_count

    async def wait_for_consumer(self, name: str, process: Worker, timeout: float) -> int:
        """Poll until a consumer is attached; return the monotonic ns it was seen."""
        deadline = time.monotonic() + timeout
        while True:
            _, consumers = await self.queue_state(name)
            if consumers:
                return time.monotonic_ns()
            process.check_alive()
            if time.monotonic() > deadline:
                raise BenchFailure(f"no consumer on queue {name} after {timeout:.0f} s")
            await asyncio.sleep(0.002)

    async def close(self, delete_queues: list[str]) -> None:
        for name in delete_queues:
            with contextlib.suppress(Exception):
                await self.admin.queue_delete(name)
        with contextlib.suppress(Exception):
            await self.admin.exchange_delete(self.settings.rabbitmq_exchange)
        await self.connection.close()


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


# --- subprocesses ------------------------------------------------------------


class Worker:
    """A child process with its stderr in a temp file, always terminated."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], cwd: str) -> None:
        self.name = name
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log", delete=False)
        self.process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT)
        self.started = time.monotonic_ns()

    @property
    def pid(self) -> int:
        return self.process.pid

    def output_tail(self, lines: int = 25) -> str:
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:]) or "(no output)\n"

    def check_alive(self, clean_exit_ok: bool = False) -> None:
        code = self.process.poll()
        if code is not None and not (clean_exit_ok and code == 0):
            raise BenchFailure(f"{self.name} exited with code {code}; its output ends:\n{self.output_tail()}")

    def stop(self, grace: float = 15.0) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                log(f"{self.name} ignored SIGTERM for {grace:.0f} s: killing pid {self.pid}")
                self.process.kill()
                self.process.wait(5)
        code = self.process.returncode
        self.log.close()
        return code

    def discard_log(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.log.name)


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """This environment without any datemaker/broker/store settings, plus `extra`."""
    prefixes = ("DATEMAKER_", "POSTGRES_", "RABBITMQ_", "PERSISTENCE_", "SQLITE_", "DEBUG")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    return env


# --- phases -------------------------------------------------------------------


@dataclass
class Run:
    args: argparse.Namespace
    suffix: str
    dbname: str
    settings: Any
    workdir: str
    results: dict[str, Any] = field(default_factory=dict)
    failed: bool = False
    targets_missed: bool = False


def service_env(run: Run) -> dict[str, str]:
    return child_env({
        "POSTGRES_HOST": HOST,
        "POSTGRES_PORT": str(PG_PORT),
        "POSTGRES_DB": run.dbname,
        "DATEMAKER_POSTGRES_USER": PG_USER,
        "DATEMAKER_STORE": "postgres",
        "RABBITMQ_HOST": HOST,
        "RABBITMQ_PORT": str(AMQP_PORT),
        "RABBITMQ_EXCHANGE": run.settings.rabbitmq_exchange,
        "DATEMAKER_RABBITMQ_QUEUE": run.settings.rabbitmq_queue,
        "DATEMAKER_LOG_LEVEL": "WARNING",
        "DATEMAKER_METRICS_PORT": "0",
        "DEBUG": "false",
        **dict(item.split("=", 1) for item in run.args.service_env),
    })


def fmt(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}f}"


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
        sys.executable, os.path.abspath(__file__), "--naive-worker", "--db", run.dbname,
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
    print(
        f"commands throughput baseline=naive n={n} seconds={fmt(seconds)} per_second={n / seconds:.0f}"
        f" startup_seconds={fmt((t0 - worker.started) / 1e9)} stored={stored} correct={str(correct).lower()}",
        flush=True,
    )
    if not correct:
        run.failed = True
        log(f"baseline wrong replies: {collector.wrong()} duplicates={collector.duplicates}")


def start_profiler(run: Run, pid: int, phase: str) -> subprocess.Popen[bytes] | None:
    if not run.args.py_spy or run.args.py_spy_phase != phase:
        return None
    exe = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    if not os.path.exists(exe):
        log("py-spy not found (pip install py-spy): not profiling")
        return None
    out = os.path.abspath(run.args.py_spy)
    fmt_ = "speedscope" if out.endswith(".json") else "raw" if out.endswith(".txt") else "flamegraph"
    argv = [exe, "record", "--pid", str(pid), "--rate", "250", "--format", fmt_, "-o", out, "--nonblocking"]
    if run.args.py_spy_idle:
        argv.append("--idle")
    log(f"profiling the service with: {' '.join(argv)}")
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop_profiler(profiler: subprocess.Popen[bytes] | None) -> None:
    if profiler is None:
        return
    profiler.send_signal(signal.SIGINT)
    try:
        _, err = profiler.communicate(timeout=30)
        log(f"py-spy: {err.decode(errors='replace').strip().splitlines()[-1:] or ['done']}")
    except subprocess.TimeoutExpired:
        profiler.kill()
        profiler.wait(5)


async def phase_service_throughput(
    run: Run, bot: BotSide, user_ids: list[int], event_id: int
) -> Worker:
    """Returns the running service, for the latency phase."""
    n = len(user_ids)
    collector = bot.expect("throughput", n)
    await bot.prepublish("throughput", run.settings.inbound_routing_key, user_ids, event_id)
    ready, _ = await bot.queue_state(run.settings.rabbitmq_queue)
    if ready != n:
        raise BenchFailure(f"throughput: {ready} of {n} commands in queue {run.settings.rabbitmq_queue}")
    argv = [sys.executable, "-m", "datemaker", "serve"]
    service = Worker("service", argv, service_env(run), run.workdir)
    profiler = None
    try:
        t0 = await bot.wait_for_consumer(run.settings.rabbitmq_queue, service, 60)
        profiler = start_profiler(run, service.pid, "throughput")
        await wait_replies(collector, run.args.timeout, "throughput", service)
    except BaseException:
        stop_profiler(profiler)
        service.stop()
        log(f"service output ends:\n{service.output_tail()}")
        service.discard_log()
        raise
    stop_profiler(profiler)
    seconds = (collector.last_ns - t0) / 1e9  # type: ignore[operator]
    first_ms = (collector.first_ns - t0) / 1e6  # type: ignore[operator]

    def registered() -> list[int]:
        from datemaker.adapters.event_store import open_dating_events

        app = open_dating_events(run.settings)
        try:
            return app.get_event(event_id).registered_user_ids
        finally:
            app.close()

    stored = await asyncio.to_thread(registered)
    correct = (
        collector.all_registered()
        and len(stored) == n
        and sorted(stored) == sorted(user_ids)
        and collector.duplicates == 0
    )
    run.results["per_second"] = n / seconds
    print(
        f"commands throughput n={n} seconds={fmt(seconds)} per_second={n / seconds:.0f}"
        f" startup_seconds={fmt((t0 - service.started) / 1e9)} first_reply_ms={first_ms:.1f}"
        f" registered={len(stored)} correct={str(correct).lower()}",
        flush=True,
    )
    if not correct:
        run.failed = True
        log(f"throughput wrong replies: {collector.wrong()} duplicates={collector.duplicates}")
    return service


async def phase_latency(run: Run, bot: BotSide, service: Worker, user_ids: list[int], event_id: int) -> None:
    rate = run.args.rate
    total = len(user_ids)
    collector = bot.expect("latency", total)
    loop = asyncio.get_running_loop()
    routing_key = run.settings.inbound_routing_key
    max_lag_ns = 0
    profiler = start_profiler(run, service.pid, "latency")
    t0 = loop.time()
    t0_ns = time.monotonic_ns()
    i = 0
    while i < total:
        due = min(total, int((loop.time() - t0) * rate) + 1)
        while i < due:
            now = time.monotonic_ns()
            max_lag_ns = max(max_lag_ns, now - (t0_ns + i * 1_000_000_000 // rate))
            await bot.fast_exchange.publish(
                bot.message("latency", i, user_ids[i], event_id, sent_ns=now), routing_key=routing_key
            )
            i += 1
        if i % 500 == 0:
            service.check_alive()
        await asyncio.sleep(max(0.0, t0 + i / rate - loop.time()))
    offered_seconds = (time.monotonic_ns() - t0_ns) / 1e9
    try:
        await wait_replies(collector, run.args.timeout, "latency", service)
    finally:
        stop_profiler(profiler)
    lat_ms = sorted((collector.received_ns[s] - collector.sent_ns[s]) / 1e6 for s in collector.sent_ns)

    def pct(p: float) -> float:
        return lat_ms[min(len(lat_ms) - 1, max(0, round(p / 100 * len(lat_ms)) - 1))]

    def registered() -> int:
        from datemaker.adapters.event_store import open_dating_events

        app = open_dating_events(run.settings)
        try:
            return len(app.get_event(event_id).registered_user_ids)
        finally:
            app.close()

    stored = await asyncio.to_thread(registered)
    correct = collector.all_registered() and stored == total and len(lat_ms) == total
    run.results["p99_ms"] = pct(99)
    print(
        f"commands latency rate={rate} n={total} p50_ms={pct(50):.1f} p90_ms={pct(90):.1f}"
        f" p99_ms={pct(99):.1f} max_ms={lat_ms[-1]:.1f} offered_per_second={total / offered_seconds:.0f}"
        f" max_send_lag_ms={max_lag_ns / 1e6:.1f} registered={stored} correct={str(correct).lower()}",
        flush=True,
    )
    if not correct:
        run.failed = True
        log(f"latency wrong replies: {collector.wrong()} duplicates={collector.duplicates}")


def print_targets(run: Run) -> None:
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
    for name, want, got, met in checks:
        print(f"commands target name={name} want={want} got={got} met={str(met).lower()}", flush=True)
    run.targets_missed = not all(met for *_, met in checks)


# --- orchestration ------------------------------------------------------------


def make_settings(dbname: str, suffix: str) -> Any:
    from datemaker.settings import load_settings

    return load_settings(
        POSTGRES_HOST=HOST, POSTGRES_PORT=PG_PORT, POSTGRES_DB=dbname, DATEMAKER_POSTGRES_USER=PG_USER,
        DATEMAKER_POSTGRES_PASSWORD="", DATEMAKER_STORE="postgres", RABBITMQ_HOST=HOST,
        RABBITMQ_PORT=AMQP_PORT, RABBITMQ_EXCHANGE=f"dm_bench_{suffix}",
        DATEMAKER_RABBITMQ_QUEUE=f"dm_bench_{suffix}_in", DEBUG=False,
        DATEMAKER_RABBITMQ_USERNAME="guest", DATEMAKER_RABBITMQ_PASSWORD="guest",
        DATEMAKER_LOG_LEVEL="WARNING",
    )


def schedule_events(settings: Any, count: int) -> list[int]:
    from datemaker.adapters.event_store import open_dating_events

    app = open_dating_events(settings)
    try:
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
        return [
            app.schedule_event(start=start + timedelta(hours=k), timezone="Europe/Moscow",
                               users_limit=USERS_LIMIT, capacity=None)
            for k in range(count)
        ]
    finally:
        app.close()


async def main_async(run: Run) -> None:
    from datemaker.adapters.postgres.schema import apply_schema
    from datemaker.adapters.rabbitmq.consumer import dead_letter_queue_name
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
                    print(f"commands throughput baseline=naive n={n} correct=false error={json.dumps(str(exc))}",
                          flush=True)
            try:
                service = await phase_service_throughput(run, bot, throughput_users, throughput_event)
            except BenchFailure as exc:
                run.failed = True
                print(f"commands throughput n={n} correct=false error={json.dumps(str(exc))}", flush=True)
            if service is not None and n_latency:
                try:
                    await phase_latency(run, bot, service, latency_users, latency_event)
                except BenchFailure as exc:
                    run.failed = True
                    print(f"commands latency rate={args.rate} n={n_latency} correct=false"
                          f" error={json.dumps(str(exc))}", flush=True)
            print_targets(run)
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
            await bot.close([run.settings.rabbitmq_queue, dead_letter_queue_name(run.settings)])
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
