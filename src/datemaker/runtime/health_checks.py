"""What /readyz and /healthz of `datemaker serve` check.

Readiness: only the parts that carry the traffic decide it: the event store
they share, the bot consumer and its broker, the round clock, the outbox
relay. Background tasks (housekeeping, schedules, the platform writes
poller) log, count and retry their failures and never take the service out
of rotation. Events whose step keeps failing are listed as a detail: one
bad event must not take every other one down with it.

Health: the process is not wedged, i.e. the consumer settles what waits for
it. A broker that is away is readiness's to report: restarting the process
would not bring it back."""

from __future__ import annotations

import time
from collections.abc import Collection

from datemaker.adapters.observability.checks import Check
from datemaker.adapters.rabbitmq.consumer import BotConsumer
from datemaker.app.clock.round_clock import RoundClock
from datemaker.app.dating_events import DatingEvents

CLOCK_STALE_SECONDS = 10.0  # a clock silent this long is not running
FAILING_LISTED = 20  # wire ids named in the detail line; the rest are counted


def readiness_checks(app: DatingEvents, consumer: BotConsumer, clock: RoundClock,
                     running: Collection[str]) -> list[Check]:
    """`running`: the names of the watched tasks that run now."""

    def store() -> str | None:
        try:
            app.ping()
        except Exception:
            return "event store unreachable"
        return None

    def consuming() -> str | None:
        return None if "consumer" in running and consumer.ready.is_set() else "consumer not running"

    def clock_runs() -> str | None:
        fresh = time.monotonic() - clock.alive_at <= CLOCK_STALE_SECONDS
        return None if "clock" in running and fresh else "round clock not running"

    return [
        Check("event store", store),
        Check("rabbitmq", lambda: None if consumer.connected else "RabbitMQ unreachable"),
        Check("consumer", consuming),
        Check("clock", clock_runs),
        Check("outbox", lambda: None if "outbox" in running else "outbox not running"),
        Check("failing events", lambda: failing_events(clock), fails=False),
    ]


def failing_events(clock: RoundClock) -> str | None:
    wire_ids = sorted(list(clock.failing.attempts))  # a copy: the clock's thread changes it
    if not wire_ids:
        return None
    named = ", ".join(str(w) for w in wire_ids[:FAILING_LISTED])
    more = f" and {len(wire_ids) - FAILING_LISTED} more" if len(wire_ids) > FAILING_LISTED else ""
    return f"events failing: {named}{more}"


def health_checks(consumer: BotConsumer, stall_seconds: float) -> list[Check]:
    def progress() -> str | None:
        if not consumer.connected or consumer.waiting_for_store:
            return None  # (an outage: readiness's to report, a restart would not end it)
        stalled = consumer.stalled_seconds()
        if stalled <= stall_seconds:
            return None
        return (f"consumer wedged: {consumer.unsettled} messages held and {consumer.queue_depth} waiting "
                f"in the queue, none settled for {stalled:.0f} s")

    return [Check("consumer progress", progress)]
