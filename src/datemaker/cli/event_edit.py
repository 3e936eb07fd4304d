"""`datemaker events edit ID`: change an event's start, zone, group size,
capacity or timings. Only the options given change, so none has a default
here (unlike `events create`); `--by` names the operator in the history."""

from __future__ import annotations

import getpass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from datemaker.app.event_edits import edit_event
from datemaker.cli.events import _TIMING_OPTIONS
from datemaker.cli.params import DURATION, INSTANT, TIME_ZONE, WORD
from datemaker.domain.standing import is_word

UNLIMITED = "unlimited"


class Capacity(click.ParamType):
    """Most registrations: a whole number of at least 1, or `unlimited`."""

    name = "N|unlimited"

    def convert(self, value: Any, param: Any, ctx: Any) -> int | str:
        if isinstance(value, int) or value == UNLIMITED:
            return value
        try:
            number = int(str(value))
        except ValueError:
            number = 0
        if number < 1:
            self.fail(f"{value!r} is neither a whole number of at least 1 nor {UNLIMITED}", param, ctx)
        return number


def operator_name() -> str:
    """Who edits, when `--by` is not given: the OS user, as one word."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        return "operator"
    return name if is_word(name) else "operator"


def optional_timing_options(command: Any) -> Any:
    command = click.option("--confirm-reminder", "confirm_reminder", type=DURATION, default=None,
                           help="ask the unconfirmed again this long before confirmation closes, 0 never")(command)
    for option, field_name, _ in reversed(_TIMING_OPTIONS):
        command = click.option(option, field_name, type=DURATION, default=None)(command)
    return command


@click.command("edit")
@click.argument("event_id", type=click.IntRange(min=1))
@click.option("--start", type=INSTANT, default=None, help="ISO 8601; without an offset, read in the event's zone"
              " (the new --timezone when given)")
@click.option("--timezone", "zone", type=TIME_ZONE, default=None, help="IANA zone the event is shown in")
@click.option("--users-limit", type=click.IntRange(min=2), default=None, help="group size")
@click.option("--capacity", type=Capacity(), default=None, help="most registrations, or unlimited")
@optional_timing_options
@click.option("--by", "by", type=WORD, default=None, help="who edits, for the history [default: the OS user]")
@click.pass_obj
def edit(lazy: Any, event_id: int, start: datetime | None, zone: str | None, users_limit: int | None,
         capacity: int | str | None, by: str | None, **durations: int | None) -> None:
    """Change what the options name, while it still can (start, zone, size and
    timings until confirmation closes, capacity while registration is open).
    Moving the dates after people confirmed asks everyone again."""
    requested: dict[str, Any] = {name: value for name, value in durations.items() if value is not None}
    if zone is not None:
        requested["timezone"] = zone
    if users_limit is not None:
        requested["users_limit"] = users_limit
    if capacity is not None:
        requested["capacity"] = None if capacity == UNLIMITED else capacity
    if start is None and not requested:
        raise click.UsageError("give at least one option to change (see --help)")
    app = lazy.get().app
    if start is not None:
        if start.tzinfo is None:
            start = start.replace(tzinfo=ZoneInfo(zone or app.get_event(event_id).timezone))
        requested["start"] = start
    changes = edit_event(app, event_id, requested, by or operator_name())
    if not changes:
        click.echo(f"event {event_id} unchanged")
        return
    event = app.get_event(event_id)
    local = event.start.astimezone(ZoneInfo(event.timezone))
    click.echo(f"event {event_id} edited ({', '.join(changes)}); starts {local:%Y-%m-%d %H:%M} {event.timezone}")
