"""One run of the bench, and the state it starts from: platform users and
events in the bench's own database."""

from __future__ import annotations

import argparse
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from harness.database import pg_connect
from harness.profiler import start_profiler

USERS_LIMIT = 20


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


def schedule_events(settings: Any, count: int) -> list[int]:
    from datemaker.runtime.bootstrap import open_dating_events

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


def start_phase_profiler(run: Run, pid: int, phase: str) -> subprocess.Popen[bytes] | None:
    """py-spy on the service when --py-spy asks for this phase."""
    if not run.args.py_spy or run.args.py_spy_phase != phase:
        return None
    return start_profiler(pid, run.args.py_spy, rate=250, options=["--idle"] if run.args.py_spy_idle else [])
