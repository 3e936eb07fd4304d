"""Benchmark of the round clock and the outbox: deadlines fired on time for
many concurrent dating events, and the fan-out of one shared round start to
the bot, against the real service (`python -m datemaker serve` in a
subprocess) and a naive baseline.

    python bench/round_clock.py [--events 500] [--fanout-events 1000] ...

Everything it touches is its own and removed at the end: one fresh
PostgreSQL database per phase (schema.sql applied, dropped WITH (FORCE)), an
exchange, the service's queue and its dead-letter queue, and the bench's bot
queues (exclusive, bound with the bot routing key `tg_bot_prod`). Only
127.0.0.1 is used. Lines printed on stdout (key=value, one per measurement):

    round_clock env cpus=2 loadavg_1m=... python=...
    round_clock setup phase=skew events=500 people=2500 seconds=...
    round_clock skew events=500 fired=... p50_ms=... p99_ms=... max_ms=... correct=true
    round_clock skew baseline=naive events=500 fired=... p50_ms=... ... correct=true
    round_clock setup phase=fanout events=1000 registrations=20000 seconds=...
    round_clock fanout events=1000 invitations=20000 seconds=... correct=true
    round_clock fanout baseline=naive events=100 invitations=2000 seconds=... per_1000_events_seconds=...
    round_clock target name=... want=... got=... met=true|false

Skew (phase 1): `--events` events (default 500), 4-6 people each (mixed M/F,
ready_check off), written directly through the application in group saves.
They start in three cohorts one second apart (events of a cohort share every
boundary, and cohorts collide: one's round start is another's round end).
Timings, in seconds from the start S: confirmation opens at S-10 (fired by
the clock), the bench then confirms everyone through the application,
confirmation closes at S-4 (the clock forms groups, then reserves rooms at
once), rules at S-2, round 1 at S+1, rounds of 3 s with 1 s breaks (2 or 3
rounds, from the plan), ratings lock 2 s after the last round. Skew is read
from the event store afterwards, per recorded step, against the deadline the
timeline gives for it (e.g. RoundStarted(n) against
timings.round_starts_at(start, n)), three ways:
  p50_ms/p99_ms/max_ms  when the step was committed (visible to everyone) minus
                        its deadline. Commit times come from the NOTIFY the
                        event store sends with every insert, read by a watcher
                        process of its own (see CommitWatch). The target
                        (p99 <= 200 ms) is checked on this.
  recorded_at_*         the step's own `at` minus its deadline. The clock
                        stamps `at` once per batch, before it loads, advances
                        and saves the batch, so this flatters big batches; it
                        gets a target line of its own (skew_p99_recorded_at).
  delivered_*           each bot message's arrival in the bench's queue minus
                        the deadline that called for it (what people see),
                        read by the bench's bot, a low-priority process of its
                        own (see BotListener).
Room reservation is due "at once" after groups are formed; its lag (by `at`)
is reported apart (`rooms_lag_*`). The per-step breakdown (committed) goes to
stderr.
correct=true: every event FINISHED, each step recorded exactly once (one
Started, RoundStarted 2..n and RoundEnded 1..n for the plan's n rounds, one
of each other step), no deadline left, no message received twice.

Fan-out (phase 2): `--fanout-events` events (default 1000) x 20 people
(10 M / 10 F, users_limit 20, ready_check off), built and saved in group
saves; confirmation is opened and everyone confirmed during set-up (the
outbox position is moved past set-up, whose messages would have gone out
hours earlier in reality). The running service then closes confirmation
`--fanout-lead` (45) s before the boundary (40 s before the start; round 1
is at start + ready_grace 5 s), reserves rooms at once and announces the
rules 15 s before the boundary;
one second before the boundary the bench checks that every event waits only
for round 1 and that the outbox has caught up, and purges its queue. Round 1
of every event starts at the same boundary B; the time measured is from B
until the bench's queue holds every message round 1 calls for (per pair and
side: invite_to_meeting + send_partner_profile, 40 per event). The queue is
polled (passive declare) rather than consumed, so the bench uses no CPU the
service needs; the messages are read and checked afterwards.
`first_commit_ms`/`clock_seconds`: when the first/last Started was committed
(see CommitWatch); `decided_max_ms`: the largest Started.at - B;
`worker_cpu_seconds`: CPU the service used from B to the end.

Baselines (labelled baseline=naive): this file with `--naive-worker` in a
subprocess, the simple loop: claim one due deadline (one transaction), fire
it (one transaction), read the event log for its messages and publish each
one awaiting its broker confirm, store the outbox position, repeat. Skew runs
it on the same number of events (on this 2-core machine it falls behind
before confirmation closes, and says how far it got); the fan-out on
`--baseline-fanout-events` (default 100, it is strictly sequential:
`per_1000_events_seconds` scales its time linearly, and is labelled as such).

`--py-spy FILE --py-spy-phase skew|fanout` records the service with py-spy
during that phase (svg flame graph, speedscope .json or raw .txt);
`--py-spy-gil` samples only the thread holding the interpreter lock (where the
CPU goes), `--py-spy-children` adds the follower processes.
`--service-env NAME=VALUE` passes extra environment to the service (for
example DATEMAKER_LOG_LEVEL=INFO, whose "deadlines fired" lines time each of
the clock's batches); `--keep-service-log` keeps its output.

Progress goes to stderr as `# ...` lines. Exit status: 0 when the service's
phases completed correctly, 1 when one did not (its line says correct=false,
with error= when it could not finish), 2 with --strict when a target was
missed. A baseline that goes wrong says so in its own line (correct=false)
without changing the exit status: it is there for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
AMQP_PORT = 5672
AMQP_URL = f"amqp://guest:guest@{HOST}:{AMQP_PORT}/"

TARGET_SKEW_P99_MS = 200.0
TARGET_FANOUT_SECONDS = 5.0
USER_ID_BASE = 7_000_000_000
COHORTS = 3  # skew: start times S0, S0+1 s, S0+2 s
CHUNK = 100  # aggregates per group save during set-up

# Skew timings (seconds): open S-10, close S-4, rules S-2, round 1 at S+1,
# rounds of 3 s, breaks of 1 s, ratings lock 2 s after the last round.
SKEW_TIMINGS = dict(confirm_before=10, confirm_deadline=4, rules_before=2, round_length=3,
                    break_length=1, ready_grace=1, rating_deadline=2)
# Fan-out: round 1 at B = S + 5; close at B-30, rules at B-15. Rounds are
# long, so nothing else falls due while the boundary is measured.
FANOUT_READY_GRACE = 5
FANOUT_RULES_BEFORE_B = 15


def log(message: str) -> None:
    print(f"# {message}", file=sys.stderr, flush=True)


def out(line: str) -> None:
    print(line, flush=True)


class BenchFailure(Exception):
    """A phase could not complete; the message says what was seen."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def fmt(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}f}"


