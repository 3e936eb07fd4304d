"""Benchmark of the platform's own writes as commands: the bot's reaction
INSERTs (PLATFORM.md), captured by the database into datemaker's inbox and
taken by the service's taker, from the press to the event's history.

    python bench/platform_writes.py [--rate 100] [--seconds 10] [--events 10]

A fresh PostgreSQL database (`datemaker db init` on an empty one, dropped at
the end) holds `--events` running events of 20 people each, in round 1. A bot
thread presses like or dislike (each press the opposite of the last, so each
is accepted) at `--rate` presses a second on a connection of its own, while
the taker runs as `datemaker serve` runs it (a pass, and a pause of 0.1 s
when the inbox was empty). Latency is from just before the bot's INSERT to
the commit of the save that recorded it. Lines on stdout:

    platform_writes press_to_recorded rate=100 n=1000 p50_ms=... p99_ms=... correct=true
    platform_writes press_to_recorded baseline=one_per_transaction rate=100 n=1000 p50_ms=... correct=...
    platform_writes target name=press_to_recorded_p99 want=p99_ms<=1000 got=... met=true|false

The baseline takes one inbox row per transaction (the straightforward taker).
correct=true: every press recorded exactly once, nothing left in the inbox."""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from harness.database import create_database, drop_database, make_settings, pg_connect
from harness.report import dist, log, out, pct, print_targets

TARGET_P99_MS = 1000.0
PAUSE_SECONDS = 0.1  # runtime/wiring.PLATFORM_WRITES_EVERY_SECONDS


def set_up(dbname: str, events: int) -> tuple[Any, Any, list[tuple[int, int, int]]]:
    """The app on a clock fixed 30 s into round 1, and every (event, a, b) date."""
    from datemaker.adapters.event_store import persistence_env
    from datemaker.adapters.fake_rooms import FakeRooms
    from datemaker.adapters.postgres.schema import apply_schema
    from datemaker.app.clock.round_clock import RoundClock
    from datemaker.app.dating_events import DatingEvents
    from datemaker.domain.profile import Profile
    from datemaker.domain.timings import Timings

    settings = make_settings(dbname, uuid.uuid4().hex[:8])
    apply_schema(settings)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    t = Timings()
    now = [start - timedelta(days=3)]
    app = DatingEvents(env=persistence_env(settings), clock=lambda: now[0])
    people = [(uid, "M" if uid % 2 else "F") for uid in range(1, 21)]
    with pg_connect(dbname) as conn:
        conn.cursor().executemany("INSERT INTO public.users (id, username, sex, birthday, city) VALUES"
                                  " (%s, %s, %s, '1995-05-05', 'Kazan')", [(u, f"u{u}", s) for u, s in people])
    clock = RoundClock(app, FakeRooms(), clock=lambda: now[0])
    wire_ids = []
    for _ in range(events):
        wire_id = app.schedule_event(start=start, timezone="Europe/Moscow", ready_check=False)
        for uid, sex in people:
            app.register(wire_id, uid, Profile(sex=sex, birthday=date(1995, 5, 5), city="Kazan"))
        wire_ids.append(wire_id)

    def run_until(instant: datetime) -> None:
        while (due := app.next_due_at()) is not None and due <= instant:
            now[0] = max(now[0], due)
            clock.fire_due()
        now[0] = instant

    run_until(t.confirmation_opens_at(start))
    for wire_id in wire_ids:
        for uid, _ in people:
            app.confirm_registration(wire_id, uid)
    run_until(t.round_starts_at(start, 1) + timedelta(seconds=30))
    dates = [(w, p.a, p.b) for w in wire_ids for p in app.get_event(w).planned.pairs_in_round(1)]
    return settings, app, dates


def measure(dbname: str, app: Any, dates: list[tuple[int, int, int]], rate: int, seconds: float,
            batch: int) -> tuple[list[float], bool]:
    from datemaker.app.platform_writes import PlatformWrites

    writes = PlatformWrites(app, display_timezone="Europe/Moscow", batch=batch)
    committed: dict[tuple[int, int, int, str, int], float] = {}
    save = app.save_logged

    def saved(*aggregates: Any, **kwargs: Any) -> None:  # the bench watches each save's commit
        save(*aggregates, **kwargs)
        done = time.monotonic()
        for write, refusal in kwargs.get("platform_done") or ():
            committed[(write.event_id, write.user_id, write.partner_id, write.kind, write.id)] = done

    app.save_logged = saved
    stop = threading.Event()

    def take() -> None:
        while not stop.is_set():
            if not writes.take():
                stop.wait(PAUSE_SECONDS)

    taker = threading.Thread(target=take, daemon=True)
    taker.start()
    pressed: list[tuple[tuple[int, int, int, str], float]] = []
    last: dict[tuple[int, int, int], str] = {}
    total = int(rate * seconds)
    with pg_connect(dbname) as bot:
        began = time.monotonic()
        for n in range(total):
            wire_id, a, b = dates[n % len(dates)]
            source, target = (a, b) if (n // len(dates)) % 2 == 0 else (b, a)
            key = (wire_id, source, target)
            kind = "dislike" if last.get(key) == "like" else "like"
            last[key] = kind
            time.sleep(max(began + n / rate - time.monotonic(), 0.0))
            at = time.monotonic()
            bot.execute(f"INSERT INTO public.{kind}s (source_user_id, target_user_id, event_id) VALUES (%s, %s, %s)",
                        (source, target, wire_id))
            pressed.append(((wire_id, source, target, kind), at))
    deadline = time.monotonic() + 30
    while len(committed) < total and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    taker.join(10)
    app.save_logged = save
    # Presses of one key and kind are matched to their inbox rows in order.
    by_key: dict[tuple[int, int, int, str], list[float]] = {}
    for (wire_id, user, partner, kind, _), done in sorted(committed.items(), key=lambda item: item[0][4]):
        by_key.setdefault((wire_id, user, partner, kind), []).append(done)
    latencies = []
    for key, at in pressed:
        if by_key.get(key):
            latencies.append((by_key[key].pop(0) - at) * 1000)
    with pg_connect(dbname) as conn:
        left = conn.execute("SELECT count(*) FROM datemaker.platform_inbox").fetchone()[0]
        refused = conn.execute("SELECT count(*) FROM datemaker.platform_refusals").fetchone()[0]
    correct = len(latencies) == total and left == 0 and refused == 0
    return sorted(latencies), correct


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=100, help="presses per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--events", type=int, default=10, help="running events of 20 people")
    args = parser.parse_args()
    from datemaker.logs import configure_logging

    configure_logging(debug=False, level="WARNING")
    results = {}
    for label, batch in (("", 500), (" baseline=one_per_transaction", 1)):
        dbname = f"datemaker_bench_presses_{uuid.uuid4().hex[:8]}"
        create_database(dbname)
        try:
            log(f"setting up {args.events} events in {dbname}")
            _, app, dates = set_up(dbname, args.events)
            try:
                latencies, correct = measure(dbname, app, dates, args.rate, args.seconds, batch)
            finally:
                app.close()
        finally:
            drop_database(dbname)
        results[label] = latencies
        out(f"platform_writes press_to_recorded{label} rate={args.rate} n={len(latencies)} "
            f"{dist('', latencies)} correct={str(correct).lower()}")
    p99 = pct(results[""], 99)
    print_targets("platform_writes", [("press_to_recorded_p99", f"p99_ms<={TARGET_P99_MS:.0f}", f"{p99:.1f}",
                                       p99 <= TARGET_P99_MS)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
