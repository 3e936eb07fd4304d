"""`datemaker db init|migrate|check`: the PostgreSQL schema, as versioned steps."""

from __future__ import annotations

from typing import Any

import click

from datemaker.adapters.postgres.schema import apply_schema, migrate


@click.group()
def db() -> None:
    """The PostgreSQL schema."""


def _postgres_settings(lazy: Any, command: str) -> Any:
    settings = lazy.get().settings
    if not settings.uses_postgres:
        raise click.UsageError(f"db {command} needs PostgreSQL: set POSTGRES_HOST (and POSTGRES_DB)")
    return settings


def _report(settings: Any, applied: list[str]) -> None:
    done = f"applied {', '.join(applied)}" if applied else "no step to apply"
    click.echo(f"schema ready in database {settings.postgres_db!r} ({done})")


@db.command("init")
@click.pass_obj
def db_init(lazy: Any) -> None:
    """Check the platform's tables, then create everything datemaker needs (idempotent)."""
    settings = _postgres_settings(lazy, "init")
    _report(settings, apply_schema(settings))


@db.command("migrate")
@click.pass_obj
def db_migrate(lazy: Any) -> None:
    """Apply the schema steps not yet applied (idempotent)."""
    settings = _postgres_settings(lazy, "migrate")
    _report(settings, migrate(settings))


@db.command("check")
@click.pass_obj
def db_check(lazy: Any) -> None:
    """Exit 0 when the configured store is reachable and has every schema step."""
    container = lazy.get()
    container.app  # opens the store; PostgreSQL's steps and tables are checked
    click.echo("ok")
