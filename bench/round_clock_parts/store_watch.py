"""The bench's own view of the store while a phase runs: cheap progress
queries, and when each stretch of the event log was committed."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections import Counter
from datetime import datetime
from typing import Any

from harness.database import pg_connect

APPLICATION_NAME = "datemaker-bench-round-clock"


class Probe:
    """A connection of the bench's own for cheap progress queries."""

    def __init__(self, dbname: str) -> None:
        self.conn = pg_connect(dbname, application_name=APPLICATION_NAME)

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
    conn = pg_connect(dbname, application_name=APPLICATION_NAME)
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