def pct(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(p / 100 * len(sorted_values)) - 1))]


def dist(name: str, values: list[float]) -> str:
    v = sorted(values)
    if not v:
        return f"{name}_n=0"
    return (f"{name}p50_ms={pct(v, 50):.1f} {name}p90_ms={pct(v, 90):.1f} {name}p99_ms={pct(v, 99):.1f}"
            f" {name}max_ms={v[-1]:.1f}")


# --- PostgreSQL ---------------------------------------------------------------


def pg_connect(dbname: str, autocommit: bool = True) -> Any:
    import psycopg

    return psycopg.connect(host=HOST, port=PG_PORT, user=PG_USER, dbname=dbname, autocommit=autocommit,
                           connect_timeout=5, application_name="datemaker-bench-round-clock")


def create_database(name: str) -> None:
    with pg_connect("postgres") as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    with pg_connect("postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_settings(dbname: str, suffix: str) -> Any:
    from datemaker.settings import load_settings

    return load_settings(
        POSTGRES_HOST=HOST, POSTGRES_PORT=PG_PORT, POSTGRES_DB=dbname, DATEMAKER_POSTGRES_USER=PG_USER,
        DATEMAKER_POSTGRES_PASSWORD="", DATEMAKER_STORE="postgres", RABBITMQ_HOST=HOST,
        RABBITMQ_PORT=AMQP_PORT, RABBITMQ_EXCHANGE=f"dm_rcbench_{suffix}",
        DATEMAKER_RABBITMQ_QUEUE=f"dm_rcbench_{suffix}_in", DEBUG=False,
        DATEMAKER_RABBITMQ_USERNAME="guest", DATEMAKER_RABBITMQ_PASSWORD="guest",
        DATEMAKER_LOG_LEVEL="WARNING",
    )


class Probe:
    """A connection of the bench's own for cheap progress queries."""

    def __init__(self, dbname: str) -> None:
        self.conn = pg_connect(dbname)

    def deadline_actions(self) -> Counter[str]:
        rows = self.conn.execute("SELECT action, count(*) FROM datemaker.deadlines GROUP BY action").fetchall()
        return Counter({action: int(n) for action, n in rows})

    def waiting_for(self, action: str, due_at: datetime | None = None) -> int:
        if due_at is None:
            row = self.conn.execute("SELECT count(*) FROM datemaker.deadlines WHERE action = %s", (action,))
        else:
            row = self.conn.execute(
                "SELECT count(*) FROM datemaker.deadlines WHERE action = %s AND due_at = %s", (action, due_at))
        return int(row.fetchone()[0])

    def outbox_backlog(self) -> int:
        """Notifications the relay has not passed yet."""
        row = self.conn.execute(
            "SELECT coalesce((SELECT max(notification_id) FROM datemaker.datingevents_events), 0)"
            " - coalesce((SELECT position FROM datemaker.outbox_position WHERE name = 'bot'), 0)"
        ).fetchone()
        return int(row[0])

    def close(self) -> None:
        self.conn.close()


# --- set-up through the application --------------------------------------------


def open_app(settings: Any) -> Any:
    from datemaker.adapters.event_store import open_dating_events

    return open_dating_events(settings)


def profile(n: int, sex: str) -> Any:
    from datemaker.domain.profile import Profile

    return Profile(sex=sex, birthday=date(1991, 1, 1) + timedelta(days=(n * 211) % 3000),
                   city="Kazan", rating=float(n % 5), manual_score=1 + n % 3)


@dataclass
class Planned:
    start: datetime
    timings: Any
    people: list[int]


def setup_events(
    app: Any, count: int, starts: Callable[[int], datetime], timings: Any, people: Callable[[int], int],
    *, confirm: bool,
) -> dict[int, Planned]:
    """Schedule `count` events and register their people, in group saves of
    CHUNK aggregates (plus the catalog, which hands out the wire ids). With
    `confirm`, confirmation is opened and everyone confirms in set-up too."""
    from datemaker.domain.catalog import EventCatalog
    from datemaker.domain.dating_event import DatingEvent

    catalog = app._catalog() or EventCatalog()  # a fresh database: a new catalog
    planned: dict[int, Planned] = {}
    for first in range(0, count, CHUNK):
        batch = []
        now = utc_now()
        for i in range(first, min(count, first + CHUNK)):
            wire_id = catalog.next_wire_id()
            start = starts(i)
            catalog.add(wire_id, start)
            event = DatingEvent.schedule(wire_id=wire_id, start=start, timezone="Europe/Moscow",
                                         users_limit=20, timings=timings, ready_check=False)
            if confirm:
                event.open_confirmation(now)
            uids = [USER_ID_BASE + wire_id * 100 + k for k in range(people(i))]
            for k, uid in enumerate(uids):
                event.register(uid, profile(uid, "M" if (k + i) % 2 else "F"), now)
            if confirm:
                for uid in uids:
                    event.confirm_registration(uid, now)
            planned[wire_id] = Planned(start, timings, uids)
            batch.append(event)
        app.save(catalog, *batch)
    return planned


def confirm_everyone(app: Any, planned: dict[int, Planned]) -> int:
    """Everyone confirms, written in group saves (one event at a time when a
    group save loses a race with the clock). Returns the confirmations."""
    from eventsourcing.persistence import IntegrityError

    done = 0
    wire_ids = sorted(planned)
    for first in range(0, len(wire_ids), 50):
        chunk = wire_ids[first:first + 50]
        events = [app.get_event(w) for w in chunk]
        now = utc_now()
        for event in events:
            for uid in planned[event.wire_id].people:
                event.confirm_registration(uid, now)
        try:
            app.save(*events)
            done += sum(len(planned[w].people) for w in chunk)
        except IntegrityError:
            for w in chunk:
                def confirm(e: Any, w: int = w) -> None:
                    for uid in planned[w].people:
                        if not e.is_confirmed(uid):
                            e.confirm_registration(uid, utc_now())
                app.change(w, confirm)
                done += len(planned[w].people)
    return done


# --- reading the outcome from the event store ----------------------------------


def read_log(app: Any, after: int = 0) -> list[tuple[int, Any]]:
    """(notification id, domain event) of everything recorded after
    notification `after`, in order."""
    found = []
    position = after
    while True:
        notifications = app.recorder.select_notifications(start=position + 1, limit=5000)
        if not notifications:
            return found
        for n in notifications:
            found.append((n.id, app.mapper.to_domain_event(n)))
        position = notifications[-1].id


class CommitWatch:
    """When each stretch of the event log was committed. Every insert into
    the event store sends NOTIFY on the events table's channel, delivered at
    commit; on each one a watcher reads the highest notification id now
    visible. Writers take the events table's lock until they commit, so ids
    are committed in order, and `committed_at(id)` is the first time an id
    at least that high was seen (late by the notify's delivery, ~1 ms).

    The watcher is a process of its own: in this one it would wait for the
    interpreter lock behind the bench's bot, which reads tens of thousands of
    messages at the same boundaries, and see commits late."""

    CHANNEL = "datingevents_events"

    def __init__(self, dbname: str) -> None:
        import multiprocessing

        self._file = tempfile.NamedTemporaryFile(prefix="bench-rc-commits-", suffix=".txt", delete=False)
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._process = context.Process(target=watch_commits, args=(dbname, self._file.name, self._stop), daemon=True)
        self._process.start()
        self.marks: list[tuple[int, float]] = []  # (highest committed id, wall time seen)

    def committed_at(self, notification_id: int) -> float | None:
        import bisect

        if not self.marks or self.marks[-1][0] < notification_id:
            self._read()
        i = bisect.bisect_left(self.marks, (notification_id, float("-inf")))
        return self.marks[i][1] if i < len(self.marks) else None

    def _read(self) -> None:
        with open(self._file.name, encoding="ascii") as f:
            lines = f.read().splitlines()
        self.marks = [(int(a), float(b)) for a, b in (line.split() for line in lines if line.count(" ") == 1)]

    def close(self) -> None:
        self._stop.set()
        self._process.join(5)
        self._read()
        with contextlib.suppress(OSError):
            os.unlink(self._file.name)


def watch_commits(dbname: str, path: str, stop: Any) -> None:
    conn = pg_connect(dbname)
    conn.execute(f'LISTEN "{CommitWatch.CHANNEL}"')
    query = "SELECT coalesce(max(notification_id), 0) FROM datemaker.datingevents_events"
    top_seen = -1
    with open(path, "a", encoding="ascii") as out:
        while not stop.is_set():
            if not list(conn.notifies(timeout=0.2, stop_after=1)):
                continue
            seen = time.time()
            top = int(conn.execute(query).fetchone()[0])
            if top > top_seen:
                top_seen = top
                out.write(f"{top} {seen}\n")
                out.flush()
    conn.close()


def due_of(kind: str, recorded: Any, start: datetime, t: Any, rounds: int) -> datetime | None:
    if kind == "ConfirmationOpened":
        return t.confirmation_opens_at(start)
    if kind in ("GroupsFormed", "Skipped"):
        return t.confirmation_closes_at(start)
    if kind == "RulesAnnounced":
        return t.rules_at(start)
    if kind == "Started":
        return t.round_starts_at(start, 1)
    if kind == "RoundStarted":
        return t.round_starts_at(start, recorded.round_no)
    if kind == "RoundEnded":
        return t.round_ends_at(start, recorded.round_no)
    if kind == "Finished":
        return t.ratings_lock_at(start, rounds)
    return None


@dataclass
class StoreOutcome:
    skews_ms: list[float] = field(default_factory=list)  # recorded `at` - deadline
    committed_ms: list[float] = field(default_factory=list)  # commit - deadline
    unwatched: int = 0  # steps whose commit the watcher missed
    roomless_dates: int = 0  # dates of started rounds that had no room (the pair rested)
    roomless_events: list[int] = field(default_factory=list)
    by_action: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    rooms_lag_ms: list[float] = field(default_factory=list)
    finished: int = 0
    problems: list[str] = field(default_factory=list)
    rounds: Counter[int] = field(default_factory=Counter)
    rounds_of: dict[int, int] = field(default_factory=dict)


def analyse_store(app: Any, planned: dict[int, Planned], watch: CommitWatch) -> StoreOutcome:
    from datemaker.domain.dating_event import DatingEvent
    from datemaker.domain.ids import event_uuid
    from datemaker.domain.pairing import Plan

    by_id = {event_uuid(w): w for w in planned}
    history: dict[int, list[Any]] = defaultdict(list)
    notification_of: dict[int, int] = {}  # id(domain event) -> notification id
    for notification_id, recorded in read_log(app):
        wire_id = by_id.get(recorded.originator_id)
        if wire_id is not None:
            history[wire_id].append(recorded)
            notification_of[id(recorded)] = notification_id
    outcome = StoreOutcome()
    for wire_id, p in sorted(planned.items()):
        events = history[wire_id]
        kinds = Counter(type(e).__name__ for e in events)
        started = [e for e in events if isinstance(e, DatingEvent.Started)]
        # The plan that ran: Started's when it re-paired, else the one fixed before.
        records = [e.plan for e in events if isinstance(e, (DatingEvent.GroupsFormed, DatingEvent.Started)) and e.plan]
        rounds = Plan.from_record(records[-1]).rounds_count if started and records else 0
        outcome.rounds[rounds] += 1
        outcome.rounds_of[wire_id] = rounds
        if kinds["Finished"] == 1:
            outcome.finished += 1
        want = {"ConfirmationOpened": 1, "GroupsFormed": 1, "RulesAnnounced": 1, "Started": 1,
                "RoundStarted": max(rounds - 1, 0), "RoundEnded": rounds, "Finished": 1}
        wrong = {k: kinds[k] for k, n in want.items() if kinds[k] != n}
        started_rounds = sorted([1] * len(started) + [e.round_no for e in events if type(e).__name__ == "RoundStarted"])
        if started:
            plan = Plan.from_record(records[-1])
            roomless = sum(
                max(0, len(plan.pairs_in_round(n)) - len(e.rooms))
                for e in events
                if type(e).__name__ in ("Started", "RoundStarted") and (n := e.round_no)
            )
            if roomless:
                outcome.roomless_dates += roomless
                outcome.roomless_events.append(wire_id)
        ended_rounds = sorted(e.round_no for e in events if type(e).__name__ == "RoundEnded")
        if wrong or rounds < 1 or started_rounds != list(range(1, rounds + 1)) or ended_rounds != started_rounds:
            outcome.problems.append(f"event {wire_id}: rounds={rounds} counts={dict(kinds)}")
        for e in events:
            kind = type(e).__name__
            if kind == "RoomsReserved":
                outcome.rooms_lag_ms.append((e.at - p.timings.confirmation_closes_at(p.start)).total_seconds() * 1e3)
                continue
            due = due_of(kind, e, p.start, p.timings, rounds)
            if due is not None:
                skew = (e.at - due).total_seconds() * 1e3
                outcome.skews_ms.append(skew)
                committed = watch.committed_at(notification_of[id(e)])
                if committed is None:
                    outcome.unwatched += 1
                else:
                    outcome.committed_ms.append((committed - due.timestamp()) * 1e3)
                    outcome.by_action[kind].append((committed - due.timestamp()) * 1e3)
    return outcome


def expected_message_ids(app: Any) -> set[str]:
    """The ids of every bot message the whole event log calls for, computed
    as the outbox relay does (same code, default extensions)."""
    from datemaker.app.outbox import OutboxRelay

    relay = OutboxRelay(app, publish=None, chunk=5000, states_kept=1_000_000)  # type: ignore[arg-type]
    found: set[str] = set()
    position = 0
    while True:
        last, messages = relay.read(position)
        if last == position:
            return found
        found.update(m.message_id for m in messages)
        position = last


# The deadline each bot command answers to (for the delivered skew).
def message_due(command: str, round_no: int, p: Planned, rounds: int) -> datetime | None:
    t, s = p.timings, p.start
    if command == "confirm_registration":
        return t.confirmation_opens_at(s)
    if command in ("send_user_will_take_part_in_event", "send_user_will_not_take_part_in_event"):
        return t.confirmation_closes_at(s)
    if command in ("send_rules", "send_ready_for_event_request"):
        return t.rules_at(s)
    if command in ("invite_to_meeting", "send_partner_profile", "send_sit_out_message"):
        return t.round_starts_at(s, round_no)
    if command in ("send_partner_rating_request", "send_break_message"):
        return t.round_ends_at(s, round_no)
    if command == "send_final_dating_message":  # carries round 0: due when the last round ends
        return t.round_ends_at(s, rounds)
    return None


# --- RabbitMQ -------------------------------------------------------------------


class Broker:
    """The bench's connection: the exchange and the service's queues (declared
    as the service does), and bot-side queues of its own."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    async def start(self) -> None:
        import aio_pika

        from datemaker.adapters.rabbitmq.consumer import declare_topology

        self.connection = await aio_pika.connect(AMQP_URL, client_properties={"connection_name": "bench-round-clock"})
        self.admin = await self.connection.channel()
        await declare_topology(self.admin, self.settings)
        self.reader = await self.connection.channel()
        await self.reader.set_qos(prefetch_count=2000)

    async def bot_queue(self) -> Any:
        queue = await self.reader.declare_queue(f"{self.settings.rabbitmq_exchange}_bot_{uuid.uuid4().hex[:6]}",
                                                exclusive=True, auto_delete=False)
        await queue.bind(self.settings.rabbitmq_exchange, routing_key=self.settings.bot_routing_key)
        return queue

    async def queue_state(self, name: str) -> tuple[int, int]:
        queue = await self.admin.declare_queue(name, passive=True)
        return queue.declaration_result.message_count, queue.declaration_result.consumer_count

    async def close(self) -> None:
        from datemaker.adapters.rabbitmq.consumer import dead_letter_queue_name

        for name in (self.settings.rabbitmq_queue, dead_letter_queue_name(self.settings)):
            with contextlib.suppress(Exception):
                await self.admin.queue_delete(name)
        with contextlib.suppress(Exception):
            await self.admin.exchange_delete(self.settings.rabbitmq_exchange)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.connection.close(), 5)


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
        queue = await channel.declare_queue(f"{exchange}_bot_{uuid.uuid4().hex[:6]}", exclusive=True)
        await queue.bind(exchange, routing_key=routing_key)
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


# --- subprocesses ---------------------------------------------------------------


class Worker:
    """A child process with its output in a temp file, always terminated."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], cwd: str) -> None:
        self.name = name
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-rc-{name}-", suffix=".log", delete=False)
        self.process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def output_tail(self, lines: int = 25) -> str:
        return "".join(self.output().splitlines(keepends=True)[-lines:]) or "(no output)\n"

    def check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
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
        self.log.close()
        return self.process.returncode

    def discard_log(self, keep: bool = False) -> None:
        if keep:
            log(f"{self.name} log kept: {self.log.name}")
            return
        with contextlib.suppress(OSError):
            os.unlink(self.log.name)


def child_env(extra: dict[str, str]) -> dict[str, str]:
    prefixes = ("DATEMAKER_", "POSTGRES_", "RABBITMQ_", "PERSISTENCE_", "SQLITE_", "DEBUG")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process (all its threads) has used so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def start_worker(run: Run, variant: str, settings: Any) -> Worker:
    env = child_env({
        "POSTGRES_HOST": HOST, "POSTGRES_PORT": str(PG_PORT), "POSTGRES_DB": settings.postgres_db,
        "DATEMAKER_POSTGRES_USER": PG_USER, "DATEMAKER_STORE": "postgres", "RABBITMQ_HOST": HOST,
        "RABBITMQ_PORT": str(AMQP_PORT), "RABBITMQ_EXCHANGE": settings.rabbitmq_exchange,
        "DATEMAKER_RABBITMQ_QUEUE": settings.rabbitmq_queue, "DATEMAKER_LOG_LEVEL": "WARNING", "DEBUG": "false",
        # /metrics on a free port of 127.0.0.1 only (the default binds 0.0.0.0:9464)
        "DATEMAKER_METRICS_HOST": HOST, "DATEMAKER_METRICS_PORT": "0",
    })
    if variant == "service":
        env.update(dict(item.split("=", 1) for item in run.args.service_env))
        return Worker("service", [sys.executable, "-m", "datemaker", "serve"], env, run.workdir)
    return Worker("naive", [sys.executable, os.path.abspath(__file__), "--naive-worker"], env, run.workdir)


async def wait_ready(broker: Broker, worker: Worker, variant: str, timeout: float = 60) -> float:
    """Until the service's consumer is attached (or the naive worker says so);
    returns the wall-clock time it was seen."""
    deadline = time.monotonic() + timeout
    while True:
        worker.check_alive()
        if variant == "service":
            _, consumers = await broker.queue_state(broker.settings.rabbitmq_queue)
            if consumers:
                return time.time()
        elif "NAIVE-READY" in worker.output():
            return time.time()
        if time.monotonic() > deadline:
            raise BenchFailure(f"{worker.name} not ready after {timeout:.0f} s; output:\n{worker.output_tail()}")
        await asyncio.sleep(0.02)


async def sleep_until(instant: datetime) -> None:
    await asyncio.sleep(max(0.0, (instant - utc_now()).total_seconds()))


def start_profiler(run: Run, pid: int, phase: str) -> subprocess.Popen[bytes] | None:
    if not run.args.py_spy or run.args.py_spy_phase != phase:
        return None
    exe = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    if not os.path.exists(exe):
        log("py-spy not found (pip install py-spy): not profiling")
        return None
    target = os.path.abspath(run.args.py_spy)
    kind = "speedscope" if target.endswith(".json") else "raw" if target.endswith(".txt") else "flamegraph"
    argv = [exe, "record", "--pid", str(pid), "--rate", "200", "--format", kind, "-o", target, "--nonblocking",
            "--threads"] + (["--gil"] if run.args.py_spy_gil else []) + (["--subprocesses"] if run.args.py_spy_children else [])
    log(f"profiling the service: {' '.join(argv)}")
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop_profiler(profiler: subprocess.Popen[bytes] | None) -> None:
    if profiler is None:
        return
    profiler.send_signal(signal.SIGINT)
    try:
        _, err = profiler.communicate(timeout=30)
        log(f"py-spy: {(err.decode(errors='replace').strip().splitlines() or ['done'])[-1]}")
    except subprocess.TimeoutExpired:
        profiler.kill()
        profiler.wait(5)


# --- the naive baseline worker (a subprocess of this file) ----------------------


async def naive_worker() -> None:
    """One deadline per transaction, one awaited publish per message."""
    import aio_pika

    from datemaker.adapters.event_store import open_dating_events
    from datemaker.logs import configure_logging
    from datemaker.app.outbox import POSITION_NAME, OutboxRelay
    from datemaker.domain.rooms import FakeRooms
    from datemaker.app.clock.round_clock import RoundClock
    from datemaker.settings import load_settings

    settings = load_settings()
    configure_logging(debug=False, level="WARNING")
    app = open_dating_events(settings)
    clock = RoundClock(app, FakeRooms(), batch=1)
    relay = OutboxRelay(app, publish=None, extensions=settings.bot_extensions)  # type: ignore[arg-type]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    connection = await aio_pika.connect(AMQP_URL, client_properties={"connection_name": "bench-naive-clock"})
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(settings.rabbitmq_exchange, ensure=True)
        position = app.outbox_position(POSITION_NAME)
        print("NAIVE-READY", flush=True)
        while not stop.is_set():
            # Claims one deadline (one transaction), loads its event and fires
            # it (another): none of the service's batching, caching or looking ahead.
            claimed = app.claim_due(app.clock(), 30.0, 1)
            for deadline in claimed:
                clock.fire(deadline.wire_id, deadline.due_at)
            fired = len(claimed)
            last, messages = relay.read(position)
            for m in messages:
                await exchange.publish(
                    aio_pika.Message(body=m.body, headers=m.headers, message_id=m.message_id,
                                     delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                    routing_key=settings.bot_routing_key,
                )
            if last != position:
                app.set_outbox_position(POSITION_NAME, last)
                position = last
            elif not fired:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.05)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.close(), 5)
        app.close()


