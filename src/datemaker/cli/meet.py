"""`datemaker meet ...`: the Google host accounts that make the Meet rooms,
and whether the rooms will be there for the dates of the next 24 hours."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from datemaker.history.render_json import dumps


@click.group()
def meet() -> None:
    """Google Meet rooms: the accounts datemaker makes them with, their capacity."""


@meet.command("login")
@click.option("--token", "token_file", type=click.Path(dir_okay=False, path_type=Path),
              help="The token file to write, one per host account (default: MEET_TOKEN_FILE when it names one file).")
@click.option("--no-browser", is_flag=True, help="Print the consent address instead of opening a browser.")
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535), help="Local redirect port (0: any free one).")
@click.pass_obj
def meet_login(lazy: Any, token_file: Path | None, no_browser: bool, port: int) -> None:
    """One-time consent in the browser, signed in as the host account;
    writes its token file (mode 600).

    Needs MEET_CREDS_FILE: the OAuth client (type Desktop app) downloaded
    from the Google Cloud console. Never commit either file."""
    from datemaker.adapters.meet.auth import MeetAuthError, login

    settings = lazy.get().settings
    if token_file is None:
        named = [part.strip() for part in settings.meet_token_file.split(",") if part.strip()]
        if len(named) != 1 or Path(named[0]).is_dir():
            raise click.UsageError("MEET_TOKEN_FILE names several token files: say which to write with --token FILE")
        token_file = Path(named[0])
    try:
        written = login(settings.meet_creds_file, token_file, open_browser=not no_browser, port=port)
    except MeetAuthError:
        raise
    except Exception as exc:  # the flow's own errors: say what, never what was received
        raise click.ClickException(f"Meet login failed ({type(exc).__name__})") from None
    click.echo(f"token written to {written}")


@meet.command("check")
@click.pass_obj
def meet_check(lazy: Any) -> None:
    """Exit 0 when every file MEET_TOKEN_FILE names holds a refreshable token for the Meet scopes."""
    from datemaker.adapters.meet.auth import SCOPES, account_name, load_credentials, token_files

    settings = lazy.get().settings
    for token_file in token_files(settings.meet_token_file):
        credentials = load_credentials(token_file)
        state = "valid" if credentials.valid else "expired, refreshed on first use"
        scopes = " ".join(s.rsplit("/", 1)[-1] for s in SCOPES)
        click.echo(f"token ok ({state}); scopes: {scopes}; account: {account_name(token_file)}")


@meet.command("capacity")
@click.option("--json", "as_json", is_flag=True, help="the documented JSON shape instead of text")
@click.pass_obj
def meet_capacity(lazy: Any, as_json: bool) -> None:
    """Rooms in the pool, accounts usable, the make rate, and hour by hour
    for the next 24 h the dates needing rooms and whether they will have them."""
    from datemaker.adapters.meet.factory import build_room_pool
    from datemaker.app.room_pool import capacity
    from datemaker.cli.meet_capacity import accounts_state, document, render_text

    container = lazy.get()
    settings = container.settings
    pool = build_room_pool(settings, container.app)
    if pool is None:
        raise click.ClickException("DATEMAKER_MEET_BACKEND is fake: its rooms are made at once, without limit")
    accounts = accounts_state(settings, pool)
    usable = sum(1 for a in accounts if a["usable"])
    rate = min(usable * settings.meet_create_per_minute, settings.meet_project_create_per_minute) * 60.0
    seen = capacity(container.app, pool, rate, container.app.clock())
    found = document(seen, accounts)
    if as_json:
        click.echo(dumps(found))
    else:
        click.echo(render_text(found, ZoneInfo(settings.display_timezone)))
