"""Retention (`DATEMAKER_PERSONAL_DATA_DAYS`, README, Privacy): everyone whose
events are all over, the last one that many days ago, is erased as if asked
(`by` retention, reference `retention-<N>d-<last event>`, so two instances or
two runs make one request), and so are the room keys of events over that
long. The privacy job of `datemaker serve` runs it with the waiting erase
requests; `datemaker users retention` shows or does it at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from datemaker.app.erasure import Erasure, ErasureDone, room_subject
from datemaker.app.privacy_ports import RetentionDue
from datemaker.logs import get_logger

log = get_logger(__name__)

BY = "retention"


@dataclass(frozen=True)
class RetentionDone:
    people: list[ErasureDone]
    rooms: list[int]  # events whose room keys were destroyed


class Retention:
    def __init__(self, erasure: Erasure, days: int) -> None:
        if days <= 0:
            raise ValueError("retention needs a number of days above 0")
        self.erasure, self.days = erasure, days

    def ref(self, due: RetentionDue) -> str:
        return f"retention-{self.days}d-{due.last_event}"

    def due(self) -> list[RetentionDue]:
        """Who would be erased now, by user id."""
        cutoff = self.erasure.app.clock() - timedelta(days=self.days)
        return sorted(self.erasure.store.retention_due(cutoff), key=lambda d: d.user_id)

    def run(self) -> RetentionDone:
        """Erase everyone due and the room keys of events over that long."""
        people = [self.erasure.erase(due.user_id, ref=self.ref(due), by=BY) for due in self.due()]
        now = self.erasure.app.clock()
        events = self.erasure.store.rooms_due(now - timedelta(days=self.days))
        destroyed = set(self.erasure.store.destroy([room_subject(w) for w in events], now))
        for subject in destroyed:
            self.erasure.forget(subject)
        rooms = sorted(w for w in events if room_subject(w) in destroyed)
        if people or rooms:
            log.info("retention erased", people=len([p for p in people if p.outcome == "erased"]), rooms=len(rooms),
                     days=self.days)
        return RetentionDone(people, rooms)


class PrivacyJob:
    """One step of `datemaker serve`'s privacy task: the waiting erase
    requests whose events are over, then retention (when it is on). Every
    part is idempotent, so two instances doing it at once erase once."""

    def __init__(self, erasure: Erasure, days: int) -> None:
        self.erasure = erasure
        self.retention = Retention(erasure, days) if days > 0 else None

    def step(self) -> int:
        """How many requests and room keys it carried out."""
        done = len(self.erasure.carry_out_waiting())
        if self.retention is not None:
            kept = self.retention.run()
            done += len([p for p in kept.people if p.outcome == "erased"]) + len(kept.rooms)
        return done
