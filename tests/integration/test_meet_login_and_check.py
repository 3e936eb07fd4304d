"""`datemaker meet login` / `meet check` and the Google backend's start:
the consent flow writes a private token, refreshable, with the minimal
scopes; a missing or wrong file is one line naming its variable, exit 2,
and no secret ever reaches the output."""

from __future__ import annotations

import json
import re
import stat
import threading
import urllib.request
import webbrowser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from datemaker.adapters.meet.auth import SCOPES, MeetAuthError
from datemaker.adapters.meet.factory import build_rooms
from datemaker.app.dating_events import DatingEvents
from datemaker.cli.main import main
from datemaker.settings import load_settings

SECRETS = ("client-secret-xyz", "access-token-xyz", "refresh-token-xyz")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code or 0, out, err


def token_info(**changes) -> dict:
    info = {"client_id": "cid.apps.googleusercontent.com", "client_secret": SECRETS[0],
            "refresh_token": SECRETS[2], "token": SECRETS[1], "scopes": list(SCOPES),
            "token_uri": "https://oauth2.googleapis.com/token"}
    return {k: v for k, v in {**info, **changes}.items() if v is not None}


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.setenv("MEET_CREDS_FILE", str(tmp_path / "creds.json"))
    monkeypatch.setenv("MEET_TOKEN_FILE", str(tmp_path / "token.json"))
    monkeypatch.setenv("DATEMAKER_STORE", "sqlite")
    monkeypatch.setenv("DATEMAKER_SQLITE_PATH", str(tmp_path / "events.sqlite3"))
    return tmp_path / "creds.json", tmp_path / "token.json"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "MEET_TOKEN_FILE: .*token.json not found: run `datemaker meet login`"),
        ("{not json", "MEET_TOKEN_FILE: .*token.json is not JSON"),
        (json.dumps(token_info(refresh_token=None)), "not an authorized-user token with a refresh token"),
        (json.dumps(token_info(scopes=["https://www.googleapis.com/auth/meetings.space.created"])), "does not grant the Meet scopes"),
    ],
)
def test_a_missing_or_wrong_token_is_one_line_and_exit_2(files, capsys, content, says):
    _, token = files
    if content is not None:
        token.write_text(content)
    code, out, err = run(capsys, "meet", "check")
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("datemaker: error: ")
    assert re.search(says, err)
    assert not any(secret in err for secret in SECRETS)


def test_check_accepts_a_refreshable_token_and_prints_no_secret(files, capsys):
    _, token = files
    token.write_text(json.dumps(token_info()))
    code, out, err = run(capsys, "meet", "check")
    assert code == 0 and out.startswith("token ok") and err == ""
    assert not any(secret in out for secret in SECRETS)


def test_login_without_the_oauth_client_file_is_one_line(files, capsys):
    code, _, err = run(capsys, "meet", "login", "--no-browser")
    assert code == 2 and err.strip().endswith("creds.json not found: download the OAuth client (Desktop app) JSON")


def test_the_google_backend_does_not_start_without_a_token(files):
    settings = load_settings(DATEMAKER_MEET_BACKEND="google")
    app = DatingEvents(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    with pytest.raises(MeetAuthError, match="MEET_TOKEN_FILE"):
        build_rooms(settings, app)


class FakeGoogleOAuth:
    """The authorization server: a browser that consents at once, a token endpoint."""

    def __init__(self) -> None:
        self.token_requests: list[dict[str, list[str]]] = []
        self.consent_urls: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                outer.token_requests.append(parse_qs(body))
                data = json.dumps({"access_token": SECRETS[1], "refresh_token": SECRETS[2], "expires_in": 3600,
                                   "token_type": "Bearer", "scope": " ".join(SCOPES)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        """The user's browser: consents, and Google redirects to the local server."""
        self.consent_urls.append(url)
        query = parse_qs(urlsplit(url).query)
        back = query["redirect_uri"][0] + "?" + urlencode({"state": query["state"][0], "code": "the-code", "scope": " ".join(SCOPES)})
        threading.Thread(target=lambda: urllib.request.urlopen(back, timeout=10).read(), daemon=True).start()
        return True


def test_login_runs_the_consent_flow_and_writes_a_private_refreshable_token(files, capsys, monkeypatch):
    creds, token = files
    google = FakeGoogleOAuth()
    creds.write_text(json.dumps({"installed": {
        "client_id": "cid.apps.googleusercontent.com", "client_secret": SECRETS[0],
        "auth_uri": f"{google.url}/auth", "token_uri": f"{google.url}/token", "redirect_uris": ["http://localhost"],
    }}))
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the fake token endpoint is plain http
    monkeypatch.setattr(webbrowser, "get", lambda using=None: google)
    try:
        code, out, err = run(capsys, "meet", "login")
    finally:
        google.httpd.shutdown()
    assert code == 0, err
    assert out.splitlines()[-1] == f"token written to {token}"
    assert not any(secret in out + err for secret in SECRETS)
    consent = parse_qs(urlsplit(google.consent_urls[0]).query)
    assert consent["scope"] == [" ".join(SCOPES)] and consent["access_type"] == ["offline"]
    assert google.token_requests[0]["code"] == ["the-code"]
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    saved = json.loads(token.read_text())
    assert saved["refresh_token"] == SECRETS[2] and set(saved["scopes"]) == set(SCOPES)
    assert run(capsys, "meet", "check")[0] == 0  # the token it wrote is accepted
