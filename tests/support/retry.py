"""A store retry policy that gives up fast, for tests that race writers."""

from __future__ import annotations

from datemaker.app.retry import Backoff

FAST_RETRY = Backoff(attempts=50, base=0.001, cap=0.02)
