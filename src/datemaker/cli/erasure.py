"""`datemaker users erase|retention`: erasing a person's personal data, on
request or by age (README, Privacy)."""

from __future__ import annotations

from typing import Any

import click

from datemaker.app.retention import Retention
from datemaker.cli.params import WORD
from datemaker.cli.users import USER_ID, moderator
from datemaker.history.render_json import dumps
from datemaker.runtime.privacy import erasure


@click.command("erase")
@click.argument("user_id", type=USER_ID)
@click.option("--request-ref", "ref", required=True, type=WORD, help="the request's reference, one word, e.g. ticket-4711")
@click.option("--by", "by", type=WORD, help="who erases [default: the OS user]")
@click.pass_obj
def erase(lazy: Any, user_id: int, ref: str, by: str | None) -> None:
    """Erase USER_ID's personal data for good: their profile as recorded,
    Meet accounts, display names and notes read "erased" from now on. Ids,
    states, times, pairs, reactions, scores and moderation records stay.
    Waits (recorded) while an event not over holds their registration.
    The same reference again changes nothing."""
    done = erasure(lazy.get().app).erase(user_id, ref=ref, by=moderator(by))
    click.echo(done.text())


@click.command("retention")
@click.option("--dry-run", is_flag=True, help="list who would be erased, erase nothing")
@click.option("--json", "as_json", is_flag=True, help="with --dry-run: JSON instead of text")
@click.pass_obj
def retention(lazy: Any, dry_run: bool, as_json: bool) -> None:
    """Erase now everyone whose events are all over, the last one at least
    DATEMAKER_PERSONAL_DATA_DAYS days ago, and the room keys of events over
    that long (what `datemaker serve` does every few minutes)."""
    container = lazy.get()
    days = container.settings.personal_data_days
    if days <= 0:
        raise click.UsageError("retention is off: set DATEMAKER_PERSONAL_DATA_DAYS to a number of days")
    if as_json and not dry_run:
        raise click.UsageError("--json goes with --dry-run")
    kept = Retention(erasure(container.app), days)
    if dry_run:
        due = kept.due()
        if as_json:
            click.echo(dumps({"format": "datemaker.retention/1", "days": days, "people": [
                {"user_id": d.user_id, "last_event": d.last_event, "over_at": d.over_at.isoformat()} for d in due]}))
            return
        for d in due:
            click.echo(f"user {d.user_id}: last event {d.last_event}, over at {d.over_at.isoformat()}")
        click.echo(f"{len(due)} person(s) past {days} days would be erased")
        return
    done = kept.run()
    for person in done.people:
        click.echo(person.text())
    erased = len([p for p in done.people if p.outcome == "erased"])
    click.echo(f"retention ({days} days): {erased} person(s) erased, room keys of {len(done.rooms)} event(s) destroyed")
