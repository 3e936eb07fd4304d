"""py-spy attached to the service for one phase of a bench."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence

from harness.report import log


def start_profiler(pid: int, target: str, *, rate: int, options: Sequence[str] = ()) -> subprocess.Popen[bytes] | None:
    """Record `pid` into `target`: a flame graph (svg), speedscope JSON
    (`.json`) or collapsed stacks (`.txt`). None when py-spy is missing."""
    exe = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    if not os.path.exists(exe):
        log("py-spy not found (pip install py-spy): not profiling")
        return None
    target = os.path.abspath(target)
    kind = "speedscope" if target.endswith(".json") else "raw" if target.endswith(".txt") else "flamegraph"
    argv = [exe, "record", "--pid", str(pid), "--rate", str(rate), "--format", kind, "-o", target, "--nonblocking",
            *options]
    log(f"profiling the service: {' '.join(argv)}")
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop_profiler(profiler: subprocess.Popen[bytes] | None) -> None:
    if profiler is None:
        return
    profiler.send_signal(signal.SIGINT)
    try:
        _, err = profiler.communicate(timeout=30)
        log(f"py-spy: {(err.decode(errors='replace').strip().splitlines() or ['done'])[-1]}")
    except subprocess.TimeoutExpired:
        profiler.kill()
        profiler.wait(5)
