"""Benchmark of Google Meet rooms at the evening peak: 100 events of 20
people starting within one hour need 10,000 rooms, one per date, while
Google lets an account make 10 a minute. Today's approach (rooms made once
a plan is fixed) against the pool of rooms made during the day, with one
host account and with three, on simulated time, against the fake Meet
server enforcing Google's quotas.

    python bench/rooms.py [--events 100] [--cases today,pool,pool3] [--scale N]

Everything it touches is its own and removed at the end: a fresh PostgreSQL
database per case (`datemaker db init` applied, dropped WITH (FORCE)) and a
fake Meet server process per case (`tests/support/fake_meet_process.py`),
its token files in a temporary directory. Only 127.0.0.1 is used. Lines
printed on stdout (key=value; each `rooms peak` is one line):

    rooms env cpus=2 loadavg_1m=... python=...
    rooms peak approach=make_after_plan accounts=1 dates=10000 on_time=... no_room=... rooms_made=...
        max_creates_per_minute_account=... max_creates_per_minute_project=... rate_limited=...
        sim_hours=... elapsed_s=... scale=60 sim_start=17:55 pool_at_first_plan=... fill_per_minute=...
        pool_left=... roomless_events=... bot_agrees=true correct=true
    rooms peak approach=pool accounts=1 ...
    rooms peak approach=pool accounts=3 ...
    rooms target name=peak_hour_dates want=on_time>=10000 got=... met=true|false
    rooms target name=within_quota want=max_creates_per_minute_account<=10 got=... met=true|false
    rooms target name=within_project_quota want=max_creates_per_minute_project<=100 got=... met=true|false

peak_hour_dates is the pool with one account; the quotas are the busiest
minute of every case run. The scenario, how time is simulated (each case's
default scale, and why), and what each key means are told in
rooms_parts/__init__.py. The three cases take about 13 minutes on a 2-core
machine; `--events 20` or `--cases` make a shorter run.

Progress goes to stderr as `# ...` lines. Exit status: 0 when every case
ran to its end and its figures agree (correct=true), 1 when one did not
(correct=false, with error= when it could not finish), 2 with --strict when
a target was missed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests.support

from harness.database import drop_database  # noqa: E402
from harness.report import BenchFailure, log, out, print_targets  # noqa: E402
from rooms_parts.cases import cases, sim_day  # noqa: E402
from rooms_parts.outcome import Dates, read_dates  # noqa: E402
from rooms_parts.simulation import Evening, run_case  # noqa: E402

ACCOUNT_QUOTA = 10  # spaces.create a minute per account (Google's; the fake enforces it)
PROJECT_QUOTA = 100


def peak_line(evening: Evening, dates: Dates) -> tuple[str, bool]:
    """The case's line, and whether its figures are correct."""
    stats = evening.stats
    per_account = stats["max_creates_in_any_minute"]["accounts"]
    correct = not dates.problems and dates.rounds_not_started == 0 and dates.bot_agrees
    return (
        f"rooms peak {evening.case.label()} dates={dates.dates} on_time={dates.on_time} no_room={dates.no_room}"
        f" rooms_made={sum(stats['accepted_creates'].values())}"
        f" max_creates_per_minute_account={max(per_account.values(), default=0)}"
        f" max_creates_per_minute_project={stats['max_creates_in_any_minute']['project']}"
        f" rate_limited={stats['rejected_by_quota'].get('create', 0)}"
        f" sim_hours={evening.sim_hours:.2f} elapsed_s={evening.elapsed_s:.1f} scale={evening.scale:g}"
        f" sim_start={evening.began_at:%H:%M} pool_at_first_plan={evening.pool_at_first_plan}"
        f" fill_per_minute={evening.fill_per_minute:.2f}"
        f" pool_left={evening.pool_left} roomless_events={dates.roomless_events}"
        f" bot_agrees={str(dates.bot_agrees).lower()} correct={str(correct).lower()}"
    ), correct


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from datemaker.logs import configure_logging

    configure_logging(debug=False, level="ERROR")
    chosen = cases(args.pool_start, args.pool3_start)
    suffix = uuid.uuid4().hex[:10]
    day = sim_day(datetime.now(UTC))
    out(f"rooms env cpus={os.cpu_count()} loadavg_1m={os.getloadavg()[0]:.2f} python={sys.version.split()[0]}")
    started = time.monotonic()
    results: dict[str, tuple[Evening, Dates]] = {}
    failed = False
    try:
        for index, key in enumerate(args.cases):
            case = chosen[key]
            log(f"case {case.label()} from {case.starts_at:%H:%M} ({time.monotonic() - started:.0f} s into the run)")
            try:
                evening = run_case(case, args, args.scale or case.scale, suffix, index, day)
            except BenchFailure as exc:
                failed = True
                out(f"rooms peak {case.label()} correct=false error={json.dumps(str(exc))}")
                continue
            try:
                dates = read_dates(evening.app, evening.wire_ids)
            finally:
                evening.app.close()
                if args.keep_databases:
                    log(f"kept database {evening.dbname} (--keep-databases): drop it yourself")
                else:
                    drop_database(evening.dbname)
            line, correct = peak_line(evening, dates)
            out(line)
            log(f"{key}: Meet calls by outcome, as the client saw them: {dict(sorted(evening.calls.items()))}")
            for problem in dates.problems[:10]:
                log(f"{key}: {problem}")
            if not dates.bot_agrees:
                log(f"{key}: bot messages {dict(dates.messages)} for on_time={dates.on_time} no_room={dates.no_room}")
            failed = failed or not correct
            results[key] = (evening, dates)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    missed = not check_targets(results)
    log(f"total {time.monotonic() - started:.1f} s")
    if failed:
        return 1
    return 2 if args.strict and missed else 0


