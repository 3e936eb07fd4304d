"""`datemaker whatif`: a past event planned again under other settings, side
by side with what ran; or many finished events, summed. Reads the event
store only. Bad arguments end in one line and exit 2; an event that cannot
be planned again (not over, never planned) in one line and exit 1."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from datemaker.cli.params import DURATION, INSTANT
from datemaker.history.render_json import dumps
from datemaker.history.render_whatif import all_document, document, render_all_text, render_text
from datemaker.history.whatif import NotReplayable, Options, finished_since, what_if


@click.command("whatif")
@click.argument("event_id", required=False, type=click.IntRange(min=1))
@click.option("--users-limit", type=click.IntRange(min=2), help="most people in one group [default: the event's]")
@click.option("--round", "round_length", type=DURATION, help="length of a round, e.g. 7m [default: the event's]")
@click.option("--break", "break_length", type=DURATION, help="length of a break, e.g. 1m [default: the event's]")
@click.option("--rounds-max", type=click.IntRange(min=1), help="keep at most this many rounds (the first ones)")
@click.option("--ready-check/--no-ready-check", "ready_check", default=None,
              help="count as present those there at the start / everyone confirmed [default: as the event did]")
@click.option("--all-finished", is_flag=True, help="every FINISHED event (starting at or after --since), summed")
@click.option("--since", type=INSTANT, help="with --all-finished: events starting at or after this ISO 8601 instant"
                                            " (no offset: DATEMAKER_DISPLAY_TIMEZONE)")
@click.option("--json", "as_json", is_flag=True, help="the documented JSON shape instead of text")
@click.pass_obj
def whatif(lazy: Any, event_id: int | None, users_limit: int | None, round_length: int | None,
           break_length: int | None, rounds_max: int | None, ready_check: bool | None, all_finished: bool,
           since: datetime | None, as_json: bool) -> None:
    """Plan event ID again from its recorded registrations, profiles,
    confirmations and presence, under the settings given; nothing is written."""
    if (event_id is None) == (not all_finished):
        raise click.UsageError("give an event ID or --all-finished, not both and not neither")
    if since is not None and not all_finished:
        raise click.UsageError("--since applies to --all-finished, not to one event ID")
    if round_length == 0:
        raise click.BadParameter("a round must be longer than 0", param_hint="'--round'")
    options = Options(users_limit, round_length, break_length, rounds_max, ready_check)
    container = lazy.get()
    app = container.app
    if event_id is not None:
        try:
            found = what_if(app, event_id, options)  # UnknownEvent: one line, exit 1
        except NotReplayable as exc:
            raise click.ClickException(str(exc)) from None
        _echo_lines([dumps(document(found))] if as_json else render_text(found))
        return
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=ZoneInfo(container.settings.display_timezone))
    many = []
    for wire_id in finished_since(app, since):
        try:
            many.append(what_if(app, wire_id, options))
        except NotReplayable as exc:  # someone in it was erased: left out, and said so
            click.echo(f"datemaker: left out: {exc}", err=True)
    _echo_lines([dumps(all_document(many, since, options))] if as_json else render_all_text(many))


def _echo_lines(lines: list[str]) -> None:
    for line in lines:
        click.echo(line)
