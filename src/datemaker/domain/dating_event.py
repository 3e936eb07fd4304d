"""The DatingEvent aggregate: one speed-dating event and everything that
happens inside it.

Public command methods check the lifecycle table and the business rules, raise
a typed `DomainError` when refused (recording nothing), and otherwise trigger
one past-tense event. The private `@event` methods only assign, so replaying
history rebuilds the same state without side effects, clock reads or chance.
Time always comes in with the command (`at`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from datemaker.domain.errors import (
    AlreadyConfirmed,
    AlreadyRegistered,
    ConfirmationClosed,
    EventFull,
    EventOver,
    InvalidSchedule,
    NotRegistered,
    RegistrationClosed,
)
from datemaker.domain.ids import event_uuid
from datemaker.domain.lifecycle import EventState, next_state
from datemaker.domain.pairing import Plan, plan_event
from datemaker.domain.profile import Profile
from datemaker.domain.timings import Timings

# Registration is open until confirmation closes; late registrants are asked
# to confirm at once. Withdrawing stays possible until the event starts.
REGISTRATION_OPEN = frozenset({EventState.NOT_STARTED, EventState.REG_CONFIRM})
WITHDRAWAL_OPEN = frozenset({EventState.NOT_STARTED, EventState.REG_CONFIRM, EventState.READY})

DEFAULT_USERS_LIMIT = 20


class DatingEvent(Aggregate):
    # --- creation -------------------------------------------------------

    @classmethod
    def schedule(
        cls,
        *,
        wire_id: int,
        start: datetime,
        timezone: str,
        users_limit: int = DEFAULT_USERS_LIMIT,
        capacity: int | None = None,
        timings: Timings | None = None,
        ready_check: bool = True,
    ) -> DatingEvent:
        if start.tzinfo is None or start.utcoffset() is None:
            raise InvalidSchedule("start must carry its offset (an aware datetime)")
        if users_limit < 2:
            raise InvalidSchedule("users_limit must be at least 2 (one pair)")
        if capacity is not None and capacity < 1:
            raise InvalidSchedule("capacity must be at least 1 when given")
        if not timezone:
            raise InvalidSchedule("timezone must be an IANA zone name")
        return cls(
            wire_id=wire_id,
            start=start,
            timezone=timezone,
            users_limit=users_limit,
            capacity=capacity,
            timings=(timings or Timings()).to_record(),
            ready_check=ready_check,
        )

    @staticmethod
    def create_id(wire_id: int) -> UUID:  # type: ignore[override]
        return event_uuid(wire_id)

    @event("Scheduled")
    def __init__(
        self,
        wire_id: int,
        start: datetime,
        timezone: str,
        users_limit: int,
        capacity: int | None,
        timings: dict[str, int],
        ready_check: bool,
    ) -> None:
        self.wire_id = wire_id
        self.start = start
        self.timezone = timezone
        self.users_limit = users_limit
        self.capacity = capacity
        self.timings_record = dict(timings)
        self.ready_check = ready_check
        self.state_id = int(EventState.NOT_STARTED)
        # str(user_id) -> {"profile": {...}, "registered_at": iso, "confirmed": bool}
        self.registrations: dict[str, dict[str, Any]] = {}
        self.plan: dict[str, Any] | None = None
        self.end_reason: str | None = None

    # --- reading ----------------------------------------------------------

    @property
    def state(self) -> EventState:
        return EventState(self.state_id)

    @property
    def timings(self) -> Timings:
        return Timings.from_record(self.timings_record)

    def is_registered(self, user_id: int) -> bool:
        return str(user_id) in self.registrations

    def is_confirmed(self, user_id: int) -> bool:
        entry = self.registrations.get(str(user_id))
        return bool(entry and entry["confirmed"])

    @property
    def registered_user_ids(self) -> list[int]:
        return sorted(int(uid) for uid in self.registrations)

    @property
    def confirmed_user_ids(self) -> list[int]:
        return sorted(int(uid) for uid, entry in self.registrations.items() if entry["confirmed"])

    def profile_of(self, user_id: int) -> Profile:
        return Profile.from_record(self.registrations[str(user_id)]["profile"])

    @property
    def planned(self) -> Plan | None:
        """The groups and rounds fixed when confirmation closed, as recorded."""
        return Plan.from_record(self.plan) if self.plan is not None else None

    @property
    def places_left(self) -> int | None:
        if self.capacity is None:
            return None
        return max(self.capacity - len(self.registrations), 0)

    # --- registration -----------------------------------------------------

    def register(self, user_id: int, profile: Profile, at: datetime) -> None:
        self._require_not_over("register")
        if self.state not in REGISTRATION_OPEN:
            raise RegistrationClosed(f"registration is closed while the event is {self.state.name}")
        if self.is_registered(user_id):
            raise AlreadyRegistered(f"user {user_id} is already registered")
        if self.places_left == 0:
            raise EventFull(f"all {self.capacity} places are taken")
        self._registered(user_id=user_id, profile=profile.to_record(), at=at)

    @event("Registered")
    def _registered(self, user_id: int, profile: dict[str, Any], at: datetime) -> None:
        self.registrations[str(user_id)] = {
            "profile": dict(profile),
            "registered_at": at.isoformat(),
            "confirmed": False,
        }

    def cancel_registration(self, user_id: int, at: datetime) -> None:
        self._require_not_over("cancel a registration")
        if not self.is_registered(user_id):
            raise NotRegistered(f"user {user_id} is not registered")
        if self.state not in WITHDRAWAL_OPEN:
            raise RegistrationClosed(f"registrations are locked while the event is {self.state.name}")
        self._registration_cancelled(user_id=user_id, at=at)

    @event("RegistrationCancelled")
    def _registration_cancelled(self, user_id: int, at: datetime) -> None:
        del self.registrations[str(user_id)]

    def confirm_registration(self, user_id: int, at: datetime) -> None:
        self._require_not_over("confirm a registration")
        if not self.is_registered(user_id):
            raise NotRegistered(f"user {user_id} is not registered")
        if self.state is not EventState.REG_CONFIRM:
            raise ConfirmationClosed(f"confirmation is not open while the event is {self.state.name}")
        if self.is_confirmed(user_id):
            raise AlreadyConfirmed(f"user {user_id} has already confirmed")
        self._registration_confirmed(user_id=user_id, at=at)

    @event("RegistrationConfirmed")
    def _registration_confirmed(self, user_id: int, at: datetime) -> None:
        self.registrations[str(user_id)]["confirmed"] = True

    # --- lifecycle --------------------------------------------------------

    def open_confirmation(self, at: datetime) -> None:
        self._confirmation_opened(state=int(next_state(self.state, "open_confirmation")), at=at)

    @event("ConfirmationOpened")
    def _confirmation_opened(self, state: int, at: datetime) -> None:
        self.state_id = state

    def close_confirmation(
        self, at: datetime, seed: int, never_meet: Iterable[Iterable[int]] = ()
    ) -> Plan:
        """Fix groups and rounds for the confirmed people (READY), or SKIP the
        event when they cannot make even one pair. The whole plan, with its
        reasons, is recorded in one event; replay never recomputes it."""
        ready = next_state(self.state, "fix_groups")  # only from REG_CONFIRM
        confirmed = {uid: self.profile_of(uid) for uid in self.confirmed_user_ids}
        plan = plan_event(
            confirmed,
            self.users_limit,
            reference_date=self.start.date(),
            forbidden=never_meet,
            seed=seed,
        )
        if plan.rounds_count == 0:
            self._skipped(
                state=int(next_state(self.state, "skip")),
                at=at,
                reason="too_few_participants",
                plan=plan.to_record(),
            )
        else:
            self._groups_formed(state=int(ready), at=at, plan=plan.to_record())
        return plan

    @event("GroupsFormed")
    def _groups_formed(self, state: int, at: datetime, plan: dict[str, Any]) -> None:
        self.state_id = state
        self.plan = plan

    @event("Skipped")
    def _skipped(self, state: int, at: datetime, reason: str, plan: dict[str, Any]) -> None:
        self.state_id = state
        self.plan = plan
        self.end_reason = reason

    def cancel(self, at: datetime, reason: str = "operator") -> None:
        self._cancelled(state=int(next_state(self.state, "cancel")), at=at, reason=reason)

    @event("Cancelled")
    def _cancelled(self, state: int, at: datetime, reason: str) -> None:
        self.state_id = state
        self.end_reason = reason

    # --- helpers ----------------------------------------------------------

    def _require_not_over(self, action: str) -> None:
        if self.state.is_over:
            raise EventOver(self.state.name, action)
