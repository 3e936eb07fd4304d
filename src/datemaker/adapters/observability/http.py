"""The service's HTTP endpoints: /metrics (Prometheus), /healthz (the
process answers) and /readyz (everything it depends on works; 503 with the
reasons otherwise). A small threaded stdlib server: it must answer even while
the event loop is busy."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from datemaker.logs import get_logger

log = get_logger(__name__)

Readiness = Callable[[], list[str]]  # the problems found; empty when ready


class HealthServer:
    def __init__(self, registry: CollectorRegistry, readiness: Readiness, *, host: str = "0.0.0.0", port: int = 9464) -> None:
        registry_, readiness_ = registry, readiness

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, generate_latest(registry_), CONTENT_TYPE_LATEST)
                elif path == "/healthz":
                    self._send(200, b"ok\n")
                elif path == "/readyz":
                    problems = readiness_()
                    if problems:
                        self._send(503, ("not ready: " + "; ".join(problems) + "\n").encode())
                    else:
                        self._send(200, b"ready\n")
                else:
                    self._send(404, b"not found\n")

            def _send(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass  # scrapes every few seconds would drown the logs

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="http-endpoints", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()
        log.info("http endpoints", port=self.port, paths="/metrics /healthz /readyz")

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
