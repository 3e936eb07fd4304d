"""`datemaker serve`: one process running several cooperating tasks (the bot
consumer, the round clock, housekeeping, metrics) until SIGTERM/SIGINT; with
PostgreSQL, the log's followers (the outbox relay, the analytics tables) run
in child processes of their own (`followers.py`)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from datemaker.adapters.event_store import check_master_key
from datemaker.adapters.postgres.privileges import warn_when_over_privileged
from datemaker.runtime.bootstrap import Container
from datemaker.runtime.follower_tasks import ROLES
from datemaker.runtime.followers import Follower, start_follower
from datemaker.runtime.tasks import Task, serve_tasks
from datemaker.runtime.wiring import build_service, store_name


def run_service(container: Container, tasks: Sequence[Task] | None = None, grace: float = 10.0) -> None:
    """Serve until SIGTERM/SIGINT; exit non-zero when a task failed."""
    settings = container.settings
    # Followers are forked now, while this process has no threads and nothing
    # open: they start at once (after a kill -9 too), with all modules loaded.
    early: dict[str, Follower] = {}
    if tasks is None and settings.uses_postgres and settings.follower_processes:
        check_master_key(settings)  # a wrong or missing one: one line, before any follower meets it
        alone = threading.active_count() == 1  # else forking could copy a held lock
        early = {role: start_follower(role, settings, fork=alone) for role in ROLES}
    service = None
    try:
        container.app  # opens the store and checks the PostgreSQL schema first
        if settings.uses_postgres:
            warn_when_over_privileged(settings)
        if tasks is None:
            service = build_service(container, followers=early)
            tasks = service.tasks()
            if service.health is not None:
                service.health.start()
        healthy = serve_tasks(store_name(settings), tasks, grace)
    finally:
        for follower in early.values():  # not handed over (their supervisors stop the others)
            follower.stop_at_once()
        if service is not None and service.health is not None:
            service.health.stop()
    if not healthy:
        raise SystemExit(1)
