"""Wires the parts of `datemaker serve` together, once, from the container:
the bot consumer, the round clock, the log's followers, housekeeping, and the
metrics and health endpoints that watch them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

from datemaker.adapters.meet.calls import MeetObserver
from datemaker.adapters.meet.factory import build_room_pool, build_rooms
from datemaker.adapters.observability.checks import run_checks
from datemaker.adapters.observability.http import HealthServer
from datemaker.adapters.observability.metrics import Metrics
from datemaker.adapters.rabbitmq.consumer import BotConsumer
from datemaker.app.bot_commands import BotCommandHandler
from datemaker.app.clock.round_clock import RoundClock
from datemaker.app.pause import when_set
from datemaker.app.platform_writes import PlatformWrites
from datemaker.app.ports import RoomsPort, SpareRooms
from datemaker.app.room_pool import PoolFiller
from datemaker.app.schedules import make_due_events
from datemaker.logs import get_logger
from datemaker.runtime.background import background
from datemaker.runtime.bootstrap import Container
from datemaker.runtime.follower_tasks import follower_task
from datemaker.runtime.followers import Follower, Report, supervise
from datemaker.runtime.health_checks import health_checks, readiness_checks
from datemaker.runtime.privacy import PRIVACY_EVERY_SECONDS, privacy_job
from datemaker.runtime.tasks import Task
from datemaker.settings import Settings

log = get_logger(__name__)

REPLY_MEMORY_SECONDS = 7 * 24 * 3600  # how long a redelivery still finds its reply
SCHEDULES_EVERY_SECONDS = 60.0
FORGET_REPLIES_EVERY_SECONDS = 3600.0
PLATFORM_WRITES_EVERY_SECONDS = 0.1  # a press reaches the event's history well within a second


def store_name(settings: Settings) -> str:
    return "postgres" if settings.uses_postgres else "sqlite"


@dataclass
class Service:
    container: Container
    metrics: Metrics
    consumer: BotConsumer
    clock: RoundClock
    platform_writes: PlatformWrites
    health: HealthServer | None = None
    pool_filler: PoolFiller | None = None
    running: set[str] = field(default_factory=set)
    followers: dict[str, Follower] = field(default_factory=dict)  # started early, not yet supervised

    def tasks(self) -> list[Task]:
        return [self._watched("consumer", self.consumer.run), self._watched("clock", self.clock.run),
                self._watched("outbox", self._follower("outbox")),
                self._background("forget_old_replies", self._forget_old_replies, FORGET_REPLIES_EVERY_SECONDS),
                self._background("schedules", self._schedules, SCHEDULES_EVERY_SECONDS),
                # Erase requests waiting for their events, and retention (README, Privacy).
                self._background("privacy", self._privacy, PRIVACY_EVERY_SECONDS),
                self._watched("projections", self._follower("analytics")),
                # The platform's writes: at once again while there are more.
                self._background("platform_writes", self.platform_writes.take, PLATFORM_WRITES_EVERY_SECONDS, bool),
                *([self._fill_pool] if self.pool_filler else [])]

    async def _fill_pool(self, stop: asyncio.Event) -> None:
        """Meet rooms made ahead, on a thread of its own that sleeps until
        the next free make (its failures are logged and tried again)."""
        assert self.pool_filler is not None
        halt = threading.Event()
        relay = asyncio.create_task(when_set(stop, halt.set))
        try:
            await asyncio.to_thread(self.pool_filler.run, halt.wait)
        finally:
            halt.set()
            relay.cancel()

    def _background(self, name: str, step: Callable[[], Any], every: float,
                    again: Callable[[Any], bool] = lambda result: False) -> Task:
        failures = self.metrics.background_failures
        failures.labels(name)  # present from the start, at 0
        return background(name, step, every, lambda task: failures.labels(task).inc(), again=again)

    def _follower(self, role: str) -> Task:
        """In a process of its own with PostgreSQL (unless turned off), else here."""
        settings = self.container.settings
        if settings.uses_postgres and settings.follower_processes:
            return partial(supervise, role, settings, on_report=self._reported, first=self.followers.pop(role, None))
        return follower_task(role, self.container, self.metrics.follower_counted)

    def _reported(self, report: Report) -> None:
        """Counters a follower process reported."""
        for (name, label), n in report.items():
            self.metrics.follower_counted(name, label, n)

    def _schedules(self) -> None:
        """Turn recurring rules into events ahead of time."""
        app = self.container.app
        settings = self.container.settings
        made = make_due_events(app, app.clock(), timedelta(days=settings.schedule_horizon_days),
                               confirm_reminder=settings.confirm_reminder)
        if made:
            log.info("events made from schedules", count=len(made))

    def _privacy(self) -> int:
        app = self.container.app
        return privacy_job(app, self.container.settings.personal_data_days).step()

    def _watched(self, name: str, task: Task) -> Task:
        async def run(stop: asyncio.Event) -> None:
            self.running.add(name)
            try:
                await task(stop)
            finally:
                self.running.discard(name)

        run.__name__ = name
        return run

    def _forget_old_replies(self) -> None:
        removed = self.container.app.forget_handled_before(REPLY_MEMORY_SECONDS)
        if removed:
            log.info("forgot old replies", count=removed)


def build_service(container: Container, rooms: RoomsPort | None = None, metrics_port: int | None = None,
                  followers: dict[str, Follower] | None = None) -> Service:
    settings = container.settings
    app = container.app
    # With PostgreSQL the analytics follower snapshots the dating events,
    # off the path of the bot's commands.
    app.snapshots_on_save = not settings.uses_postgres
    metrics = Metrics()
    metrics.watch_store(app.overview)
    handler = BotCommandHandler(app, display_timezone=settings.display_timezone)
    consumer = BotConsumer(settings, handler.handle, on_answer=metrics.command_answered)
    metrics.input_queue.set_function(lambda: consumer.queue_depth)
    pool = build_room_pool(settings, app) if rooms is None else None
    rooms = rooms or build_rooms(settings, app, pool=pool, observer=MeetObserver(
        rooms_reserved=metrics.rooms_reserved.inc,
        call=metrics.meet_call,
        quota_wait=lambda pace, seconds: metrics.meet_quota_wait.observe(seconds),
    ))
    clock = RoundClock(app, rooms, lease_seconds=settings.clock_lease_seconds, on_fired=metrics.deadline_fired,
                       on_step_failed=metrics.step_failed, pool=pool)
    filler = None
    if pool is not None and isinstance(rooms, SpareRooms):
        filler = PoolFiller(app, pool, rooms, horizon=timedelta(seconds=settings.meet_pool_horizon),
                            margin=settings.meet_pool_margin, clock=app.clock, busy=lambda: clock.room_work_waiting)
        metrics.watch_meet_pool(lambda: filler.figures, rooms.accounts_usable)
    metrics.failing_events.set_function(lambda: len(clock.failing.attempts))
    writes = PlatformWrites(app, display_timezone=settings.display_timezone, lease_seconds=settings.clock_lease_seconds,
                            confirm_reminder=settings.confirm_reminder)
    service = Service(container, metrics, consumer, clock, writes, followers=followers if followers is not None else {},
                      pool_filler=filler)
    port = settings.metrics_port if metrics_port is None else metrics_port
    if port >= 0:
        ready = readiness_checks(app, consumer, clock, service.running)
        healthy = health_checks(consumer, settings.consumer_stall_seconds)
        service.health = HealthServer(metrics.registry, partial(run_checks, ready), health=partial(run_checks, healthy),
                                      host=settings.metrics_host, port=port)
    return service
