"""Random bytes for nonces and person keys: os.urandom drawn a page at a time.
Each call of it releases and retakes the GIL, which on a busy service costs a
thread switch for every field sealed. Pages are per thread, and a forked
child starts afresh, so no two processes or threads ever share bytes."""

from __future__ import annotations

import os
import threading

PAGE = 16384


class _RandomBytes:
    def __init__(self) -> None:
        self._local = threading.local()
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._local = threading.local()

    def __call__(self, n: int) -> bytes:
        local = self._local
        buffer, at = getattr(local, "buffer", b""), getattr(local, "at", 0)
        if at + n > len(buffer):
            buffer, at = os.urandom(max(PAGE, n)), 0
        local.buffer, local.at = buffer, at + n
        return buffer[at:at + n]


random_bytes = _RandomBytes()
