"""A small Google Meet REST server for tests: the few methods datemaker calls,
on 127.0.0.1 with a random port, in a thread. Wire shapes follow the REST
transport of google-apps-meet (camelCase JSON, enums as integers, errors as
`{"error": {"code", "message", "status"}}`).

Tests script it: `join`/`leave` put people into a room's conference,
`fail_next("create", 429)` makes the next create answer 429. Its clock is
injected, so conference and session times follow the test's fake clock.

It can stand for several Google host accounts (`fake_meet_accounts.py`):
`add_account(name)` gives a token whose refresh goes to the server's own
`POST /token`; each request is tied to its account by its bearer token (none:
"anonymous"), a space remembers who made it, and another account ending its
call or reading its conference records gets 403, as with Meet's
`meetings.space.created` scope. With `quotas=True` it answers 429 past
Google's per-minute limits (`fake_meet_quotas.py`), per account and per
project, on its own clock: a benchmark that gives this server and the client
one clock running faster than real time (say 240x; `fake_meet_process.py`
runs the server as a process of its own for that) sees a Google minute pass
in a quarter of a second. `GET /_stats` answers `stats()` as JSON."""

from __future__ import annotations

import json
import re
import secrets
import string
import threading
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .fake_meet_accounts import Accounts
from .fake_meet_quotas import QuotaLimits, Quotas

OPEN = 1  # SpaceConfig.AccessType.OPEN
STATUS_NAMES = {
    400: "FAILED_PRECONDITION",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    503: "UNAVAILABLE",
}
Answer = tuple[int, dict[str, Any]]


