"""The fake Meet server as a process of its own, for benchmarks: with its own
interpreter (and GIL) it answers as fast as Google would however hard the
service under test works. The tests run it in-process; this is for load.

    python -m tests.support.fake_meet_process --accounts a,b,c --token-dir DIR \\
        [--quotas] [--scale 240 --start 2026-12-01T12:00:00+00:00 --anchor "$(date +%s.%N)"] \\
        [--port 0] [--page-size 2] [--create-per-minute-per-account 10 ...]

writes `DIR/<account>.json` for each account (an authorized-user token, owner
only), then prints `endpoint=http://127.0.0.1:PORT` on one line and serves
until SIGTERM. Every QuotaLimits field is a flag (`--read-per-minute-per-project`).

Its clock is `ScaledClock(start, anchor, scale)`: `start + (time.time() -
anchor) * scale`. The parent builds the same clock from the same three numbers
(one machine, one wall clock), so both agree on the simulated instant and a
quota minute lasts 60/scale real seconds. `FakeMeetProcess` is the parent's
side: it starts the process, reads the endpoint, and reads `GET /_stats`."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .fake_meet_quotas import QuotaLimits
from .fake_meet_server import FakeMeetServer

ROOT = Path(__file__).resolve().parents[2]
LIMITS = [field.name for field in dataclasses.fields(QuotaLimits)]


class ScaledClock:
    """Simulated time running `scale` times faster than the wall clock from `anchor`."""

    def __init__(self, start: datetime, anchor: float, scale: float, wall: Callable[[], float] = time.time) -> None:
        self.start, self.anchor, self.scale, self.wall = start, anchor, scale, wall

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=(self.wall() - self.anchor) * self.scale)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.fake_meet_process", description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", default="", help="comma-separated account names")
    parser.add_argument("--token-dir", type=Path, required=True)
    parser.add_argument("--quotas", action="store_true", help="answer 429 past Google's per-minute limits")
    parser.add_argument("--scale", type=float, default=1.0, help="simulated seconds per real second")
    parser.add_argument("--start", type=datetime.fromisoformat, help="the simulated instant at --anchor (default now)")
    parser.add_argument("--anchor", type=float, help="wall-clock epoch seconds (default now)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--page-size", type=int, default=2)
    for name in LIMITS:
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, dest=name)
    args = parser.parse_args(argv)

    anchor = time.time() if args.anchor is None else args.anchor
    start = args.start or datetime.fromtimestamp(anchor, UTC)
    limits = {name: getattr(args, name) for name in LIMITS if getattr(args, name) is not None}
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server = FakeMeetServer(ScaledClock(start, anchor, args.scale), args.page_size, quotas=args.quotas, port=args.port, **limits)
    with server:
        args.token_dir.mkdir(parents=True, exist_ok=True)
        for account in filter(None, args.accounts.split(",")):
            _write_private(args.token_dir / f"{account}.json", json.dumps(server.add_account(account)))
        print(f"endpoint={server.endpoint}", flush=True)
        while not stop.wait(0.5):
            pass
    return 0


def _write_private(path: Path, content: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(content)


class FakeMeetProcess:
    """The parent's side: `with FakeMeetProcess(dir, ["a", "b"], scale=240) as meet:`
    gives `meet.endpoint`, `meet.clock` (the server's clock), `meet.token_file(name)`
    and `meet.stats()`; leaving stops the process with SIGTERM."""

    def __init__(
        self,
        token_dir: Path,
        accounts: Sequence[str],
        *,
        scale: float = 1.0,
        quotas: bool = True,
        start: datetime | None = None,
        page_size: int = 2,
        **limits: int,
    ) -> None:
        self.token_dir = token_dir
        anchor = time.time()
        self.clock = ScaledClock(start or datetime.fromtimestamp(anchor, UTC), anchor, scale)
        self.argv = [
            sys.executable, "-m", "tests.support.fake_meet_process",
            "--accounts", ",".join(accounts), "--token-dir", str(token_dir),
            "--scale", repr(scale), "--start", self.clock.start.isoformat(), "--anchor", repr(anchor),
            "--page-size", str(page_size), *(["--quotas"] if quotas else []),
        ]  # fmt: skip
        for name, value in limits.items():
            if name not in LIMITS:
                raise TypeError(f"no quota limit {name!r}")
            self.argv += [f"--{name.replace('_', '-')}", str(value)]
        self.endpoint = ""

    def __enter__(self) -> FakeMeetProcess:
        self.process = subprocess.Popen(self.argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        try:
            self.endpoint = self._endpoint(seconds=60.0)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        assert self.process.stdout is not None
        self.process.stdout.close()

    def token_file(self, account: str) -> Path:
        return self.token_dir / f"{account}.json"

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.endpoint}/_stats", timeout=10) as answer:
            return dict(json.load(answer))

    def _endpoint(self, seconds: float) -> str:
        """The one line the process prints once it serves, waited for with a bound."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.1)
            if ready:
                line = self.process.stdout.readline()
                if line.startswith("endpoint="):
                    return line.strip().removeprefix("endpoint=")
                if not line:
                    break
        raise RuntimeError(f"the fake Meet process gave no endpoint (exit code {self.process.poll()})")


if __name__ == "__main__":
    sys.exit(main())