# --- phases ---------------------------------------------------------------------


@dataclass
class Run:
    args: argparse.Namespace
    suffix: str
    workdir: str
    results: dict[str, float] = field(default_factory=dict)
    failed: bool = False
    targets_missed: bool = False
    databases: list[str] = field(default_factory=list)

    def fail(self, variant: str) -> None:
        """A phase went wrong: the service's phases decide the exit status; a
        baseline's failure shows in its own line only."""
        if variant == "service":
            self.failed = True

    def drop(self, name: str) -> None:
        if self.args.keep_databases:
            log(f"kept database {name} (--keep-databases): drop it yourself")
        else:
            drop_database(name)

    def new_database(self) -> tuple[str, Any]:
        name = f"datemaker_bench_rc_{self.suffix}_{len(self.databases)}"
        create_database(name)
        self.databases.append(name)
        from datemaker.adapters.postgres.schema import apply_schema

        settings = make_settings(name, self.suffix)
        apply_schema(settings)
        return name, settings


async def phase_skew(run: Run, broker: Broker, variant: str, count: int) -> None:
    from datemaker.domain.timings import Timings

    label = "" if variant == "service" else " baseline=naive"
    dbname, settings = await asyncio.to_thread(run.new_database)
    app = await asyncio.to_thread(open_app, settings)
    probe = await asyncio.to_thread(Probe, dbname)
    watch = await asyncio.to_thread(CommitWatch, dbname)
    worker: Worker | None = None
    profiler = None
    bot = await asyncio.to_thread(BotListener, broker.settings.rabbitmq_exchange, broker.settings.bot_routing_key)
    arrivals = bot.arrivals
    finished = False
    try:
        timings = Timings(**SKEW_TIMINGS)
        # The first deadline (confirmation opens at S0-10) lies --lead seconds ahead.
        s0 = (utc_now() + timedelta(seconds=run.args.lead + timings.confirm_before)).replace(microsecond=0)
        t0 = time.perf_counter()
        planned = await asyncio.to_thread(
            setup_events, app, count, lambda i: s0 + timedelta(seconds=i % COHORTS), timings,
            lambda i: 4 + i % 3, confirm=False)
        setup_s = time.perf_counter() - t0
        people = sum(len(p.people) for p in planned.values())
        out(f"round_clock setup phase=skew{label} events={count} people={people} seconds={fmt(setup_s)}")
        first_due = timings.confirmation_opens_at(s0)
        last_due = max(timings.ratings_lock_at(p.start, 3) for p in planned.values())
        worker = start_worker(run, variant, settings)
        ready_at = await wait_ready(broker, worker, variant)
        if ready_at > first_due.timestamp() - 0.5:
            raise BenchFailure(f"{worker.name} was ready only {ready_at - first_due.timestamp():+.1f} s from the"
                               f" first deadline: raise --lead (now {run.args.lead} s)")
        log(f"skew{label}: {count} events, {people} people; first deadline in"
            f" {first_due.timestamp() - time.time():.1f} s, last in {last_due.timestamp() - time.time():.1f} s")
        cpu_at_ready = cpu_seconds(worker.pid)
        if variant == "service":
            profiler = start_profiler(run, worker.pid, "skew")
        # Confirmation opens (fired by the clock), then everyone confirms.
        close_due = timings.confirmation_closes_at(s0)
        while True:
            worker.check_alive()
            actions = await asyncio.to_thread(probe.deadline_actions)
            if actions["close_confirmation"] == count:
                break
            if utc_now() > close_due:
                raise BenchFailure(f"confirmation not open everywhere when it should close: {dict(actions)}")
            await asyncio.sleep(0.05)
        c0 = time.perf_counter()
        confirmed = await asyncio.to_thread(confirm_everyone, app, planned)
        log(f"skew{label}: {confirmed} confirmations in {time.perf_counter() - c0:.2f} s,"
            f" {(close_due - utc_now()).total_seconds():.2f} s before confirmation closes")
        # Until every event is over (nothing left in the deadlines table).
        give_up = last_due + timedelta(seconds=run.args.timeout)
        while True:
            worker.check_alive()
            actions = await asyncio.to_thread(probe.deadline_actions)
            if not actions:
                break
            if utc_now() > give_up:
                raise BenchFailure(f"events not over {run.args.timeout:.0f} s after the last deadline:"
                                   f" still waiting {dict(actions)}")
            await asyncio.sleep(0.1)
        over_at = utc_now()
        while (backlog := await asyncio.to_thread(probe.outbox_backlog)) > 0:
            worker.check_alive()
            if utc_now() > over_at + timedelta(seconds=run.args.timeout):
                raise BenchFailure(f"outbox still {backlog} notifications behind {run.args.timeout:.0f} s after the end")
            await asyncio.sleep(0.1)
        cpu_s = cpu_seconds(worker.pid) - cpu_at_ready
        # Every message the log calls for (as the relay computes them) must
        # reach the bench's queue: wait for the last ones, bounded.
        expected_ids = await asyncio.to_thread(expected_message_ids, app)
        settle = time.monotonic() + 15
        while not expected_ids <= bot.refresh().seen.keys() and time.monotonic() < settle:
            await asyncio.sleep(0.1)
        await asyncio.to_thread(bot.close)
        stop_profiler(profiler)
        profiler = None
        worker.check_alive()
        code = worker.stop()
        if code not in (0, None):
            log(f"{worker.name} exited with {code}; output ends:\n{worker.output_tail()}")
        outcome = await asyncio.to_thread(analyse_store, app, planned, watch)
        late_ms = (over_at - last_due).total_seconds() * 1e3
        delivered = []
        for mid, arrived in arrivals.seen.items():
            _, wire, round_no, command, _ = mid.split(":")
            due = message_due(command, int(round_no), planned[int(wire)], outcome.rounds_of.get(int(wire), 0))
            if due is not None:
                delivered.append((arrived - due.timestamp()) * 1e3)
        left = await asyncio.to_thread(probe.deadline_actions)
        missing = expected_ids - arrivals.seen.keys()
        unexpected = arrivals.seen.keys() - expected_ids
        correct = (not outcome.problems and outcome.finished == count and not left and arrivals.duplicates == 0
                   and not missing and not unexpected and not outcome.roomless_dates)
        committed = sorted(outcome.committed_ms)
        if outcome.unwatched:
            log(f"skew{label}: the commit watcher missed {outcome.unwatched} steps (not in the figures)")
        if variant == "service":
            run.results["skew_p99_ms"] = pct(committed, 99)
            run.results["skew_recorded_at_p99_ms"] = pct(sorted(outcome.skews_ms), 99)
        out(f"round_clock skew{label} events={count} fired={len(outcome.skews_ms)} {dist('', committed)}"
            f" over_{TARGET_SKEW_P99_MS:.0f}ms={sum(s > TARGET_SKEW_P99_MS for s in committed)}"
            f" {dist('recorded_at_', outcome.skews_ms)}"
            f" {dist('delivered_', delivered)} messages={len(arrivals.seen)}"
            f" {dist('rooms_lag_', outcome.rooms_lag_ms)} last_over_ms={late_ms:.0f} worker_cpu_seconds={fmt(cpu_s, 2)}"
            f" rounds={'/'.join(f'{k}:{v}' for k, v in sorted(outcome.rounds.items()))}"
            f" finished={outcome.finished} roomless_dates={outcome.roomless_dates}"
            f" missing_messages={len(missing)} unexpected_messages={len(unexpected)}"
            f" duplicate_messages={arrivals.duplicates} correct={str(correct).lower()}")
        log(f"skew{label} messages by command: {dict(sorted(arrivals.commands.items()))}")
        for kind in ("ConfirmationOpened", "GroupsFormed", "RulesAnnounced", "Started", "RoundEnded",
                     "RoundStarted", "Finished"):
            log(f"skew{label} committed {kind}: n={len(outcome.by_action[kind])} {dist('', outcome.by_action[kind])}")
        if not correct:
            run.fail(variant)
            for problem in outcome.problems[:10]:
                log(f"skew{label}: {problem}")
            if left:
                log(f"skew{label}: deadlines left: {dict(left)}")
            if outcome.roomless_dates:
                log(f"skew{label}: {outcome.roomless_dates} dates in {len(outcome.roomless_events)} events had no room"
                    f" (e.g. events {outcome.roomless_events[:5]}): a round started before its rooms were made")
            if missing or unexpected:
                log(f"skew{label}: missing {Counter(m.split(':')[3] for m in missing)},"
                    f" unexpected {Counter(m.split(':')[3] for m in unexpected)}")
        finished = True
    finally:
        stop_profiler(profiler)
        if worker is not None:
            if worker.stop() not in (0, None) or not finished:
                log(f"{worker.name} output ends:\n{worker.output_tail()}")
            worker.discard_log(run.args.keep_service_log)
        await asyncio.to_thread(bot.close)  # its queue is exclusive: gone with its connection
        await asyncio.to_thread(watch.close)
        await asyncio.to_thread(probe.close)
        await asyncio.to_thread(app.close)
        await asyncio.to_thread(run.drop, dbname)


