"""`datemaker projections status|rebuild`: the analytics tables kept from the
event log (PostgreSQL only; see projections/)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import click


@click.group()
def projections() -> None:
    """Analytics tables kept from the event log (PostgreSQL only)."""


def _connect(container: Any) -> Callable[[], Any]:
    from datemaker.adapters.postgres.schema import connect

    return partial(connect, container.settings, autocommit=True)


def _postgres_container(lazy: Any, command: str) -> Any:
    container = lazy.get()
    if not container.settings.uses_postgres:
        raise click.UsageError(f"projections {command} needs PostgreSQL: set POSTGRES_HOST (and POSTGRES_DB)")
    return container


@projections.command("status")
@click.pass_obj
def status_(lazy: Any) -> None:
    """How far the analytics tables are behind the event log."""
    from datemaker.projections.rebuild import status

    container = _postgres_container(lazy, "status")
    found = status(container.app, _connect(container))
    lag = "up to date" if not found.behind else f"{found.behind} behind"
    click.echo(f"position {found.position}, head {found.head}: {lag}")


@projections.command("rebuild")
@click.option("--chunk", type=click.IntRange(min=1), default=1000, show_default=True,
              help="notifications read at a time")
@click.pass_obj
def rebuild_(lazy: Any, chunk: int) -> None:
    """Empty the analytics tables and replay the whole event log into them."""
    from datemaker.projections.rebuild import rebuild

    container = _postgres_container(lazy, "rebuild")
    done = rebuild(container.app, _connect(container), chunk=chunk)
    click.echo(f"rebuilt the analytics tables from the event log up to notification {done.position}")
