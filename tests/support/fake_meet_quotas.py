"""Google Meet's per-minute quotas, for the fake Meet server. The limits are
Google's published ones (developers.google.com/workspace/meet/api/guides/limits):
spaces.create ("reduced write requests") 10 per minute per user and 100 per
project; other writes (endActiveConference) 100 and 1000; reads 600 and 6000.
Counted over a sliding 60 s of the server's clock, of accepted calls only: a
call refused with 429 takes no slot, as with Google."""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

MINUTE = timedelta(seconds=60)
# The fake's method names (as `fail_next` knows them) and the quota each draws on.
KINDS = {
    "create": "create",
    "end": "write",
    "get": "read",
    "list_records": "read",
    "list_participants": "read",
    "list_sessions": "read",
}
METRICS = {"create": "Create space requests", "write": "Write requests", "read": "Read requests"}


@dataclass(frozen=True)
class QuotaLimits:
    create_per_minute_per_account: int = 10
    create_per_minute_per_project: int = 100
    write_per_minute_per_account: int = 100
    write_per_minute_per_project: int = 1000
    read_per_minute_per_account: int = 600
    read_per_minute_per_project: int = 6000


class Quotas:
    """What the server admits; the server's lock guards every call."""

    def __init__(self, limits: QuotaLimits, *, enabled: bool) -> None:
        self.limits = limits
        self.enabled = enabled
        self.accepted_creates: list[tuple[str, datetime]] = []  # kept with quotas on or off
        self.rejected: Counter[str] = Counter()  # method -> its 429 answers for quota
        self._windows: dict[tuple[str, str | None], deque[datetime]] = defaultdict(deque)  # (kind, account or None)

    def admit(self, method: str, account: str, now: datetime) -> str | None:
        """None when the call is admitted (and counted); else why not."""
        kind = KINDS[method]
        if self.enabled:
            for key, scope in (((kind, account), "account"), ((kind, None), "project")):
                window = self._windows[key]
                while window and window[0] <= now - MINUTE:
                    window.popleft()
                limit = getattr(self.limits, f"{kind}_per_minute_per_{scope}")
                if len(window) >= limit:
                    self.rejected[method] += 1
                    return (
                        f"Quota exceeded for quota metric '{METRICS[kind]}' and limit"
                        f" '{METRICS[kind]} per minute per {'user' if scope == 'account' else 'project'}'"
                        f" ({limit}) of service 'meet.googleapis.com'."
                    )
            self._windows[(kind, account)].append(now)
            self._windows[(kind, None)].append(now)
        if kind == "create":
            self.accepted_creates.append((account, now))
        return None

    def max_creates_in_any_minute(self, account: str | None = None) -> int:
        """The most creates accepted within any 60 s (of `account`, or of the
        whole project when None): what the quotas must keep at their limits."""
        times = sorted(at for who, at in self.accepted_creates if account is None or who == account)
        most, first = 0, 0
        for last, at in enumerate(times):
            while at - times[first] >= MINUTE:
                first += 1
            most = max(most, last - first + 1)
        return most