async def phase_fanout(run: Run, broker: Broker, variant: str, count: int) -> None:
    from datemaker.domain.dating_event import DatingEvent
    from datemaker.domain.timings import Timings
    from datemaker.app.outbox import POSITION_NAME

    label = "" if variant == "service" else " baseline=naive"
    people = run.args.fanout_people
    lead = run.args.fanout_lead if variant == "service" else run.args.baseline_fanout_lead
    dbname, settings = await asyncio.to_thread(run.new_database)
    app = await asyncio.to_thread(open_app, settings)
    probe = await asyncio.to_thread(Probe, dbname)
    watch = await asyncio.to_thread(CommitWatch, dbname)
    worker: Worker | None = None
    profiler = None
    queue = await broker.bot_queue()
    finished = False
    try:
        # Set-up and start-up must end before confirmation closes at B - lead.
        budget = 5.0 + count * people * 0.0003
        boundary = (utc_now() + timedelta(seconds=budget + lead)).replace(microsecond=0)
        start = boundary - timedelta(seconds=FANOUT_READY_GRACE)
        timings = Timings(confirm_before=24 * 3600, confirm_deadline=lead - FANOUT_READY_GRACE,
                          rules_before=FANOUT_RULES_BEFORE_B - FANOUT_READY_GRACE, round_length=300,
                          break_length=60, ready_grace=FANOUT_READY_GRACE, rating_deadline=600)
        assert timings.round_starts_at(start, 1) == boundary
        t0 = time.perf_counter()
        planned = await asyncio.to_thread(setup_events, app, count, lambda i: start, timings,
                                          lambda i: people, confirm=True)
        # Set-up's own messages (confirm_registration) went out long ago in reality.
        last_id = await asyncio.to_thread(app.recorder.max_notification_id)
        await asyncio.to_thread(app.set_outbox_position, POSITION_NAME, last_id)
        setup_s = time.perf_counter() - t0
        out(f"round_clock setup phase=fanout{label} events={count} registrations={count * people}"
            f" confirmations={count * people} seconds={fmt(setup_s)}")
        worker = start_worker(run, variant, settings)
        ready_at = await wait_ready(broker, worker, variant)
        close_at = timings.confirmation_closes_at(start)
        log(f"fanout{label}: worker ready {close_at.timestamp() - ready_at:.1f} s before confirmation closes,"
            f" boundary in {boundary.timestamp() - time.time():.1f} s")
        if ready_at > boundary.timestamp() - lead / 2:
            raise BenchFailure(f"set-up and start-up left only {boundary.timestamp() - ready_at:.1f} s before the"
                               f" boundary: raise --fanout-lead/--baseline-fanout-lead (now {lead} s)")
        # One second before the boundary: every event waits only for round 1,
        # and the outbox has published everything before it.
        await sleep_until(boundary - timedelta(seconds=1.5))
        worker.check_alive()
        actions = await asyncio.to_thread(probe.deadline_actions)
        waiting = await asyncio.to_thread(probe.waiting_for, "begin", boundary)
        backlog = await asyncio.to_thread(probe.outbox_backlog)
        if waiting != count or backlog:
            raise BenchFailure(f"not ready 1.5 s before the boundary: {waiting} of {count} events wait for round 1"
                               f" (deadlines {dict(actions)}), outbox {backlog} notifications behind;"
                               f" raise --fanout-lead/--baseline-fanout-lead (now {lead} s)")
        before, _ = await broker.queue_state(queue.name)
        await queue.purge()
        position_before = await asyncio.to_thread(app.outbox_position, POSITION_NAME)
        expected = count * people * 2  # invite + partner profile per person (balanced: all paired)
        if variant == "service":
            profiler = start_profiler(run, worker.pid, "fanout")
        log(f"fanout{label}: ready; {before} pre-boundary messages purged; expecting {expected} at the boundary")
        # The measurement: poll the queue depth (and the deadlines table) from B.
        await sleep_until(boundary)
        cpu_at_b = cpu_seconds(worker.pid)
        b = boundary.timestamp()
        first_s = done_s = None
        give_up = b + run.args.timeout
        polls = 0
        while True:
            depth, _ = await broker.queue_state(queue.name)
            now = time.time()
            polls += 1
            if depth and first_s is None:
                first_s = now - b
            if depth >= expected:
                done_s = now - b
                cpu_s = cpu_seconds(worker.pid) - cpu_at_b
                break
            if polls % 50 == 0:
                worker.check_alive()
            if now > give_up:
                left = await asyncio.to_thread(probe.waiting_for, "begin")
                raise BenchFailure(f"only {depth} of {expected} messages {run.args.timeout:.0f} s after the boundary"
                                   f" ({left} events still wait for round 1)")
            await asyncio.sleep(0.01)
        stop_profiler(profiler)
        profiler = None
        worker.check_alive()
        code = worker.stop()
        if code not in (0, None):
            log(f"{worker.name} exited with {code}; output ends:\n{worker.output_tail()}")
        # Check what arrived and what the store says.
        arrivals = Arrivals(keep_bodies=True)
        await drain(queue, arrivals, expected, 60)
        per_event: Counter[int] = Counter()
        bad_invites = 0
        for mid, body in arrivals.bodies.items():
            _, wire, round_no, command, _ = mid.split(":")
            if command == "invite_to_meeting":
                per_event[int(wire)] += 1
                invite = json.loads(body)["invite_to_meeting"]
                if int(round_no) != 1 or not invite.get("url", "").startswith("https://"):
                    bad_invites += 1
        recorded = await asyncio.to_thread(read_log, app, position_before)
        started = [(n, e) for n, e in recorded if isinstance(e, DatingEvent.Started)]
        decided = sorted((e.at - boundary).total_seconds() * 1e3 for _, e in started)
        commits = sorted(c - b for n, _ in started if (c := watch.committed_at(n)) is not None)
        clock_s = commits[-1] if commits else float("nan")
        invitations = arrivals.commands["invite_to_meeting"]
        correct = (invitations == count * people and arrivals.commands["send_partner_profile"] == count * people
                   and len(started) == count and all(per_event[w] == people for w in planned)
                   and bad_invites == 0 and arrivals.duplicates == 0 and len(arrivals.seen) == expected)
        extra = ""
        if variant == "service":
            run.results["fanout_seconds"] = done_s
        else:
            extra = f" per_1000_events_seconds={fmt(done_s * 1000 / count, 1)}(linear)"
            run.results["naive_fanout_seconds_per_1000"] = done_s * 1000 / count
        out(f"round_clock fanout{label} events={count} invitations={invitations} messages={len(arrivals.seen)}"
            f" seconds={fmt(done_s)}{extra} first_message_ms={first_s * 1e3:.0f}"
            f" first_commit_ms={commits[0] * 1e3 if commits else float('nan'):.0f} clock_seconds={fmt(clock_s)}"
            f" decided_p50_ms={pct(decided, 50):.0f} decided_max_ms={decided[-1] if decided else float('nan'):.0f}"
            f" messages_per_second={expected / done_s:.0f} worker_cpu_seconds={fmt(cpu_s, 2)} setup_seconds={fmt(setup_s)}"
            f" duplicate_messages={arrivals.duplicates} correct={str(correct).lower()}")
        if not correct:
            run.fail(variant)
            log(f"fanout{label}: commands {dict(arrivals.commands)}, started {len(started)},"
                f" events short of invites {sum(per_event[w] != people for w in planned)}, bad invites {bad_invites}")
        finished = True
    finally:
        stop_profiler(profiler)
        if worker is not None:
            if worker.stop() not in (0, None) or not finished:
                log(f"{worker.name} output ends:\n{worker.output_tail()}")
            worker.discard_log(run.args.keep_service_log)
        with contextlib.suppress(Exception):
            await queue.delete(if_unused=False, if_empty=False)
        await asyncio.to_thread(watch.close)
        await asyncio.to_thread(probe.close)
        await asyncio.to_thread(app.close)
        await asyncio.to_thread(run.drop, dbname)


