"""`datemaker users block|unblock|show`: the moderators' view of one user
(`users erase` and `users retention` are in cli/erasure.py)."""

from __future__ import annotations

import getpass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from datemaker.app.moderation import BlockDone, Moderation
from datemaker.cli.params import INSTANT, WORD
from datemaker.domain.standing import is_word
from datemaker.history.render_json import dumps
from datemaker.history.user_record import render_user_record, user_record

USER_ID = click.IntRange(min=1)


def moderator(given: str | None) -> str:
    """--by, else the name of the OS user running the command."""
    if given is not None:
        return given
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no user name to be found (a container without one)
        name = ""
    if not is_word(name):
        raise click.UsageError("cannot tell who you are from the OS user: give --by NAME")
    return name


def withdrawn_text(done: BlockDone) -> str:
    if not done.withdrawn_from:
        return "in no event that has not started or still has rounds to come"
    return "withdrawn from event(s) " + ", ".join(map(str, done.withdrawn_from))


@click.group()
def users() -> None:
    """Block, unblock, look at and erase a user."""


@users.command("block")
@click.argument("user_id", type=USER_ID)
@click.option("--reason", required=True, type=WORD, help="one word, e.g. harassment")
@click.option("--until", "until", type=INSTANT, help="ISO 8601; without an offset, in DATEMAKER_DISPLAY_TIMEZONE [default: until lifted]")
@click.option("--by", "by", type=WORD, help="who blocks [default: the OS user]")
@click.pass_obj
def block(lazy: Any, user_id: int, reason: str, until: datetime | None, by: str | None) -> None:
    """Block USER_ID: no new registrations, out of every event not running
    yet, and out of the rounds still to come of a running one."""
    container = lazy.get()
    if until is not None and until.tzinfo is None:
        until = until.replace(tzinfo=ZoneInfo(container.settings.display_timezone))
    if until is not None and until <= container.app.clock():
        raise click.BadParameter("the end of the block is in the past", param_hint="'--until'")
    done = Moderation(container.app).block(user_id, reason=reason, by=moderator(by), until=until)
    terms = f"{reason}, until {until.isoformat()}" if until else f"{reason}, until lifted"
    head = f"user {user_id} blocked ({terms})" if done.recorded else f"user {user_id} was already blocked ({terms})"
    click.echo(f"{head}; {withdrawn_text(done)}")


@users.command("unblock")
@click.argument("user_id", type=USER_ID)
@click.option("--by", "by", type=WORD, help="who lifts the block [default: the OS user]")
@click.pass_obj
def unblock(lazy: Any, user_id: int, by: str | None) -> None:
    """Lift USER_ID's block (registrations are open to them again)."""
    moderation = Moderation(lazy.get().app)
    standing = moderation.standing(user_id)
    if standing is None or standing.block_in_force(moderation.app.clock()) is None:
        click.echo(f"user {user_id} is not blocked: nothing to lift")
        return
    lifted = moderation.unblock(user_id, by=moderator(by))
    click.echo(f"user {user_id} unblocked (was blocked for {lifted['reason']} since {lifted['at']})")


@users.command("show")
@click.argument("user_id", type=USER_ID)
@click.option("--json", "as_json", is_flag=True, help="the documented JSON shape instead of text")
@click.pass_obj
def show(lazy: Any, user_id: int, as_json: bool) -> None:
    """USER_ID's blocks, reports given and received, events and attendance."""
    record = user_record(lazy.get().app, user_id)
    for line in [dumps(record)] if as_json else render_user_record(record):
        click.echo(line)
