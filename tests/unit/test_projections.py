"""The projection's pure parts: every recorded kind has a decision, the
tables it needs are checked at start, and a batch's writes come in log order
with one recount per event at the end."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from eventsourcing.domain import CanMutateAggregate

from datemaker.adapters.postgres.schema import REQUIRED_TABLES
from datemaker.domain.dating_event import DatingEvent
from datemaker.projections.rebuild import ProjectionStatus
from datemaker.projections.changes import Change
from datemaker.projections.projector import HANDLERS, STATE_ONLY, apply_changes
from datemaker.projections.tables import REQUIRED
from datemaker.runtime.follower_tasks import follow_projections

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class RecordingCursor:
    def __init__(self) -> None:
        self.statements: list[tuple[str, Any]] = []

    def execute(self, sql: str, params: Any = None) -> None:
        self.statements.append((sql, params))

    def executemany(self, sql: str, rows: Any) -> None:
        self.statements.append((sql, list(rows)))


def change(kind: str, event_id: int, n: int, **fields: Any) -> Change:
    return Change(notification_id=n, event_id=event_id, kind=kind, recorded=SimpleNamespace(**fields),
                  state_id=1, at=AT, plan=fields.get("plan"))


def test_every_kind_the_aggregate_records_has_a_handler_or_is_state_only():
    recorded = {
        name for name, value in vars(DatingEvent).items()
        if isinstance(value, type) and issubclass(value, CanMutateAggregate) and name not in ("Event", "Created")
    } - {"Snapshot"}
    assert {"Scheduled", "Registered", "AttendanceRecorded", "Finished"} <= recorded
    assert recorded - set(HANDLERS) - STATE_ONLY == set(), "decide what the analytics do with these kinds"
    assert set(HANDLERS) & STATE_ONLY == set()


def test_serve_refuses_to_start_without_the_analytics_tables():
    assert set(REQUIRED) <= set(REQUIRED_TABLES)


def test_a_batch_is_written_in_log_order_then_each_event_recounted_once():
    cur = RecordingCursor()
    apply_changes(cur, [
        change("Registered", 7, 1, user_id=1),
        change("Postponed", 9, 2),  # a kind this version does not know
        change("RegistrationConfirmed", 7, 3, user_id=1),
    ])
    sql = [statement for statement, _ in cur.statements]
    # A fresh registration replaces any earlier row (the platform's table has no key).
    assert "DELETE FROM public.dating_registrations" in sql[0] and "INSERT INTO public.dating_registrations" in sql[1]
    assert "SET confirmed_on_dttm = " in sql[2]
    recounts = [params for statement, params in cur.statements if statement.startswith("UPDATE datemaker.event_stats s")]
    assert [p["id"] for p in recounts] == [7, 9]
    assert len(sql) == 3 + 2 * 2  # three statements of two handlers, then per event: state of dating_events and the recount


def test_lag_is_head_minus_position_never_negative():
    assert ProjectionStatus(position=7, head=10).behind == 3
    assert ProjectionStatus(position=10, head=10).behind == 0
    assert ProjectionStatus(position=12, head=10).behind == 0  # the head read first, then a write came


def test_without_postgresql_the_serve_task_only_waits_for_stop():
    class NoStore:
        settings = SimpleNamespace(uses_postgres=False)

        @property
        def app(self) -> Any:
            raise AssertionError("the store must not be opened")

    async def scenario() -> bool:
        stop = asyncio.Event()
        task = asyncio.create_task(follow_projections(NoStore(), stop))  # type: ignore[arg-type]
        await asyncio.sleep(0)  # one turn of the loop: the task runs to its first await
        waiting = not task.done()
        stop.set()
        await asyncio.wait_for(task, timeout=5)
        return waiting

    assert asyncio.run(scenario()) is True