def check_targets(results: dict[str, tuple[Evening, Dates]]) -> bool:
    checks = []
    if "pool" in results:
        _, dates = results["pool"]
        checks.append(("peak_hour_dates", f"on_time>={dates.dates}", str(dates.on_time),
                       dates.on_time >= dates.dates > 0))
    if results:
        stats = [evening.stats for evening, _ in results.values()]
        account = max(max(s["max_creates_in_any_minute"]["accounts"].values(), default=0) for s in stats)
        project = max(s["max_creates_in_any_minute"]["project"] for s in stats)
        checks.append(("within_quota", f"max_creates_per_minute_account<={ACCOUNT_QUOTA}", str(account),
                       account <= ACCOUNT_QUOTA))
        checks.append(("within_project_quota", f"max_creates_per_minute_project<={PROJECT_QUOTA}", str(project),
                       project <= PROJECT_QUOTA))
    return print_targets("rooms", checks)


def hour_minute(text: str) -> clock_time:
    try:
        return datetime.strptime(text, "%H:%M").time()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not HH:MM: {text!r}") from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--scale", type=float,
                        help="simulated seconds per real second, for the app and the fake server alike, in every"
                             " case (default: each case's own: today 60, pool 240, pool3 120)")
    parser.add_argument("--count-every", type=float, default=5.0,
                        help="real seconds between the pool filler's counts of the dates ahead (at least its"
                             " simulated minute)")
    parser.add_argument("--lease-every", type=float, default=5.0,
                        help="real seconds of the round clock's lease on a deadline (at least its 30 simulated)")
    parser.add_argument("--events", type=int, default=100, help="events of 20 people starting between 19:00 and 20:00")
    parser.add_argument("--cases", default="today,pool,pool3",
                        help="comma-separated: today (no pool, 1 account), pool (1 account), pool3 (3 accounts)")
    parser.add_argument("--pool-start", type=hour_minute, default=clock_time(0, 0),
                        help="simulated time of day the 1-account pool case starts at (HH:MM)")
    parser.add_argument("--pool3-start", type=hour_minute, default=clock_time(12, 0),
                        help="the same for the 3-account pool case")
    parser.add_argument("--tick", type=float, default=0.01, help="real seconds between the clock's looks at its deadlines")
    parser.add_argument("--strict", action="store_true", help="exit 2 when a target is missed")
    parser.add_argument("--keep-databases", action="store_true", help="do not drop the cases' databases")
    args = parser.parse_args(argv)
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in args.cases if c not in ("today", "pool", "pool3")]
    if unknown or not args.cases:
        parser.error(f"--cases takes today, pool, pool3 (got {','.join(unknown) or 'none'})")
    if args.events < 1 or (args.scale is not None and args.scale <= 0) or args.tick <= 0:
        parser.error("--events, --scale and --tick must be positive")
    if min(args.count_every, args.lease_every) < 0:
        parser.error("--count-every and --lease-every must not be negative")
    return args


if __name__ == "__main__":
    sys.exit(main())
