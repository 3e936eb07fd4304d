"""The moderators' use cases: block and unblock a user, decide on a report.

A block is recorded on the user's standing (domain/standing.py) together
with, in the same transaction, the user's withdrawal from every event that
is not running yet (in READY, the plan is made again without them), their
leaving every running event they still have rounds to come in (the rounds
re-paired without them, as when someone leaves: `DatingEvent.leave`), and
the user's row of the blocks table, which every save that registers someone
reads under the event store's write lock. A registration saved while the
block was being recorded (it saw no block yet) is caught by one more pass
over the events right after: from then on no registration can be saved."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from eventsourcing.application import AggregateNotFoundError

from datemaker.app.dating_events import DatingEvents
from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.errors import UnknownEvent
from datemaker.domain.ids import parse_report_id, standing_uuid
from datemaker.domain.standing import NotBlocked, UnknownReport, UserStanding
from datemaker.logs import get_logger

log = get_logger(__name__)

# Events that started this long ago and still wait for their start are
# looked at too (a clock that was down); older ones are over by then.
LOOKBACK = timedelta(days=1)
NeverMeet = Callable[[DatingEvent], Iterable[Iterable[int]]]


@dataclass(frozen=True)
class BlockDone:
    recorded: bool  # False: a block on the same terms was already in force
    withdrawn_from: list[int]  # wire ids of the events the user was taken out of (running ones too)


class Moderation:
    def __init__(self, app: DatingEvents, *, rng: random.Random | None = None,
                 never_meet: NeverMeet = lambda event: ()) -> None:
        self.app = app
        self._rng = rng or random.Random()
        # Pairs that must not meet when a plan is made again without the
        # blocked user (the same ones the clock gives the pairing).
        self.never_meet = never_meet

    def standing(self, user_id: int) -> UserStanding | None:
        try:
            found = self.app.repository.get(standing_uuid(user_id))
        except AggregateNotFoundError:
            return None
        assert isinstance(found, UserStanding)
        return found

    # --- blocks ---------------------------------------------------------------

    def block(self, user_id: int, *, reason: str, by: str, until: datetime | None = None,
              report_id: str | None = None) -> BlockDone:
        """Block the user and take them out of their events (see the module).
        Blocking again on the same terms records nothing but still withdraws
        (a registration that slipped in is taken out)."""
        now = self.app.clock()

        def attempt() -> BlockDone:
            standing = self.standing(user_id) or UserStanding(user_id=user_id)
            recorded = standing.block(reason=reason, by=by, at=now, until=until, report_id=report_id)
            events = self._withdrawals(user_id, now)
            self.app.save_logged(standing, *events)
            return BlockDone(recorded, [e.wire_id for e in events])

        done = self.app.with_retries(attempt)
        later = self.withdraw_blocked(user_id)
        log.info("user blocked", user_id=user_id, recorded=done.recorded, events=done.withdrawn_from + later)
        return BlockDone(done.recorded, done.withdrawn_from + later)

    def withdraw_blocked(self, user_id: int) -> list[int]:
        """Take a blocked user out of every event that still allows it."""

        def attempt() -> list[int]:
            now = self.app.clock()
            standing = self.standing(user_id)
            if standing is None or standing.block_in_force(now) is None:
                return []
            events = self._withdrawals(user_id, now)
            if events:
                self.app.save_logged(*events)
            return [e.wire_id for e in events]

        return self.app.with_retries(attempt)

    def unblock(self, user_id: int, *, by: str) -> dict[str, object]:
        """Lift the block in force (NotBlocked when there is none); returns it."""
        now = self.app.clock()

        def attempt() -> dict[str, object]:
            standing = self.standing(user_id)
            if standing is None:
                raise NotBlocked(f"user {user_id} is not blocked")
            standing.unblock(by=by, at=now)
            self.app.save_logged(standing)
            return standing.blocks[-1]

        lifted = self.app.with_retries(attempt)
        log.info("user unblocked", user_id=user_id)
        return lifted

    # --- reports ----------------------------------------------------------------

    def resolve(self, report_id: str, *, outcome: str, by: str, note: str | None = None) -> BlockDone | None:
        """Record a decision on a report, on the reported user's standing.
        `blocked` also blocks them (reason `report`), in the same transaction.
        Returns what the block did, or None for another outcome; raises
        UnknownReport when no such report was filed."""
        event_id, reporter, reported = self.report(report_id)
        now = self.app.clock()

        def attempt() -> BlockDone | None:
            standing = self.standing(reported) or UserStanding(user_id=reported)
            standing.resolve(report_id=report_id, outcome=outcome, by=by, at=now, note=note)
            if outcome != "blocked":
                self.app.save_logged(standing)
                return None
            recorded = standing.block(reason="report", by=by, at=now, report_id=report_id)
            events = self._withdrawals(reported, now)
            self.app.save_logged(standing, *events)
            return BlockDone(recorded, [e.wire_id for e in events])

        done = self.app.with_retries(attempt)
        log.info("report resolved", event_id=event_id, outcome=outcome)
        if done is None:
            return None
        return BlockDone(done.recorded, done.withdrawn_from + self.withdraw_blocked(reported))

    def report(self, report_id: str) -> tuple[int, int, int]:
        """(event, reporter, reported) of a report that was filed."""
        try:
            event_id, reporter, reported = parse_report_id(report_id)
            event = self.app.get_event(event_id)
        except ValueError as exc:
            raise UnknownReport(str(exc)) from None
        except UnknownEvent as exc:
            raise UnknownReport(f"no report {report_id}: {exc}") from None
        if [reporter, reported] not in event.reports:
            raise UnknownReport(f"no report {report_id}: {reporter} did not report {reported} in event {event_id}")
        return event_id, reporter, reported

    # --- internals ----------------------------------------------------------

    def _withdrawals(self, user_id: int, now: datetime) -> list[DatingEvent]:
        """The events the user is still in (not started, or rounds to come),
        with the user taken out (unsaved)."""
        changed = []
        for wire_id in self.app.upcoming_wire_ids(now - LOOKBACK):
            event = self.app.get_event(wire_id)
            if event.may_leave(user_id):
                event.remove_blocked(user_id, now, seed=self._rng.randrange(2**63), never_meet=self.never_meet(event))
                changed.append(event)
        return changed
