"""Google credentials for the Meet API: the one-time installed-app consent
(`datemaker meet login`) that writes the user token, and loading that token
at start. The token carries its refresh token, so the Google client
refreshes it by itself. Neither file's content is ever logged or echoed:
errors name the variable and the path only."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from google.oauth2.credentials import Credentials

from datemaker.settings import SettingsError

# Minimal: make rooms and end their calls (only rooms this app made), and
# read the conference records of those rooms for attendance.
SCOPES = (
    "https://www.googleapis.com/auth/meetings.space.created",
    "https://www.googleapis.com/auth/meetings.space.readonly",
)


class MeetAuthError(SettingsError):
    """A Meet credentials file is missing or wrong; one line, no secrets."""


def token_files(setting: str) -> list[Path]:
    """MEET_TOKEN_FILE's files, one per host account: comma-separated paths,
    a directory standing for the *.json files in it."""
    files: list[Path] = []
    for part in (p.strip() for p in setting.split(",")):
        if not part:
            continue
        path = Path(part)
        if path.is_dir():
            found = sorted(f for f in path.glob("*.json") if not f.name.startswith("."))
            if not found:
                raise MeetAuthError(f"MEET_TOKEN_FILE: {path} holds no *.json token file: run `datemaker meet login`")
            files += found
        else:
            files.append(path)
    if not files:
        raise MeetAuthError("MEET_TOKEN_FILE names no token file")
    return files


def account_name(token_file: Path) -> str:
    """What rooms remember of the account that made them: its file's name."""
    return token_file.stem


def load_credentials(token_file: Path) -> Credentials:
    info = _read_json(token_file, "MEET_TOKEN_FILE", "run `datemaker meet login`")
    granted = set(info.get("scopes") or SCOPES)
    if not set(SCOPES) <= granted:
        raise MeetAuthError(f"MEET_TOKEN_FILE: {token_file} does not grant the Meet scopes: run `datemaker meet login`")
    try:
        credentials = Credentials.from_authorized_user_info(info, list(SCOPES))
    except ValueError:
        raise MeetAuthError(
            f"MEET_TOKEN_FILE: {token_file} is not an authorized-user token with a refresh token:"
            " run `datemaker meet login`"
        ) from None
    return credentials


def login(creds_file: Path, token_file: Path, *, open_browser: bool = True, port: int = 0) -> Path:
    """The installed-app consent flow in the browser; writes the token file."""
    from google_auth_oauthlib.flow import InstalledAppFlow

    client = _read_json(creds_file, "MEET_CREDS_FILE", "download the OAuth client (Desktop app) JSON")
    try:
        flow = InstalledAppFlow.from_client_config(client, scopes=list(SCOPES))
    except ValueError:
        raise MeetAuthError(f"MEET_CREDS_FILE: {creds_file} is not an OAuth client for an installed app") from None
    os.environ.setdefault("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")  # Google may list the granted scopes differently
    credentials = flow.run_local_server(
        port=port,
        open_browser=open_browser,
        access_type="offline",  # a refresh token, so the service refreshes by itself
        prompt="consent",
        authorization_prompt_message="Open this address to let datemaker make Meet rooms: {url}",
        success_message="datemaker may now make Meet rooms. You can close this tab.",
        timeout_seconds=600,
    )
    write_token(token_file, credentials.to_json())
    return token_file


def write_token(token_file: Path, content: str) -> None:
    """Replace the token file atomically, readable by its owner only."""
    token_file.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=token_file.parent, prefix=".token-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(content)
        os.replace(temporary, token_file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _read_json(path: Path, variable: str, hint: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MeetAuthError(f"{variable}: {path} not found: {hint}") from None
    except OSError as exc:
        raise MeetAuthError(f"{variable}: cannot read {path} ({exc.strerror})") from None
    try:
        found = json.loads(text)
    except ValueError:
        raise MeetAuthError(f"{variable}: {path} is not JSON") from None
    if not isinstance(found, dict):
        raise MeetAuthError(f"{variable}: {path} is not a JSON object")
    return found