def print_targets(run: Run) -> None:
    r = run.results
    checks = []
    if "skew_p99_ms" in r:
        checks.append(("skew_p99", f"p99_ms<={TARGET_SKEW_P99_MS:.0f}", f"{r['skew_p99_ms']:.1f}",
                       r["skew_p99_ms"] <= TARGET_SKEW_P99_MS))
        # The same with the instant the clock stamped on each step (`at`): read
        # before its batch is loaded and saved, so it flatters big batches.
        checks.append(("skew_p99_recorded_at", f"p99_ms<={TARGET_SKEW_P99_MS:.0f}",
                       f"{r['skew_recorded_at_p99_ms']:.1f}", r["skew_recorded_at_p99_ms"] <= TARGET_SKEW_P99_MS))
    if "fanout_seconds" in r:
        checks.append(("fanout", f"seconds<={TARGET_FANOUT_SECONDS:.0f}", fmt(r["fanout_seconds"]),
                       r["fanout_seconds"] <= TARGET_FANOUT_SECONDS))
    for name, want, got, met in checks:
        out(f"round_clock target name={name} want={want} got={got} met={str(met).lower()}")
    run.targets_missed = not all(met for *_, met in checks)


async def main_async(run: Run) -> None:
    from datemaker.logs import configure_logging

    configure_logging(debug=False, level="WARNING")
    args = run.args
    started = time.monotonic()
    # Other work on the machine skews every figure: say how busy it was.
    out(f"round_clock env cpus={os.cpu_count()} loadavg_1m={os.getloadavg()[0]:.2f} python={sys.version.split()[0]}")
    broker = Broker(make_settings("unused", run.suffix))
    await broker.start()
    try:
        phases: list[tuple[str, Callable[..., Any], str, int]] = []
        if args.only in (None, "skew"):
            if not args.skip_service:
                phases.append(("skew", phase_skew, "service", args.events))
            if not args.skip_baseline:
                phases.append(("skew", phase_skew, "naive", args.baseline_events or args.events))
        if args.only in (None, "fanout"):
            if not args.skip_service:
                phases.append(("fanout", phase_fanout, "service", args.fanout_events))
            if not args.skip_baseline:
                phases.append(("fanout", phase_fanout, "naive", args.baseline_fanout_events))
        for name, phase, variant, count in phases:
            label = "" if variant == "service" else " baseline=naive"
            log(f"phase {name}{label} ({time.monotonic() - started:.0f} s into the run)")
            try:
                await phase(run, broker, variant, count)
            except BenchFailure as exc:
                run.fail(variant)
                out(f"round_clock {name}{label} events={count} correct=false error={json.dumps(str(exc))}")
        print_targets(run)
    finally:
        await broker.close()
        for name in run.databases:  # each phase drops its own; this catches the rest
            with contextlib.suppress(Exception):
                await asyncio.to_thread(run.drop, name)
        log(f"cleaned up; total {time.monotonic() - started:.1f} s")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=500, help="concurrent events in the skew phase")
    parser.add_argument("--baseline-events", type=int, default=0,
                        help="events in the naive skew baseline (default: --events)")
    parser.add_argument("--fanout-events", type=int, default=1000, help="events sharing the fan-out boundary")
    parser.add_argument("--fanout-people", type=int, default=20, help="people per fan-out event (even: half M, half F)")
    parser.add_argument("--baseline-fanout-events", type=int, default=100,
                        help="events in the naive fan-out baseline (it is sequential; scaled linearly)")
    parser.add_argument("--lead", type=float, default=4.0,
                        help="skew: seconds from the end of set-up to the first deadline (covers start-up)")
    parser.add_argument("--fanout-lead", type=int, default=45,
                        help="fan-out: confirmation closes this many seconds before the boundary")
    parser.add_argument("--baseline-fanout-lead", type=int, default=25,
                        help="the same for the naive fan-out baseline (fewer events)")
    parser.add_argument("--timeout", type=float, default=60.0, help="max seconds to wait past a phase's last deadline")
    parser.add_argument("--only", choices=("skew", "fanout"), help="run one phase only")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-service", action="store_true", help="run the naive baselines only")
    parser.add_argument("--strict", action="store_true", help="exit 2 when a target is missed")
    parser.add_argument("--service-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the service, repeatable")
    parser.add_argument("--py-spy", metavar="FILE", help="record the service with py-spy in one phase")
    parser.add_argument("--py-spy-phase", choices=("skew", "fanout"), default="fanout")
    parser.add_argument("--keep-service-log", action="store_true", help="keep the service's output (path on stderr)")
    parser.add_argument("--py-spy-gil", action="store_true", help="sample only the thread holding the GIL (CPU)")
    parser.add_argument("--py-spy-children", action="store_true", help="also record the follower processes")
    parser.add_argument("--keep-databases", action="store_true",
                        help="do not drop the phases' databases (for a look afterwards)")
    parser.add_argument("--naive-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.events, args.fanout_events, args.baseline_fanout_events) < 1 or args.baseline_events < 0:
        parser.error("event counts must be positive")
    if args.fanout_people < 2 or args.fanout_people % 2 or args.fanout_people > 20:
        parser.error("--fanout-people must be even, 2..20 (users_limit is 20)")
    if min(args.fanout_lead, args.baseline_fanout_lead) < FANOUT_RULES_BEFORE_B + 5:
        parser.error(f"--fanout-lead must be at least {FANOUT_RULES_BEFORE_B + 5}")
    if any("=" not in item for item in args.service_env):
        parser.error("--service-env takes NAME=VALUE")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.naive_worker:
        asyncio.run(naive_worker())
        return 0
    suffix = uuid.uuid4().hex[:10]
    workdir = tempfile.mkdtemp(prefix="datemaker-bench-rc-")  # no stray .env is read
    run = Run(args, suffix, workdir)
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
