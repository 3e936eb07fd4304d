"""The `datemaker` command. Every failure a user can cause ends in one line on
stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import click
import psycopg

from datemaker.adapters.postgres.migrate import MigrationFailed
from datemaker.adapters.postgres.platform_shape import PlatformShapeMismatch
from datemaker.adapters.postgres.schema import SchemaMissing
from datemaker.app.ports import StoreUnavailable
from datemaker.runtime.bootstrap import Container, bootstrap
from datemaker.cli.db import db
from datemaker.cli.erasure import erase, retention
from datemaker.cli.event_edit import edit as edit_event
from datemaker.cli.events import events
from datemaker.cli.history import history
from datemaker.cli.meet import meet
from datemaker.cli.privacy import privacy
from datemaker.cli.projections import projections
from datemaker.cli.reports import reports
from datemaker.cli.schedules import schedules
from datemaker.cli.users import users
from datemaker.cli.whatif import whatif
from datemaker.domain.errors import DomainError
from datemaker.settings import SettingsError


@click.group()
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Runs online speed-dating events for the platform's chat bot."""
    ctx.obj = LazyContainer()
    ctx.call_on_close(ctx.obj.close)


class LazyContainer:
    """Reads settings only when a command needs them, so `--help` always works."""

    def __init__(self) -> None:
        self._container: Container | None = None

    def get(self) -> Container:
        if self._container is None:
            self._container = bootstrap()
        return self._container

    def close(self) -> None:
        if self._container is not None:
            self._container.close()


@cli.command()
@click.pass_obj
def serve(lazy: LazyContainer) -> None:
    """Run the service until SIGTERM or SIGINT."""
    from datemaker.runtime.serve import run_service

    run_service(lazy.get())


@cli.command()
@click.option("--people", default=20, show_default=True, type=click.IntRange(2, 200))
@click.option("--seed", default=7, show_default=True, type=int)
@click.pass_obj
def demo(lazy: LazyContainer, people: int, seed: int) -> None:
    """Run one whole event with simulated users in about half a minute."""
    from datemaker.demo.run import run_demo
    from datemaker.logs import configure_logging

    settings = lazy.get().settings
    if not settings.debug:  # the printed history tells the story; keep logs to problems
        configure_logging(debug=False, level="WARNING")
    run_demo(settings, people=people, seed=seed, echo=click.echo)


cli.add_command(db)
events.add_command(edit_event)  # `events edit`, kept in a module of its own
cli.add_command(events)
cli.add_command(history)
cli.add_command(meet)
cli.add_command(privacy)
cli.add_command(projections)
cli.add_command(schedules)
cli.add_command(reports)
users.add_command(erase)  # `users erase` and `users retention`, kept in a module of their own
users.add_command(retention)
cli.add_command(users)
cli.add_command(whatif)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


ERRORS: Sequence[tuple[type[BaseException], int, Callable[[BaseException], str]]] = (
    (click.UsageError, 2, lambda e: e.format_message()),  # type: ignore[attr-defined]
    (SettingsError, 2, _one_line),
    (DomainError, 1, _one_line),
    (SchemaMissing, 1, _one_line),
    (PlatformShapeMismatch, 1, _one_line),
    (MigrationFailed, 1, _one_line),
    (psycopg.OperationalError, 1, lambda e: "cannot reach PostgreSQL: " + _one_line(e)),
    (StoreUnavailable, 1, lambda e: "the event store is unavailable: " + _one_line(e)),
    (click.ClickException, 1, lambda e: e.format_message()),  # type: ignore[attr-defined]
)


def main(argv: Sequence[str] | None = None) -> Any:
    try:
        return cli.main(args=argv, prog_name="datemaker", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        click.echo("datemaker: aborted", err=True)
        return 130
    except Exception as exc:
        for kind, code, describe in ERRORS:
            if isinstance(exc, kind):
                click.echo(f"datemaker: error: {describe(exc)}", err=True)
                return code
        raise


def run() -> None:
    sys.exit(main())