def stamp(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class FakeMeetServer:
    def __init__(
        self,
        clock: Callable[[], datetime] | None = None,
        page_size: int = 2,
        *,
        quotas: bool = False,
        port: int = 0,
        **limits: int,
    ) -> None:
        """`limits` are QuotaLimits' fields (`create_per_minute_per_account`
        and so on), Google's by default; they bind only with `quotas=True`."""
        self.clock = clock or (lambda: datetime.now(UTC))
        self.page_size = page_size
        self.lock = threading.Lock()
        self.spaces: dict[str, dict[str, Any]] = {}
        self.creator: dict[str, str] = {}  # space -> the account that made it
        self.created: list[str] = []  # space names, in creation order
        self.ended: list[str] = []  # spaces whose active conference an end call stopped
        self.end_calls: list[str] = []  # every endActiveConference request, answered or not
        self.calls: list[str] = []  # "METHOD path" of every API request (not /token, not /_stats)
        self.account_calls: list[tuple[str | None, str]] = []  # (account, "METHOD path"); None: bad token
        self.auth_headers: list[str | None] = []
        self.records: dict[str, dict[str, Any]] = {}
        self.active: dict[str, str] = {}  # space -> its active conference record
        self.participants: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.sessions: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.accounts = Accounts()
        self.quotas = Quotas(QuotaLimits(**limits), enabled=quotas)
        self._failures: dict[str, deque[int]] = defaultdict(deque)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        # A short poll: stopping the server (once per test) need not take half a second.
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> FakeMeetServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # --- scripting ------------------------------------------------------------

    def fail_next(self, method: str, status: int, times: int = 1) -> None:
        """The next `times` calls of `method` (create, end, get, list_records,
        list_participants, list_sessions) answer `status`."""
        with self.lock:
            self._failures[method].extend([status] * times)

    def add_account(self, name: str) -> dict[str, Any]:
        """A Google host account; returns its authorized-user token (the
        content of a MEET_TOKEN_FILE), the same one each time."""
        with self.lock:
            return self.accounts.add(name, f"{self.endpoint}/token")

    def revoke(self, name: str) -> None:
        """The account's grant is withdrawn: refreshes fail, access tokens 401."""
        with self.lock:
            self.accounts.revoke(name)

    def join(
        self, space: str, display_name: str, at: datetime, *, account: str | None = None, phone: bool = False
    ) -> str:
        """Someone opens the room's link at `at`; returns their participant name."""
        with self.lock:
            record = self.active.get(space)
            if record is None:
                record = f"conferenceRecords/{secrets.token_hex(6)}"
                self.records[record] = {"name": record, "space": space, "startTime": stamp(at)}
                self.active[space] = record
            kind = "phoneUser" if phone else "signedinUser" if account else "anonymousUser"
            user = {"user": account, "displayName": display_name} if account else {"displayName": display_name}
            found = next((p for p in self.participants[record] if p.get(kind) == user), None)
            if found is None:
                found = {"name": f"{record}/participants/{secrets.token_hex(5)}", kind: user, "earliestStartTime": stamp(at)}
                self.participants[record].append(found)
            found.pop("latestEndTime", None)
            self.sessions[found["name"]].append(
                {"name": f"{found['name']}/participantSessions/{secrets.token_hex(5)}", "startTime": stamp(at)}
            )
            return str(found["name"])

    def leave(self, participant: str, at: datetime) -> None:
        with self.lock:
            self._close_sessions(participant, stamp(at))

    def access_type(self, space: str) -> int:
        return int(self.spaces[space]["config"]["accessType"])

    # --- figures --------------------------------------------------------------

    @property
    def accepted_creates(self) -> list[tuple[str, datetime]]:
        """(account, server time) of every create admitted."""
        return self.quotas.accepted_creates

    @property
    def rejected_by_quota(self) -> Counter[str]:
        """method -> how many calls of it the quotas answered 429."""
        return self.quotas.rejected

    def max_creates_in_any_minute(self, account: str | None = None) -> int:
        with self.lock:
            return self.quotas.max_creates_in_any_minute(account)

    def stats(self) -> dict[str, Any]:
        with self.lock:
            creators = sorted({who for who, _ in self.quotas.accepted_creates})
            return {
                "now": stamp(self.clock()),
                "accepted_creates": dict(Counter(who for who, _ in self.quotas.accepted_creates)),
                "max_creates_in_any_minute": {
                    "project": self.quotas.max_creates_in_any_minute(),
                    "accounts": {who: self.quotas.max_creates_in_any_minute(who) for who in creators},
                },
                "rejected_by_quota": dict(self.quotas.rejected),
                "calls": dict(Counter(who or "unauthenticated" for who, _ in self.account_calls)),
            }

    # --- the API --------------------------------------------------------------

    def respond(self, method: str, url: str, authorization: str | None, raw: bytes) -> Answer:
        """One HTTP request: the token endpoint, the figures, or the API."""
        path = urlsplit(url).path
        if method == "POST" and path == "/token":
            with self.lock:
                return self.accounts.refresh(parse_qs(raw.decode()))
        if method == "GET" and path == "/_stats":
            return 200, self.stats()
        self.auth_headers.append(authorization)
        return self.handle(method, url, json.loads(raw) if raw.strip() else {}, authorization=authorization)

    def handle(self, method: str, url: str, body: dict[str, Any], authorization: str | None = None) -> Answer:
        path, query = urlsplit(url).path, parse_qs(urlsplit(url).query)
        with self.lock:
            self.calls.append(f"{method} {path}")
            account = self.accounts.account_for(authorization)
            self.account_calls.append((account, f"{method} {path}"))
            if account is None:
                return _error(401, "Request had invalid authentication credentials. Expected OAuth 2 access token.")
            route = self._route(method, path, query, body, account)
            if route is None:
                return _error(404, "no such method")
            name, space, run = route
            if name == "end":
                self.end_calls.append(str(space))
            return self._failed(name) or self._over_quota(name, account) or self._denied(space, account) or run()

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: dict[str, Any], account: str
    ) -> tuple[str, str | None, Callable[[], Answer]] | None:
        """(the method's name, the space it concerns, what answers it)."""
        if method == "POST" and path == "/v2/spaces":
            return "create", None, lambda: self._create(body, account)
        if method == "POST" and (m := re.fullmatch(r"/v2/(spaces/[^/:]+):endActiveConference", path)):
            return "end", m[1], lambda: self._end(m[1])
        if method == "GET" and (m := re.fullmatch(r"/v2/(spaces/[^/:]+)", path)):
            return "get", None, lambda: self._get_space(m[1])
        if method == "GET" and path == "/v2/conferenceRecords":
            wanted = re.search(r'space\.name\s*=\s*"([^"]+)"', query.get("filter", [""])[0])
            # Unfiltered, an account sees the records of its own rooms only.
            found = [r for r in self.records.values() if (r["space"] == wanted[1] if wanted else self._may(r["space"], account))]
            return "list_records", wanted and wanted[1], lambda: self._page("conferenceRecords", found, query)
        if method == "GET" and (m := re.fullmatch(r"/v2/(conferenceRecords/[^/]+)/participants", path)):
            return "list_participants", self._space_of(m[1]), lambda: self._page("participants", self.participants[m[1]], query)
        if method == "GET" and (m := re.fullmatch(r"/v2/((conferenceRecords/[^/]+)/participants/[^/]+)/participantSessions", path)):
            return "list_sessions", self._space_of(m[2]), lambda: self._page("participantSessions", self.sessions[m[1]], query)
        return None

    def _space_of(self, record: str) -> str | None:
        return self.records[record]["space"] if record in self.records else None

    def _may(self, space: str, account: str) -> bool:
        return self.creator.get(space, account) == account

    def _failed(self, method: str) -> Answer | None:
        if self._failures[method]:
            status = self._failures[method].popleft()
            return _error(status, f"scripted failure of {method}")
        return None

    def _over_quota(self, method: str, account: str) -> Answer | None:
        refused = self.quotas.admit(method, account, self.clock())
        return None if refused is None else _error(429, refused)

    def _denied(self, space: str | None, account: str) -> Answer | None:
        if space is None or self._may(space, account):
            return None
        return _error(403, "The caller does not have permission")

    def _create(self, body: dict[str, Any], account: str) -> Answer:
        name = f"spaces/{secrets.token_urlsafe(9).replace('-', 'x').replace('_', 'y')}"
        letters = "".join(secrets.choice(string.ascii_lowercase) for _ in range(10))
        code = f"{letters[:3]}-{letters[3:7]}-{letters[7:]}"
        config = {"accessType": 0, "entryPointAccess": 1, **(body.get("config") or {})}
        self.spaces[name] = {"name": name, "meetingUri": f"https://meet.google.com/{code}", "meetingCode": code, "config": config}
        self.creator[name] = account
        self.created.append(name)
        return 200, self.spaces[name]

    def _get_space(self, name: str) -> Answer:
        if name not in self.spaces:
            return _error(404, "space not found")
        space = dict(self.spaces[name])
        if name in self.active:
            space["activeConference"] = {"conferenceRecord": self.active[name]}
        return 200, space

    def _end(self, space: str) -> Answer:
        if space not in self.spaces:
            return _error(404, "space not found")
        record = self.active.pop(space, None)
        if record is None:
            return _error(400, "The space has no active conference.")
        now = stamp(self.clock())
        self.records[record]["endTime"] = now
        for participant in self.participants[record]:
            self._close_sessions(participant["name"], now)
        self.ended.append(space)
        return 200, {}

    def _close_sessions(self, participant: str, at: str) -> None:
        for session in self.sessions[participant]:
            session.setdefault("endTime", at)
        for record in self.participants.values():
            for p in record:
                if p["name"] == participant:
                    p["latestEndTime"] = at

    def _page(self, key: str, items: list[dict[str, Any]], query: dict[str, list[str]]) -> Answer:
        start = int(query.get("pageToken", ["0"])[0] or 0)
        size = min(int(query.get("pageSize", [self.page_size])[0] or self.page_size), self.page_size)
        page: dict[str, Any] = {key: items[start : start + size]}
        if start + size < len(items):
            page["nextPageToken"] = str(start + size)
        return 200, page


def _error(status: int, message: str) -> Answer:
    return status, {"error": {"code": status, "message": message, "status": STATUS_NAMES.get(status, "UNKNOWN")}}


def _handler_for(server: FakeMeetServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            status, payload = server.respond(self.command, self.path, self.headers.get("Authorization"), raw)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

        def log_message(self, *_: object) -> None:  # keep test output clean
            pass

    return Handler
