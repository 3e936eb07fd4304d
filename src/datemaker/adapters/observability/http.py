"""The service's HTTP endpoints: /metrics (Prometheus), /healthz (the
process works: 503 with the reason when a check finds it wedged) and
/readyz (it may take traffic: 503 with the problems otherwise). Detail
lines, never a reason to fail, follow either answer.

One thread runs an asyncio loop of its own for every connection, so the
answers never wait for the service's loop, and a connection costs no
thread. Bounded: at most `max_connections` at once (the oldest one still
sending its request makes room for a new one), a request line and headers
of at most MAX_HEAD_BYTES that must arrive within `read_timeout` seconds
(a silent or dribbling client is dropped), one GET or HEAD per connection.
Readiness and metrics may ask the event store: they run on PROBE_THREADS
threads and answer 503 when they take longer than `probe_timeout`."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from typing import TypeVar

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from datemaker.adapters.observability.checks import Verdict
from datemaker.logs import get_logger

log = get_logger(__name__)

T = TypeVar("T")
Probe = Callable[[], Verdict]

READ_TIMEOUT = 5.0  # seconds for the whole request head
WRITE_TIMEOUT = 5.0  # seconds for a client to take the answer
PROBE_TIMEOUT = 5.0  # seconds readiness or metrics may take
MAX_CONNECTIONS = 64
MAX_HEAD_BYTES = 8192  # request line and headers together
PROBE_THREADS = 2
BACKLOG = 256  # connections the kernel holds until they are taken
EVERY_NETWORK = frozenset({"0.0.0.0", "::", ""})
TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = TEXT

    def encoded(self, head_only: bool) -> bytes:
        head = (f"HTTP/1.0 {self.status} {HTTPStatus(self.status).phrase}\r\n"
                f"Content-Type: {self.content_type}\r\nContent-Length: {len(self.body)}\r\n"
                "Connection: close\r\n\r\n").encode("latin-1")
        return head if head_only else head + self.body


class BadRequest(Exception):
    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.response = Response(status, why.encode() + b"\n")


class HealthServer:
    def __init__(
        self,
        registry: CollectorRegistry,
        readiness: Probe,
        *,
        health: Probe | None = None,
        host: str = "127.0.0.1",
        port: int = 9464,
        read_timeout: float = READ_TIMEOUT,
        probe_timeout: float = PROBE_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self._registry = registry
        self._readiness = readiness
        self._health = health or (lambda: Verdict())
        self.host = host
        self.read_timeout = read_timeout
        self.probe_timeout = probe_timeout
        self.max_connections = max_connections
        self._socket = _listen(host, port)  # bound now: the port is known before start
        self._pool = ThreadPoolExecutor(PROBE_THREADS, thread_name_prefix="http-probe")
        self._thread = threading.Thread(target=self._serve, name="http-endpoints", daemon=True)
        self._up = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._open: dict[asyncio.StreamWriter, bool] = {}  # oldest first; True while its request is read
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

    def start(self) -> None:
        self._thread.start()
        self._up.wait(5)
        if self.host in EVERY_NETWORK:
            log.warning("http endpoints reachable from every network", host=self.host, port=self.port,
                        hint="set DATEMAKER_METRICS_HOST=127.0.0.1 unless a scraper elsewhere must reach them")
        log.info("http endpoints", host=self.host, port=self.port, paths="/metrics /healthz /readyz")

    def stop(self) -> None:
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and self._thread.is_alive():
            loop.call_soon_threadsafe(stopping.set)
            self._thread.join(5)
        else:
            self._socket.close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _serve(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:
            server = await asyncio.start_server(self._connection, sock=self._socket, limit=MAX_HEAD_BYTES,
                                                backlog=BACKLOG)
        finally:
            self._up.set()
        async with server:  # closes the listening socket on the way out
            await self._stopping.wait()
        for writer in list(self._open):
            writer.transport.abort()
        if self._handlers:  # they see their connection gone and end
            await asyncio.wait(self._handlers, timeout=1.0)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._make_room():
            writer.transport.abort()
            return
        self._open[writer] = True
        handler = asyncio.current_task()
        if handler is not None:
            self._handlers.add(handler)
        try:
            try:
                async with asyncio.timeout(self.read_timeout):
                    request = await read_request(reader)
            except BadRequest as bad:
                request, response = ("GET", ""), bad.response
            else:
                if request is None:  # the client left before finishing its request
                    return
                self._open[writer] = False
                response = await self._answer(*request)
            self._open[writer] = False
            async with asyncio.timeout(WRITE_TIMEOUT):
                writer.write(response.encoded(head_only=request[0] == "HEAD"))
                await writer.drain()
        except (TimeoutError, OSError):  # silent, dribbling, gone, or not reading its answer
            writer.transport.abort()
        except asyncio.CancelledError:  # the server stops: this connection ends here, quietly
            writer.transport.abort()
        finally:
            self._open.pop(writer, None)
            self._handlers.discard(handler)  # type: ignore[arg-type]
            writer.close()

    def _make_room(self) -> bool:
        """Room for one more connection: at the cap, the oldest one still
        sending its request is dropped. False when none can be."""
        if len(self._open) < self.max_connections:
            return True
        oldest = next((w for w, reading in self._open.items() if reading), None)
        if oldest is None:
            return False
        del self._open[oldest]
        oldest.transport.abort()
        return True

    async def _answer(self, method: str, target: str) -> Response:
        if method not in ("GET", "HEAD"):
            return Response(405, b"only GET and HEAD\n")
        path = target.split("?", 1)[0]
        if path == "/healthz":
            return verdict_response(self._health(), "ok", "unhealthy")  # cheap: answered at once
        if path == "/readyz":
            try:
                verdict = await self._probe(self._readiness)
            except TimeoutError:
                return Response(503, f"not ready: readiness did not answer within {self.probe_timeout:g} s\n".encode())
            except Exception as exc:
                log.warning("readiness raised", error=repr(exc))
                return Response(503, f"not ready: readiness failed ({type(exc).__name__})\n".encode())
            return verdict_response(verdict, "ready", "not ready")
        if path == "/metrics":
            try:
                body = await self._probe(partial(generate_latest, self._registry))
            except TimeoutError:
                return Response(503, f"metrics did not answer within {self.probe_timeout:g} s\n".encode())
            except Exception as exc:
                log.warning("metrics raised", error=repr(exc))
                return Response(500, f"metrics failed ({type(exc).__name__})\n".encode())
            return Response(200, body, CONTENT_TYPE_LATEST)
        return Response(404, b"not found\n")

    async def _probe(self, work: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(self._pool, work), self.probe_timeout)


async def read_request(reader: asyncio.StreamReader) -> tuple[str, str] | None:
    """(method, target) of one request, its headers read and ignored; None
    when the client left before its end. BadRequest for a malformed one."""
    lines: list[bytes] = []
    size = 0
    while True:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError:
            return None
        except asyncio.LimitOverrunError:
            raise BadRequest(431, "request head too large") from None
        size += len(line)
        if size > MAX_HEAD_BYTES:
            raise BadRequest(431, "request head too large")
        if line.strip():
            lines.append(line)
        elif lines:  # the blank line that ends the head (blank lines before it are skipped)
            break
    parts = lines[0].decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise BadRequest(400, "bad request line")
    return parts[0], parts[1]


def verdict_response(verdict: Verdict, good: str, bad: str) -> Response:
    first = good if verdict.ok else f"{bad}: " + "; ".join(verdict.problems)
    text = "".join(line + "\n" for line in (first, *verdict.details))
    return Response(200 if verdict.ok else 503, text.encode())


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=128)
