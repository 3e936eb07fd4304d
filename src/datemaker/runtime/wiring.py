"""Wires the parts of `datemaker serve` together, once, from the container:
the bot consumer, the round clock, the outbox relay, housekeeping, and the
metrics and health endpoints that watch them."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from functools import partial
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from datemaker.adapters.observability.http import HealthServer
from datemaker.adapters.observability.metrics import Metrics
from datemaker.adapters.rabbitmq.consumer import BotConsumer
from datemaker.runtime.bootstrap import Container
from datemaker.app.bot_commands import BotCommandHandler
from datemaker.logs import get_logger
from datemaker.app.outbox import relay_task
from datemaker.adapters.meet.calls import MeetObserver
from datemaker.adapters.meet.factory import build_rooms
from datemaker.runtime.followers import Follower, Report, supervise
from datemaker.domain.rooms import RoomsPort
from datemaker.projections import run_projections
from datemaker.app.clock.round_clock import RoundClock
from datemaker.app.schedules import make_due_events

log = get_logger(__name__)

Task = Callable[[asyncio.Event], Awaitable[None]]

REPLY_MEMORY_SECONDS = 7 * 24 * 3600  # how long a redelivery still finds its reply
CLOCK_STALE_SECONDS = 10.0  # a clock silent this long is not running


@dataclass
class Service:
    container: Container
    metrics: Metrics
    consumer: BotConsumer
    clock: RoundClock
    health: HealthServer | None = None
    running: set[str] = field(default_factory=set)
    followers: dict[str, Follower] = field(default_factory=dict)  # started early, not yet supervised

    def tasks(self) -> list[Task]:
        return [self._watched("consumer", self.consumer.run), self._watched("clock", self.clock.run),
                self._watched("outbox", self._follower("outbox")), self._forget_old_replies, self._schedules,
                self._watched("projections", self._follower("analytics"))]

    def _follower(self, role: str) -> Task:
        settings = self.container.settings
        if settings.uses_postgres and settings.follower_processes:
            return partial(supervise, role, settings, on_report=self._counted, first=self.followers.pop(role, None))
        if role == "outbox":
            return relay_task(self.container, self.metrics.message_published, self.metrics.event_ended)
        return partial(run_projections, self.container)

    def _counted(self, report: Report) -> None:
        """Counters a follower process reported."""
        for (name, label), n in report.items():
            counter = self.metrics.published if name == "published" else self.metrics.events_ended
            counter.labels(label).inc(n)

    async def _schedules(self, stop: asyncio.Event) -> None:
        """Turn recurring rules into events ahead of time, once a minute."""
        events = self.container.events
        horizon = timedelta(days=self.container.settings.schedule_horizon_days)
        while not stop.is_set():
            try:
                made = await asyncio.to_thread(make_due_events, events, events.clock(), horizon)
                if made:
                    log.info("events made from schedules", count=len(made))
            except Exception as exc:  # a bad rule must not stop the service
                log.error("schedules could not be applied", error=repr(exc))
            try:
                await asyncio.wait_for(stop.wait(), timeout=60)
            except TimeoutError:
                pass

    def _watched(self, name: str, task: Task) -> Task:
        async def run(stop: asyncio.Event) -> None:
            self.running.add(name)
            try:
                await task(stop)
            finally:
                self.running.discard(name)

        run.__name__ = name
        return run

    async def _forget_old_replies(self, stop: asyncio.Event) -> None:
        events = self.container.events
        while not stop.is_set():
            removed = await asyncio.to_thread(events.forget_handled_before, REPLY_MEMORY_SECONDS)
            if removed:
                log.info("forgot old replies", count=removed)
            try:
                await asyncio.wait_for(stop.wait(), timeout=3600)
            except TimeoutError:
                pass

    def problems(self) -> list[str]:
        """Why the service is not ready; empty when it is (for /readyz)."""
        found = []
        try:
            self.container.events.ping()
        except Exception:
            found.append("event store unreachable")
        if not self.consumer.connected:
            found.append("RabbitMQ unreachable")
        if "consumer" not in self.running or not self.consumer.ready.is_set():
            found.append("consumer not running")
        if "clock" not in self.running or time.monotonic() - self.clock.alive_at > CLOCK_STALE_SECONDS:
            found.append("round clock not running")
        return found


def build_service(container: Container, rooms: RoomsPort | None = None, metrics_port: int | None = None,
                  followers: dict[str, Follower] | None = None) -> Service:
    settings = container.settings
    events = container.events
    metrics = Metrics()
    metrics.watch_store(events.overview)
    metrics.input_queue.set_function(lambda: consumer.queue_depth)
    handler = BotCommandHandler(events, display_timezone=settings.display_timezone)
    consumer = BotConsumer(settings, handler.handle, on_answer=metrics.command_answered)
    rooms = rooms or build_rooms(settings, events, observer=MeetObserver(
        rooms_reserved=metrics.rooms_reserved.inc,
        call=metrics.meet_call,
        quota_wait=lambda pace, seconds: metrics.meet_quota_wait.observe(seconds),
    ))
    clock = RoundClock(events, rooms, lease_seconds=settings.clock_lease_seconds, on_fired=metrics.deadline_fired)
    service = Service(container, metrics, consumer, clock, followers=followers if followers is not None else {})
    port = settings.metrics_port if metrics_port is None else metrics_port
    if port >= 0:
        service.health = HealthServer(metrics.registry, service.problems, host=settings.metrics_host, port=port)
    return service

