"""Child processes of a bench (the service under test, a baseline worker):
their environment, output, CPU time and shutdown."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable
from typing import Any

from harness.broker import AMQP_PORT
from harness.database import HOST, PG_PORT, PG_USER
from harness.report import BenchFailure, log


class Worker:
    """A child process with its output in a temp file, always terminated."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], cwd: str, log_prefix: str = "bench-") -> None:
        self.name = name
        self.log = tempfile.NamedTemporaryFile(prefix=f"{log_prefix}{name}-", suffix=".log", delete=False)
        self.process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT)
        self.started = time.monotonic_ns()

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def output_tail(self, lines: int = 25) -> str:
        return "".join(self.output().splitlines(keepends=True)[-lines:]) or "(no output)\n"

    def check_alive(self, clean_exit_ok: bool = False) -> None:
        code = self.process.poll()
        if code is not None and not (clean_exit_ok and code == 0):
            raise BenchFailure(f"{self.name} exited with code {code}; its output ends:\n{self.output_tail()}")

    def stop(self, grace: float = 15.0) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                log(f"{self.name} ignored SIGTERM for {grace:.0f} s: killing pid {self.pid}")
                self.process.kill()
                self.process.wait(5)
        self.log.close()
        return self.process.returncode

    def discard_log(self, keep: bool = False) -> None:
        if keep:
            log(f"{self.name} log kept: {self.log.name}")
            return
        with contextlib.suppress(OSError):
            os.unlink(self.log.name)


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """This environment without any datemaker/broker/store settings, plus `extra`."""
    prefixes = ("DATEMAKER_", "POSTGRES_", "RABBITMQ_", "PERSISTENCE_", "SQLITE_", "DEBUG")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def service_env(settings: Any, extra: Iterable[str] = ()) -> dict[str, str]:
    """The environment of a datemaker process using the database, exchange and
    queue of `settings`, plus `extra` NAME=VALUE items."""
    return child_env({
        "POSTGRES_HOST": HOST, "POSTGRES_PORT": str(PG_PORT), "POSTGRES_DB": settings.postgres_db,
        "DATEMAKER_POSTGRES_USER": PG_USER, "DATEMAKER_STORE": "postgres", "RABBITMQ_HOST": HOST,
        "RABBITMQ_PORT": str(AMQP_PORT), "RABBITMQ_EXCHANGE": settings.rabbitmq_exchange,
        "DATEMAKER_RABBITMQ_QUEUE": settings.rabbitmq_queue, "DATEMAKER_LOG_LEVEL": "WARNING", "DEBUG": "false",
        # /metrics on a free port of 127.0.0.1 only (the default binds 0.0.0.0:9464)
        "DATEMAKER_METRICS_HOST": HOST, "DATEMAKER_METRICS_PORT": "0",
        "DATEMAKER_MASTER_KEY": settings.master_key.get_secret_value(),
        **dict(item.split("=", 1) for item in extra),
    })


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process (all its threads) has used so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")
