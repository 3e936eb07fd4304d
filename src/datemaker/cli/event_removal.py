"""`datemaker events remove`: an operator takes someone out of an event."""

from __future__ import annotations

from typing import Any

import click

from datemaker.app.leaving import Leaving
from datemaker.cli.params import WORD


@click.command("remove")
@click.argument("event_id", type=click.IntRange(min=1))
@click.argument("user_id", type=click.IntRange(min=1))
@click.option("--reason", required=True, type=WORD, help="one word, e.g. harassment")
@click.pass_obj
def remove(lazy: Any, event_id: int, user_id: int, reason: str) -> None:
    """Take USER_ID out of EVENT_ID: before the start their registration is
    withdrawn (in READY the plan is made again without them); while the
    rounds run, the rounds still to come are re-paired without them. They
    are told they will not take part. Again: nothing changes."""
    done = Leaving(lazy.get().app).remove(event_id, user_id, reason=reason)
    click.echo(done.text(event_id, user_id))
