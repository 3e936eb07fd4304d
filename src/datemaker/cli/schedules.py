"""`datemaker schedules add|list|remove`: recurring events."""

from __future__ import annotations

from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo

import click

from datemaker.cli.events import event_timings, timing_options
from datemaker.cli.params import CLOCK_TIME, DAY, TIME_ZONE
from datemaker.app.schedules import add_schedule, book, remove_schedule, upcoming


@click.group()
def schedules() -> None:
    """Recurring events: `datemaker serve` creates them ahead of time."""


@schedules.command("add")
@click.option("--rrule", "rule", required=True, help="RFC 5545 rule, e.g. FREQ=WEEKLY;BYDAY=WE,FR")
@click.option("--time", "at", required=True, type=CLOCK_TIME, help="local start time, e.g. 19:00")
@click.option("--timezone", "zone", type=TIME_ZONE, default=None, help="IANA zone [default: DATEMAKER_DISPLAY_TIMEZONE]")
@click.option("--from", "first_day", type=DAY, default=None, help="first day the rule counts from [default: today]")
@click.option("--users-limit", type=click.IntRange(min=2), default=20, show_default=True)
@click.option("--capacity", type=click.IntRange(min=1), default=None)
@timing_options
@click.option("--no-ready-check", is_flag=True)
@click.pass_obj
def add(lazy: Any, rule: str, at: time, zone: str | None, first_day: date | None, users_limit: int,
        capacity: int | None, no_ready_check: bool, **durations: int) -> None:
    """Add a rule; its id is printed alone on the last line."""
    container = lazy.get()
    zone = zone or container.settings.display_timezone
    app = container.app
    first_day = first_day or app.clock().astimezone(ZoneInfo(zone)).date()
    rule_id = add_schedule(app, rule=rule, first_day=first_day, at=at, timezone=zone, users_limit=users_limit,
                           capacity=capacity, timings=event_timings(durations, container.settings), ready_check=not no_ready_check)
    click.echo(f"schedule {rule_id}: {rule} at {at:%H:%M} {zone}")
    click.echo(rule_id)


@schedules.command("list")
@click.pass_obj
def list_(lazy: Any) -> None:
    """Rules with their next three starts."""
    app = lazy.get().app
    found = book(app)
    if found is None or not found.rules:
        click.echo("no schedules")
        return
    now = app.clock()
    for rule_id, spec in sorted(found.rules.items(), key=lambda item: int(item[0])):
        nexts = upcoming(spec, now, now.replace(year=now.year + 2))[:3]
        shown = ", ".join(f"{s:%Y-%m-%d %H:%M}" for s in nexts) or "none"
        click.echo(f"{rule_id:>4}  {spec['rule']}  at {spec['time']} {spec['timezone']}  "
                   f"limit {spec['users_limit']}  made {len(found.made.get(rule_id, {}))}  next: {shown}")


@schedules.command("remove")
@click.argument("schedule_id", type=click.IntRange(min=1))
@click.pass_obj
def remove(lazy: Any, schedule_id: int) -> None:
    """Stop a rule; events it already made stay."""
    remove_schedule(lazy.get().app, schedule_id)
    click.echo(f"schedule {schedule_id} removed")



