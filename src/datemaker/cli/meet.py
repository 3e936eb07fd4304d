"""`datemaker meet ...`: the Google account that makes the Meet rooms."""

from __future__ import annotations

import click


@click.group()
def meet() -> None:
    """Google Meet rooms: the account datemaker makes them with."""


@meet.command("login")
@click.option("--no-browser", is_flag=True, help="Print the consent address instead of opening a browser.")
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535), help="Local redirect port (0: any free one).")
@click.pass_obj
def meet_login(lazy: object, no_browser: bool, port: int) -> None:
    """One-time consent in the browser; writes MEET_TOKEN_FILE (mode 600).

    Needs MEET_CREDS_FILE: the OAuth client (type Desktop app) downloaded
    from the Google Cloud console. Never commit either file."""
    from datemaker.adapters.meet.auth import MeetAuthError, login

    settings = lazy.get().settings  # type: ignore[attr-defined]
    try:
        written = login(settings.meet_creds_file, settings.meet_token_file, open_browser=not no_browser, port=port)
    except MeetAuthError:
        raise
    except Exception as exc:  # the flow's own errors: say what, never what was received
        raise click.ClickException(f"Meet login failed ({type(exc).__name__})") from None
    click.echo(f"token written to {written}")


@meet.command("check")
@click.pass_obj
def meet_check(lazy: object) -> None:
    """Exit 0 when MEET_TOKEN_FILE holds a refreshable token for the Meet scopes."""
    from datemaker.adapters.meet.auth import SCOPES, load_credentials

    settings = lazy.get().settings  # type: ignore[attr-defined]
    credentials = load_credentials(settings.meet_token_file)
    state = "valid" if credentials.valid else "expired, refreshed on first use"
    click.echo(f"token ok ({state}); scopes: {' '.join(s.rsplit('/', 1)[-1] for s in SCOPES)}")
