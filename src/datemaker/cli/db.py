"""`datemaker db init|check`: the PostgreSQL schema."""

from __future__ import annotations

from typing import Any

import click

from datemaker.adapters.postgres.schema import apply_schema


@click.group()
def db() -> None:
    """The PostgreSQL schema."""


@db.command("init")
@click.pass_obj
def db_init(lazy: Any) -> None:
    """Create everything datemaker needs in PostgreSQL (idempotent)."""
    settings = lazy.get().settings
    if not settings.uses_postgres:
        raise click.UsageError("db init needs PostgreSQL: set POSTGRES_HOST (and POSTGRES_DB)")
    apply_schema(settings)
    click.echo(f"schema ready in database {settings.postgres_db!r}")


@db.command("check")
@click.pass_obj
def db_check(lazy: Any) -> None:
    """Exit 0 when the configured store is reachable and has the schema."""
    container = lazy.get()
    container.app  # opens the store; PostgreSQL's schema is checked
    click.echo("ok")
