"""`datemaker events create|list|cancel|remove`: the operator's view of events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from datemaker.cli.event_removal import remove
from datemaker.cli.params import DURATION, INSTANT, TIME_ZONE
from datemaker.domain.timings import Timings

_TIMING_OPTIONS = (
    # option, Timings field, default
    ("--confirm-before", "confirm_before", "24h"),
    ("--confirm-deadline", "confirm_deadline", "1h"),
    ("--rules-before", "rules_before", "5m"),
    ("--round", "round_length", "5m"),
    ("--break", "break_length", "1m"),
    ("--ready-grace", "ready_grace", "2m"),
    ("--rating-deadline", "rating_deadline", "10m"),
)


def timing_options(command: Any) -> Any:
    command = click.option(
        "--confirm-reminder", "confirm_reminder", type=DURATION, default=None,
        help="ask the unconfirmed again this long before confirmation closes, 0 never"
             " [default: DATEMAKER_CONFIRM_REMINDER, 3h]",
    )(command)
    for option, field_name, default in reversed(_TIMING_OPTIONS):
        command = click.option(
            option, field_name, type=DURATION, default=default, show_default=True
        )(command)
    return command


def event_timings(durations: dict[str, Any], settings: Any) -> Timings:
    """The timing options; the reminder's offset from the setting unless given."""
    if durations.get("confirm_reminder") is None:
        durations = {**durations, "confirm_reminder": settings.confirm_reminder}
    return Timings(**durations)  # InvalidSchedule is reported in one line


@click.group()
def events() -> None:
    """Create, list and cancel dating events; take someone out of one."""


events.add_command(remove)


@events.command("create")
@click.option("--start", required=True, type=INSTANT, help="ISO 8601; without an offset, read in --timezone")
@click.option("--timezone", "zone", type=TIME_ZONE, default=None, help="IANA zone [default: DATEMAKER_DISPLAY_TIMEZONE]")
@click.option("--users-limit", type=click.IntRange(min=2), default=20, show_default=True)
@click.option("--capacity", type=click.IntRange(min=1), default=None, help="most registrations [default: unlimited]")
@timing_options
@click.option("--no-ready-check", is_flag=True, help="do not ask participants whether they are present")
@click.pass_obj
def create(lazy: Any, start: datetime, zone: str | None, users_limit: int, capacity: int | None,
           no_ready_check: bool, **durations: int) -> None:
    """Schedule a new event; its id is printed alone on the last line."""
    container = lazy.get()
    zone = zone or container.settings.display_timezone
    if start.tzinfo is None:
        start = start.replace(tzinfo=ZoneInfo(zone))
    app = container.app
    if start <= app.clock():
        raise click.BadParameter("the start is in the past", param_hint="'--start'")
    timings = event_timings(durations, container.settings)
    wire_id = app.schedule_event(
        start=start.astimezone(UTC),
        timezone=zone,
        users_limit=users_limit,
        capacity=capacity,
        timings=timings,
        ready_check=not no_ready_check,
    )
    local = start.astimezone(ZoneInfo(zone))
    click.echo(f"scheduled event {wire_id} starting {local:%Y-%m-%d %H:%M} {zone}")
    click.echo(wire_id)


@events.command("list")
@click.option("--all", "include_over", is_flag=True, help="also finished, skipped and cancelled events")
@click.pass_obj
def list_(lazy: Any, include_over: bool) -> None:
    """Events by start time: id, local start, state, registered and confirmed."""
    found = lazy.get().app.list_events(include_over=include_over)
    if not found:
        click.echo("no events")
        return
    click.echo(f"{'id':>6}  {'start (event zone)':<36}  {'state':<11}  {'registered':>10}  {'confirmed':>9}")
    for e in found:
        local = e.start.astimezone(ZoneInfo(e.timezone))
        start = f"{local:%Y-%m-%d %H:%M} {e.timezone}"
        click.echo(
            f"{e.wire_id:>6}  {start:<36}  {e.state.name:<11}  "
            f"{len(e.registered_user_ids):>10}  {len(e.confirmed_user_ids):>9}"
        )


@events.command("cancel")
@click.argument("event_id", type=click.IntRange(min=1))
@click.pass_obj
def cancel(lazy: Any, event_id: int) -> None:
    """Call an event off: a round under way has its calls ended (by `serve`'s
    round clock, within a second); people are told only by a bot that knows
    `send_event_cancelled`."""
    lazy.get().app.cancel_event(event_id)
    click.echo(f"event {event_id} cancelled")
