"""`datemaker history`: complaint review from the event store. Every bad
input ends in one line naming what is wrong (see `main()` in cli.py)."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from datemaker.cli.params import INSTANT
from datemaker.history import BeforeTheEvent, UnknownUser, load_history, user_history
from datemaker.history.render_html import render_html
from datemaker.history.render_json import dumps, history_document
from datemaker.history.render_text import render_text
from datemaker.history.user_view import render_user_text


def write_page(path: Path, page: str) -> None:
    """Write through a temporary file beside `path`, so a failed write never
    leaves half a page where a moderator might open it."""
    try:
        fd, temp = tempfile.mkstemp(prefix=".history-", suffix=".html", dir=path.parent)
    except OSError as exc:
        raise click.BadParameter(f"cannot write {str(path)!r}: {exc.strerror or exc}", param_hint="'--html'") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(page)
        os.chmod(temp, 0o644)  # mkstemp makes it private; a page is for reading
        os.replace(temp, path)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        raise click.BadParameter(f"cannot write {str(path)!r}: {exc.strerror or exc}", param_hint="'--html'") from None


@click.command()
@click.argument("event_id", required=False, type=click.IntRange(min=1))
@click.option("--user", "user_id", type=click.IntRange(min=1), help="one user's events, partners, ratings and reports")
@click.option("--json", "as_json", is_flag=True, help="the documented JSON shape instead of text")
@click.option("--at", "at", type=INSTANT, help="the state at this ISO 8601 instant; without an offset, in the event's zone")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), help="write one self-contained page here")
@click.pass_obj
def history(lazy: Any, event_id: int | None, user_id: int | None, as_json: bool, at: datetime | None,
            html_path: Path | None) -> None:
    """An event's timeline and state from the event store (ID), or one user's
    view across events (--user USER_ID)."""
    if (event_id is None) == (user_id is None):
        raise click.UsageError("give an event ID or --user USER_ID, not both and not neither")
    if as_json and html_path is not None:
        raise click.UsageError("--json and --html cannot be combined: choose one output")
    if user_id is not None:
        if at is not None or html_path is not None:
            raise click.UsageError("--at and --html apply to one event ID, not to --user")
        try:
            found = user_history(lazy.get().app, user_id)
        except UnknownUser as exc:
            raise click.ClickException(str(exc)) from None
        _echo_lines([dumps(found.to_dict())] if as_json else render_user_text(found))
        return
    assert event_id is not None
    try:
        replayed = load_history(lazy.get().app, event_id, at)  # UnknownEvent: one line, exit 1
    except BeforeTheEvent as exc:
        raise click.BadParameter(str(exc), param_hint="'--at'") from None
    if html_path is not None:
        write_page(html_path, render_html(replayed))
        click.echo(f"wrote {html_path}")
    elif as_json:
        click.echo(dumps(history_document(replayed)))
    else:
        _echo_lines(render_text(replayed))


def _echo_lines(lines: list[str]) -> None:
    for line in lines:
        click.echo(line)
