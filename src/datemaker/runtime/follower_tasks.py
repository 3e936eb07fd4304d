"""The event log's followers as tasks, built from the container: the outbox
relay (with its own connection to the broker) and the analytics follower.
The one place that maps a follower's role to its task, whether it runs in
`datemaker serve` itself or in a process of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial

from datemaker.adapters.postgres.leadership import AdvisoryLeader
from datemaker.adapters.postgres.schema import connect
from datemaker.adapters.rabbitmq.publisher import ConfirmedPublisher
from datemaker.app.outbox import OUTBOX_LOCK_KEY, OutboxRelay
from datemaker.app.moderation import Moderation
from datemaker.app.ports import Leadership, SoleLeader
from datemaker.logs import get_logger
from datemaker.projections.auto_block import AutoBlock
from datemaker.projections.follower import LEADER_LOCK_KEY, ProjectionFollower
from datemaker.runtime.bootstrap import Container
from datemaker.runtime.tasks import Task
from datemaker.settings import Settings

log = get_logger(__name__)

ROLES = ("outbox", "analytics")
Count = Callable[[str, str], None]  # (counter, label): "published" per command, "ended" per outcome


def follower_task(role: str, container: Container, count: Count) -> Task:
    if role == "outbox":
        return partial(relay, container, count)
    if role == "analytics":
        return partial(follow_projections, container)
    raise ValueError(f"unknown follower role {role!r}")


def leadership(settings: Settings, key: int) -> Leadership:
    return AdvisoryLeader(settings, key) if settings.uses_postgres else SoleLeader()


async def relay(container: Container, count: Count, stop: asyncio.Event) -> None:
    settings = container.settings
    publisher = ConfirmedPublisher(settings, on_published=lambda command: count("published", command))
    outbox = OutboxRelay(
        container.app,
        publisher.publish,
        extensions=settings.bot_extensions,
        leadership=leadership(settings, OUTBOX_LOCK_KEY),
        on_event_ended=lambda outcome: count("ended", outcome),
        after_projection=settings.uses_postgres,  # the platform tables are there before the message
    )
    try:
        await outbox.run(stop)
    finally:
        await publisher.close()


async def follow_projections(container: Container, stop: asyncio.Event) -> None:
    """Follow the log until `stop`. Without PostgreSQL there are no analytics
    tables; it just waits for `stop` (a task that returned early would stop
    the whole service)."""
    settings = container.settings
    if not settings.uses_postgres:
        log.info("analytics tables need PostgreSQL; not following")
        await stop.wait()
        return
    # It takes the dating events' snapshots too (the service does not, see build_service).
    rule = AutoBlock(Moderation(container.app), settings.auto_block_reports) if settings.auto_block_reports else None
    follower = ProjectionFollower(container.app, partial(connect, settings, autocommit=True),
                                  leadership(settings, LEADER_LOCK_KEY), takes_snapshots=True, after_changes=rule)
    await follower.run(stop)
