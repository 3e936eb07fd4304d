"""The HTTP endpoints cost no thread per connection, drop clients that send
nothing or dribble, refuse oversized requests, keep answering while their
checks are slow, and warn when they listen on every network."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter
from structlog.testing import capture_logs

from datemaker.adapters.observability.checks import Check, Verdict, run_checks
from datemaker.adapters.observability.http import PROBE_THREADS, HealthServer
from datemaker.settings import load_settings
from ..support.http_probe import get


def raw(port: int, request: bytes, timeout: float = 5.0) -> bytes:
    """Send `request` as is and read the whole answer (until the server closes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
        return answer


def closed_within(s: socket.socket, seconds: float, dribble: bytes = b"") -> float:
    """Seconds until the server closed `s` (sending `dribble` a byte at a
    time meanwhile); fails when it is still open after `seconds`."""
    started = time.monotonic()
    s.settimeout(0.05)
    sent = 0
    while time.monotonic() - started < seconds:
        try:
            if s.recv(1024) == b"":
                return time.monotonic() - started
        except TimeoutError:
            pass
        except ConnectionResetError:
            return time.monotonic() - started
        if sent < len(dribble):
            try:
                s.send(dribble[sent:sent + 1])
            except OSError:
                return time.monotonic() - started
            sent += 1
    raise AssertionError(f"still open after {seconds} s")


@pytest.fixture
def serving() -> Iterator[list[HealthServer]]:
    started: list[HealthServer] = []
    yield started
    for server in started:
        server.stop()


def start(serving: list[HealthServer], server: HealthServer) -> HealthServer:
    server.start()
    serving.append(server)
    return server


def test_many_half_open_connections_cost_no_threads_and_the_endpoints_still_answer(serving):
    server = start(serving, HealthServer(CollectorRegistry(), lambda: [], host="127.0.0.1", port=0))
    assert get(server.port, "/healthz")[0] == 200
    threads = threading.active_count()
    half_open = []
    try:
        for _ in range(300):  # each sends the start of a request and stops
            s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            half_open.append(s)
        assert get(server.port, "/healthz") == (200, "ok\n")
        assert get(server.port, "/metrics")[0] == 200
        assert threading.active_count() <= threads + PROBE_THREADS
    finally:
        for s in half_open:
            s.close()


def test_a_silent_client_and_a_dribbling_one_are_dropped_after_the_read_timeout(serving):
    server = start(serving, HealthServer(CollectorRegistry(), lambda: Verdict(), port=0, read_timeout=0.3))
    with socket.create_connection(("127.0.0.1", server.port)) as silent:
        assert 0.25 < closed_within(silent, 5.0) < 3.0
    with socket.create_connection(("127.0.0.1", server.port)) as dribbling:
        assert 0.25 < closed_within(dribbling, 5.0, dribble=b"GET /healthz HTTP/1.1\r\nHost: slow\r\n" * 10) < 3.0
    assert get(server.port, "/healthz") == (200, "ok\n")  # the others are served all the same


def test_an_oversized_or_malformed_request_gets_a_clear_error(serving):
    server = start(serving, HealthServer(CollectorRegistry(), lambda: Verdict(), port=0))
    huge = b"GET /healthz HTTP/1.1\r\nX-Pad: " + b"a" * 20_000 + b"\r\n\r\n"
    assert raw(server.port, huge).startswith(b"HTTP/1.0 431 ")
    many = b"GET /healthz HTTP/1.1\r\n" + b"X-Pad: 0123456789\r\n" * 1000 + b"\r\n"
    assert raw(server.port, many).startswith(b"HTTP/1.0 431 ")
    assert raw(server.port, b"NONSENSE\r\n\r\n").startswith(b"HTTP/1.0 400 ")
    assert raw(server.port, b"POST /readyz HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.0 405 ")
    assert get(server.port, "/nowhere")[0] == 404
    head = raw(server.port, b"HEAD /healthz HTTP/1.0\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200 ") and head.endswith(b"\r\n\r\n")  # no body


def test_readiness_answers_its_problems_and_details(serving):
    found = {"consumer": "consumer not running"}
    checks = [Check("consumer", lambda: found.get("consumer")),
              Check("failing events", lambda: "events failing: 7, 9", fails=False)]
    server = start(serving, HealthServer(CollectorRegistry(), lambda: run_checks(checks), port=0))
    assert get(server.port, "/readyz") == (503, "not ready: consumer not running\nevents failing: 7, 9\n")
    found.clear()
    assert get(server.port, "/readyz") == (200, "ready\nevents failing: 7, 9\n")  # a detail never fails it


def test_a_check_that_raises_is_named_and_the_others_still_report():
    def broken() -> str | None:
        raise RuntimeError("bug")

    verdict = run_checks([Check("outbox", broken), Check("clock", lambda: "round clock not running"),
                          Check("failing events", broken, fails=False)])
    assert verdict.problems == ("outbox: check failed (RuntimeError)", "round clock not running")
    assert verdict.details == ("failing events: check failed (RuntimeError)",)


def test_slow_readiness_answers_503_in_time_and_health_stays_fast(serving):
    release = threading.Event()

    def hanging() -> Verdict:
        release.wait(10)
        return Verdict()

    registry = CollectorRegistry()
    Counter("example", "a metric", registry=registry).inc()
    server = start(serving, HealthServer(registry, hanging, port=0, probe_timeout=0.2))
    try:
        for _ in range(PROBE_THREADS + 1):  # more than the probe threads: the waiting ones time out too
            status, text = get(server.port, "/readyz")
            assert status == 503 and "did not answer" in text
        started = time.monotonic()
        assert get(server.port, "/healthz") == (200, "ok\n")
        assert time.monotonic() - started < 0.2
    finally:
        release.set()
    status, text = get(server.port, "/metrics")
    assert status == 200 and "example_total 1.0" in text


def test_unhealthy_when_a_health_check_finds_a_problem(serving):
    server = start(serving, HealthServer(CollectorRegistry(), lambda: Verdict(), port=0,
                                         health=lambda: Verdict(problems=("consumer wedged",))))
    assert get(server.port, "/healthz") == (503, "unhealthy: consumer wedged\n")


def test_listening_on_every_network_is_warned_about_and_the_default_is_this_host_only(serving, monkeypatch):
    monkeypatch.delenv("DATEMAKER_METRICS_HOST", raising=False)
    assert load_settings().metrics_host == "127.0.0.1"
    with capture_logs() as logs:
        start(serving, HealthServer(CollectorRegistry(), lambda: Verdict(), host="127.0.0.1", port=0))
    assert not [e for e in logs if e["log_level"] == "warning"]
    with capture_logs() as logs:
        start(serving, HealthServer(CollectorRegistry(), lambda: Verdict(), host="0.0.0.0", port=0))
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert [w["event"] for w in warnings] == ["http endpoints reachable from every network"]
    assert warnings[0]["host"] == "0.0.0.0"
