"""A small Google Meet REST server for tests: the few methods datemaker calls,
on 127.0.0.1 with a random port, in a thread. Wire shapes follow the REST
transport of google-apps-meet (camelCase JSON, enums as integers, errors as
`{"error": {"code", "message", "status"}}`).

Tests script it: `join`/`leave` put people into a room's conference,
`fail_next("create", 429)` makes the next create answer 429. Its clock is
injected, so conference and session times follow the test's fake clock."""

from __future__ import annotations

import json
import re
import secrets
import string
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

OPEN = 1  # SpaceConfig.AccessType.OPEN
STATUS_NAMES = {400: "FAILED_PRECONDITION", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE"}


def stamp(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class FakeMeetServer:
    def __init__(self, clock: Callable[[], datetime] | None = None, page_size: int = 2) -> None:
        self.clock = clock or (lambda: datetime.now(UTC))
        self.page_size = page_size
        self.lock = threading.Lock()
        self.spaces: dict[str, dict[str, Any]] = {}
        self.created: list[str] = []  # space names, in creation order
        self.ended: list[str] = []  # spaces whose active conference an end call stopped
        self.end_calls: list[str] = []  # every endActiveConference request, answered or not
        self.calls: list[str] = []  # "METHOD path" of every request
        self.auth_headers: list[str | None] = []
        self.records: dict[str, dict[str, Any]] = {}
        self.active: dict[str, str] = {}  # space -> its active conference record
        self.participants: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.sessions: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._failures: dict[str, deque[int]] = defaultdict(deque)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
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

    # --- the API --------------------------------------------------------------

    def handle(self, method: str, url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        path, query = urlsplit(url).path, parse_qs(urlsplit(url).query)
        with self.lock:
            self.calls.append(f"{method} {path}")
            if method == "POST" and path == "/v2/spaces":
                return self._failed("create") or self._create(body)
            if method == "POST" and (m := re.fullmatch(r"/v2/(spaces/[^/:]+):endActiveConference", path)):
                self.end_calls.append(m[1])
                return self._failed("end") or self._end(m[1])
            if method == "GET" and (m := re.fullmatch(r"/v2/(spaces/[^/:]+)", path)):
                return self._failed("get") or self._get_space(m[1])
            if method == "GET" and path == "/v2/conferenceRecords":
                wanted = re.search(r'space\.name\s*=\s*"([^"]+)"', query.get("filter", [""])[0])
                found = [r for r in self.records.values() if wanted is None or r["space"] == wanted[1]]
                return self._failed("list_records") or self._page("conferenceRecords", found, query)
            if method == "GET" and (m := re.fullmatch(r"/v2/(conferenceRecords/[^/]+)/participants", path)):
                return self._failed("list_participants") or self._page("participants", self.participants[m[1]], query)
            if method == "GET" and (m := re.fullmatch(r"/v2/(conferenceRecords/[^/]+/participants/[^/]+)/participantSessions", path)):
                return self._failed("list_sessions") or self._page("participantSessions", self.sessions[m[1]], query)
        return _error(404, "no such method")

    def _failed(self, method: str) -> tuple[int, dict[str, Any]] | None:
        if self._failures[method]:
            status = self._failures[method].popleft()
            return _error(status, f"scripted failure of {method}")
        return None

    def _create(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        name = f"spaces/{secrets.token_urlsafe(9).replace('-', 'x').replace('_', 'y')}"
        letters = "".join(secrets.choice(string.ascii_lowercase) for _ in range(10))
        code = f"{letters[:3]}-{letters[3:7]}-{letters[7:]}"
        config = {"accessType": 0, "entryPointAccess": 1, **(body.get("config") or {})}
        self.spaces[name] = {"name": name, "meetingUri": f"https://meet.google.com/{code}", "meetingCode": code, "config": config}
        self.created.append(name)
        return 200, self.spaces[name]

    def _get_space(self, name: str) -> tuple[int, dict[str, Any]]:
        if name not in self.spaces:
            return _error(404, "space not found")
        space = dict(self.spaces[name])
        if name in self.active:
            space["activeConference"] = {"conferenceRecord": self.active[name]}
        return 200, space

    def _end(self, space: str) -> tuple[int, dict[str, Any]]:
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

    def _page(self, key: str, items: list[dict[str, Any]], query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        start = int(query.get("pageToken", ["0"])[0] or 0)
        size = min(int(query.get("pageSize", [self.page_size])[0] or self.page_size), self.page_size)
        page: dict[str, Any] = {key: items[start : start + size]}
        if start + size < len(items):
            page["nextPageToken"] = str(start + size)
        return 200, page


def _error(status: int, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"code": status, "message": message, "status": STATUS_NAMES.get(status, "UNKNOWN")}}


def _handler_for(server: FakeMeetServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            server.auth_headers.append(self.headers.get("Authorization"))
            status, payload = server.handle(self.command, self.path, json.loads(raw) if raw.strip() else {})
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
