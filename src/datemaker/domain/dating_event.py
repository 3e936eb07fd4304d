"""The DatingEvent aggregate: one speed-dating event and everything that
happens inside it.

Public command methods check the lifecycle table and the business rules, raise
a typed `DomainError` when refused (recording nothing), and otherwise trigger
one past-tense event. The private `@event` methods only assign, so replaying
history rebuilds the same state without side effects, clock reads or chance.
Time always comes in with the command (`at`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from datemaker.domain.errors import (
    AlreadyConfirmed,
    AlreadyLeft,
    AlreadyRegistered,
    ConfirmationClosed,
    EventFull,
    EventOver,
    IllegalTransition,
    AlreadyReady,
    AlreadyReported,
    DomainError,
    InvalidSchedule,
    NotParticipant,
    NotRegistered,
    NotYourPartner,
    RatingClosed,
    ReadyCheckClosed,
    RegistrationClosed,
    RoundsOver,
    UnknownReaction,
)
from datemaker.domain.ids import event_uuid
from datemaker.domain import event_edits, timeline
from datemaker.domain.lifecycle import EventState, next_state
from datemaker.domain.phases import Phase, next_phase
from datemaker.domain.pairing import NeverMeet, Plan, Unplaced, midway, plan_event, reasons, replan
from datemaker.domain.parsed_records import parsed, remember
from datemaker.domain.profile import Profile
from datemaker.domain.standing import BLOCKED
from datemaker.domain.timings import Timings

# Registration is open until confirmation closes; late registrants are asked
# to confirm at once. Withdrawing stays possible until the event starts.
REGISTRATION_OPEN = frozenset({EventState.NOT_STARTED, EventState.REG_CONFIRM})
WITHDRAWAL_OPEN = frozenset({EventState.NOT_STARTED, EventState.REG_CONFIRM, EventState.READY})
# Who joined which call is a fact worth keeping even after the event is over.
ATTENDANCE_OPEN = frozenset({EventState.RUNNING, EventState.FINISHED, EventState.CANCELLED})

DEFAULT_USERS_LIMIT = 20
REACTIONS = ("like", "dislike", "report")
REPORT_CATEGORIES = ("harassment", "no_show", "fake_profile", "inappropriate", "other")
REMOVED = "removed"  # why someone left: an operator took them out (their word is the note)


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
        self.withdrawn_profiles: dict[str, dict[str, Any]] = {}
        self.plan: dict[str, Any] | None = None
        self.end_reason: str | None = None
        self.ready: list[int] = []  # who answered the "are you here?" check
        self.no_shows: list[int] = []
        # str(user_id) -> {str(partner_id): latest reaction}
        self.ratings: dict[str, dict[str, str]] = {}
        self.reports: list[list[int]] = []  # [reporter, reported], every report kept
        self.matches: list[list[int]] = []  # [a, b] with a < b, mutual likes
        self.rules_announced = False
        self.phase = ""  # a Phase value while RUNNING
        self.round_no = 0  # the round under way or just ended
        # str(round) -> rooms made ahead for it: [{"space": name, "uri": url}]
        self.room_pool: dict[str, list[dict[str, str]]] = {}
        # str(round) -> {"a-b": room} given to each pair when the round starts
        self.rooms: dict[str, dict[str, dict[str, str]]] = {}
        # str(round) -> {"dates": [...], "final": bool}: who joined each date's call
        self.attendance: dict[str, dict[str, Any]] = {}

    # --- reading ----------------------------------------------------------

    @property
    def state(self) -> EventState:
        return EventState(self.state_id)

    @property
    def timings(self) -> Timings:
        return parsed(self.timings_record, Timings.from_record)

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
        return parsed(self.plan, Plan.from_record) if self.plan is not None else None

    @property
    def active_dates(self) -> int:
        """Dates whose call is running now: those of the round under way."""
        if self.state is not EventState.RUNNING or self.phase != Phase.ROUND.value:
            return 0
        return len(self.rooms.get(str(self.round_no), {}))

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
    def _registration_cancelled(self, user_id: int, at: datetime, reason: str | None = None,
                                note: str | None = None) -> None:
        withdrawn = self.registrations.pop(str(user_id))
        self.withdrawn_profiles[str(user_id)] = withdrawn["profile"]

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

    # --- leaving -----------------------------------------------------------

    def remove_blocked(self, user_id: int, at: datetime, seed: int, never_meet: NeverMeet = ()) -> None:
        """A moderator blocked the user: they leave the event (`leave`, reason `blocked`)."""
        self.leave(user_id, at, seed, reason=BLOCKED, never_meet=never_meet)

    # Class default (not a field): histories recorded before anyone could leave a running event.
    left: tuple[int, ...] | list[int] = ()  # who left (or was taken out) while the rounds ran

    def takes_part(self, user_id: int) -> bool:
        """Placed in the plan, still registered, and not gone while the rounds ran."""
        planned = self.planned
        return bool(planned and planned.group_of(user_id) is not None and self.is_registered(user_id)
                    and user_id not in self.left)

    def may_leave(self, user_id: int) -> bool:
        return self._leave_refused(user_id) is None

    def leave(self, user_id: int, at: datetime, seed: int, reason: str | None = None,
              never_meet: NeverMeet = (), note: str | None = None) -> None:
        """The user leaves the event (`reason` None), or is taken out of it
        (`removed` by an operator, whose one word is the `note`; `blocked`).
        Until the start the registration is withdrawn (`RegistrationCancelled`
        with the reason), and once groups are fixed (READY) the plan is made
        again without them, recorded whole as `Replanned`, naming whoever
        loses their place with it. While the rounds run (`ParticipantLeft`):
        the round under way stays as it is (their date in it counts as held)
        and the rounds still to come are re-paired without them
        (pairing/midway.py). Refused when the event is over, they are not
        registered, have no place in the running event, left already, or the
        last round is over."""
        refused = self._leave_refused(user_id)
        if refused is not None:
            raise refused
        planned = self.planned
        if self.state is EventState.RUNNING:
            assert planned is not None
            self._leave_the_rounds(planned, user_id, at, seed, reason, note)
            return
        if note is None:
            self._registration_cancelled(user_id=user_id, at=at, reason=reason)
        else:
            self._registration_cancelled(user_id=user_id, at=at, reason=reason, note=note)
        if self.state is not EventState.READY or planned is None or user_id not in planned.placed_user_ids:
            return
        present = sorted(uid for uid in planned.placed_user_ids if self.is_registered(uid))
        known = planned.placed_user_ids | planned.unplaced_user_ids
        plan = replan(
            planned,
            present,
            from_round=1,
            forbidden=never_meet,
            seed=seed,
            participants={uid: Profile.from_record(self._snapshot_of(uid)) for uid in known},
        )
        why = BLOCKED if reason == BLOCKED else reasons.LEFT
        unplaced = tuple(Unplaced(u.user_id, why) if u.user_id == user_id else u for u in plan.unplaced)
        plan = replace(plan, unplaced=unplaced)
        lost = sorted(set(present) - plan.placed_user_ids)
        self._replanned(at=at, reason=reason or reasons.LEFT, removed=[user_id], lost_place=lost,
                        plan=remember(plan.record, plan))

    def _leave_refused(self, user_id: int) -> DomainError | None:
        if self.state.is_over:
            return EventOver(self.state.name, "leave")
        if user_id in self.left:
            return AlreadyLeft(f"user {user_id} left event {self.wire_id} already")
        if not self.is_registered(user_id):
            return NotRegistered(f"user {user_id} is not registered")
        if self.state in WITHDRAWAL_OPEN:
            return None
        if not self.takes_part(user_id):
            return NotParticipant(f"user {user_id} has no place in this event")
        if self.phase == Phase.FINAL.value:
            return RoundsOver(f"the last round of event {self.wire_id} is over")
        return None

    def _leave_the_rounds(self, planned: Plan, user_id: int, at: datetime, seed: int, reason: str | None,
                          note: str | None) -> None:
        from_round = self.round_no + 1
        members = planned.group_of(user_id).user_ids  # placed: `_leave_refused` saw to it
        staying = [uid for uid in members if uid != user_id and self.takes_part(uid)]
        plan = midway.without(
            planned, user_id, staying, from_round,
            forbidden=self.reported_here(),
            seed=seed,
            participants={uid: Profile.from_record(self._snapshot_of(uid)) for uid in members},
        )
        # Their date of the round under way: the partner is alone for the rest of it.
        partner = planned.partner_of(user_id, self.round_no) if self.phase == Phase.ROUND.value else None
        if partner is not None and self.room_of(self.round_no, user_id, partner) is None:
            partner = None  # that pair had no room: resting already
        self._participant_left(
            user_id=user_id, at=at, reason=reason, note=note, round_no=self.round_no, from_round=from_round,
            partner_id=partner, plan=None if plan is planned else remember(plan.record, plan),
        )

    @event("ParticipantLeft")
    def _participant_left(self, user_id: int, at: datetime, reason: str | None, note: str | None, round_no: int,
                          from_round: int, partner_id: int | None, plan: dict[str, Any] | None) -> None:
        self.left = [*self.left, user_id]
        if plan is not None:  # None: no rounds still to come for their group
            self.plan = plan

    @event("Replanned")
    def _replanned(self, at: datetime, reason: str, removed: list[int], lost_place: list[int],
                   plan: dict[str, Any]) -> None:
        self.plan = plan

    # --- lifecycle --------------------------------------------------------

    def open_confirmation(self, at: datetime) -> None:
        self._confirmation_opened(state=int(next_state(self.state, "open_confirmation")), at=at)

    @event("ConfirmationOpened")
    def _confirmation_opened(self, state: int, at: datetime) -> None:
        self.state_id = state
        self.confirmation_opened_at = at

    # Class defaults (not fields): histories recorded before reminders load with them.
    confirmation_opened_at = None  # when the registered were first asked to confirm
    confirmation_reminded = False

    def remind_unconfirmed(self, at: datetime) -> None:
        """Ask again, once, whoever is registered and has not confirmed: each
        one first asked at least the reminder's offset ago (a late registrant
        asked a moment ago is not nagged), and nobody once the deadline has
        passed (a clock that was down)."""
        if self.state is not EventState.REG_CONFIRM or self.confirmation_reminded:
            raise IllegalTransition(self.state.name, "remind the unconfirmed")
        t = self.timings
        opened = self.confirmation_opened_at or t.confirmation_opens_at(self.start)
        due = []
        if at < t.confirmation_closes_at(self.start):
            for uid, entry in self.registrations.items():
                registered = datetime.fromisoformat(entry["registered_at"])
                asked = max(opened, registered if registered.tzinfo else registered.replace(tzinfo=UTC))
                if not entry["confirmed"] and at - asked >= timedelta(seconds=t.confirm_reminder):
                    due.append(int(uid))
        self._confirmation_reminded(user_ids=sorted(due), at=at)

    @event("ConfirmationReminded")
    def _confirmation_reminded(self, user_ids: list[int], at: datetime) -> None:
        self.confirmation_reminded = True

    def plan_for(self, seed: int, never_meet: NeverMeet = ()) -> Plan:
        """The groups and rounds closing confirmation now would fix (records
        nothing). `never_meet`: pairs kept apart (with the reasons why, which
        the plan records), from earlier events."""
        confirmed = {uid: self.profile_of(uid) for uid in self.confirmed_user_ids}
        return plan_event(
            confirmed,
            self.users_limit,
            reference_date=self.start.date(),
            forbidden=never_meet,
            seed=seed,
        )

    def close_confirmation(
        self, at: datetime, seed: int, never_meet: NeverMeet = (), prepared: Plan | None = None
    ) -> Plan:
        """Fix groups and rounds for the confirmed people (READY), or SKIP the
        event when they cannot make even one pair. The whole plan, with its
        reasons, is recorded in one event; replay never recomputes it.

        `prepared`: what `plan_for(seed, never_meet)` gave on this very state
        (same version), worked out ahead of the deadline."""
        ready = next_state(self.state, "fix_groups")  # only from REG_CONFIRM
        plan = prepared if prepared is not None else self.plan_for(seed, never_meet)
        if plan.rounds_count == 0:
            self._skipped(
                state=int(next_state(self.state, "skip")),
                at=at,
                reason="too_few_participants",
                plan=remember(plan.record, plan),
            )
        else:
            self._groups_formed(state=int(ready), at=at, plan=remember(plan.record, plan))
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
        self.cancelled_at = at

    cancelled_at = None  # class default: histories cancelled before it was kept

    def calls_left_running(self) -> bool:
        """Cancelled in the middle of a round whose calls still run: the
        clock ends them (`end_round`) at once."""
        return (
            self.state is EventState.CANCELLED
            and self.phase == Phase.ROUND.value
            and bool(self.rooms.get(str(self.round_no)))
        )

    # --- an operator's edit -------------------------------------------------

    def edit(self, requested: Mapping[str, Any], by: str, at: datetime) -> dict[str, list[Any]]:
        """Change what `requested` names (see `event_edits.py` for what may
        change until when); returns `{field: [old, new]}`, empty (recording
        nothing) when every value is the one the event has.

        A change that moves the dates while confirmation is open resets the
        confirmations, and everyone registered is asked again at once, even
        when confirmation would open only later by the new start: the event
        stays in REG_CONFIRM. Going back to NOT_STARTED would leave those who
        confirmed the old time unconfirmed without a word until the new
        window opens, while the ask is what shows them the new time (the bot
        reads it from the platform's row). The reminder follows the new
        timings, counted from this ask."""
        changes = event_edits.changes_for(self, requested, at)
        if not changes:
            return {}
        self._edited(by=by, at=at, changes=changes)
        if self.state is EventState.REG_CONFIRM and event_edits.moves_the_dates(changes):
            self._confirmations_reset(at=at, reason="edited", user_ids=self.registered_user_ids,
                                      dropped=self.confirmed_user_ids)
        return changes

    @event("Edited")
    def _edited(self, by: str, at: datetime, changes: dict[str, list[Any]]) -> None:
        new = {name: values[1] for name, values in changes.items()}
        if "start" in new:
            self.start = datetime.fromisoformat(new["start"])
        if "timezone" in new:
            self.timezone = new["timezone"]
        if "users_limit" in new:
            self.users_limit = new["users_limit"]
        if "capacity" in new:
            self.capacity = new["capacity"]
        offsets = {name: value for name, value in new.items() if name in event_edits.TIMING_FIELDS}
        if offsets:
            self.timings_record = {**self.timings.to_record(), **offsets}

    confirmations_reset = 0  # class default: how often everyone was asked again

    @event("ConfirmationsReset")
    def _confirmations_reset(self, at: datetime, reason: str, user_ids: list[int], dropped: list[int]) -> None:
        for entry in self.registrations.values():
            entry["confirmed"] = False
        self.confirmation_opened_at = at
        self.confirmation_reminded = False
        self.confirmations_reset += 1

    # --- the ready check and the start ------------------------------------

    def mark_ready(self, user_id: int, at: datetime) -> None:
        """The participant answered "are you here?" before the start."""
        self._require_not_over("answer the ready check")
        if self.state is not EventState.READY:
            raise ReadyCheckClosed(f"the ready check is not open while the event is {self.state.name}")
        planned = self.planned
        if planned is None or user_id not in planned.placed_user_ids or not self.is_registered(user_id):
            raise NotParticipant(f"user {user_id} has no place in this event")
        if user_id in self.ready:
            raise AlreadyReady(f"user {user_id} already answered")
        self._marked_ready(user_id=user_id, at=at)

    @event("MarkedReady")
    def _marked_ready(self, user_id: int, at: datetime) -> None:
        self.ready.append(user_id)

    def begin(self, at: datetime, seed: int) -> Plan:
        """RUNNING: whoever is not present (did not answer the ready check when
        it is on, or withdrew) is a no-show, and the present are re-paired,
        keeping apart the pairs the plan kept apart and `reported_here()`."""
        running = next_state(self.state, "start")
        planned = self.planned
        assert planned is not None  # READY always holds a plan
        placed = sorted(uid for uid in planned.placed_user_ids if self.is_registered(uid))
        present = [uid for uid in placed if uid in self.ready] if self.ready_check else placed
        known = planned.placed_user_ids | planned.unplaced_user_ids
        if set(present) == set(planned.placed_user_ids):
            plan = planned  # everyone is here: the dates stay as announced
        else:
            plan = replan(
                planned,
                present,
                from_round=1,
                forbidden=self.reported_here(),
                seed=seed,
                participants={uid: Profile.from_record(self._snapshot_of(uid)) for uid in known},
            )
        no_shows = sorted(set(planned.placed_user_ids) - set(present))
        first = 1 if plan.rounds_count else 0
        self._started(
            state=int(running),
            at=at,
            # Recorded only when it changed: a plan is kilobytes, and a
            # thousand events start at once.
            plan=None if plan is planned else remember(plan.record, plan),
            no_shows=no_shows,
            phase=(Phase.ROUND if first else Phase.FINAL).value,
            round_no=first,
            rooms=self._give_rooms(plan, first),
        )
        return plan

    present_at_start: tuple[int, ...] | list[int] = ()  # class default: histories started before it was kept

    @event("Started")
    def _started(
        self,
        state: int,
        at: datetime,
        plan: dict[str, Any] | None,  # None: the dates stay as announced
        no_shows: list[int],
        phase: str,
        round_no: int,
        rooms: dict[str, dict[str, str]],
    ) -> None:
        self.state_id = state
        # Who was there, read off the plan before the present are re-paired:
        # told when the event cannot go on, or goes on without them.
        before = self.planned
        absent = set(no_shows)
        self.present_at_start = sorted(
            uid for uid in (before.placed_user_ids if before else ()) if self.is_registered(uid) and uid not in absent
        )
        if plan is not None:
            self.plan = plan
        self.no_shows = list(no_shows)
        self.phase = phase
        self.round_no = round_no
        if round_no:
            self.rooms[str(round_no)] = dict(rooms)

    # --- the clock ------------------------------------------------------------

    def advance(
        self,
        now: datetime,
        seed: int,
        never_meet: NeverMeet = (),
        max_steps: int | None = None,
        prepared: Plan | None = None,
    ) -> list[str]:
        """Take every step that is due by `now` (at most `max_steps`), in order:
        a late clock catches up, each step once. Rooms are not made here: that
        needs the rooms port."""
        taken: list[str] = []
        while (
            (max_steps is None or len(taken) < max_steps)
            and (step := timeline.next_step(self, with_rooms=False)) is not None
            and step.at <= now
        ):
            if self.retry_not_before is not None:
                self._steps_resumed(at=now)
            action = step.action
            if action == timeline.CLOSE_CONFIRMATION:
                self.close_confirmation(now, seed, never_meet, prepared)
            elif action == timeline.BEGIN:
                self.begin(now, seed)
            else:
                getattr(self, action)(now)  # open_confirmation, announce_rules, end_round, ...
            taken.append(action)
        return taken

    # --- a step that failed ----------------------------------------------

    # Class defaults (not fields): histories recorded before these facts
    # existed load with them.
    step_failure = None  # {"error", "since", "failures"} while the steps fail
    retry_not_before = None  # a datetime: the steps wait until then

    def note_step_failed(self, error: str, at: datetime, retry_at: datetime) -> None:
        """The clock could not take the next step (`error` is the failure's
        class): recorded, and the steps wait until `retry_at`. The next step
        taken records that they resumed."""
        if self.state.is_over:
            raise EventOver(f"dating event {self.wire_id} is over")
        self._step_failed(error=error, at=at, retry_at=retry_at)

    @event("StepFailed")
    def _step_failed(self, error: str, at: datetime, retry_at: datetime) -> None:
        earlier = self.step_failure or {}
        self.step_failure = {
            "error": error,
            "since": earlier.get("since", at.isoformat()),
            "failures": int(earlier.get("failures", 0)) + 1,
        }
        self.retry_not_before = retry_at

    @event("StepsResumed")
    def _steps_resumed(self, at: datetime) -> None:
        self.step_failure = None
        self.retry_not_before = None

    # --- rules, rooms and rounds -------------------------------------------

    def announce_rules(self, at: datetime) -> None:
        """Rules reminder and the "are you here?" check go out (once)."""
        if self.state is not EventState.READY or self.rules_announced:
            raise IllegalTransition(self.state.name, "announce the rules")
        self._rules_announced(at=at)

    @event("RulesAnnounced")
    def _rules_announced(self, at: datetime) -> None:
        self.rules_announced = True

    def rooms_needed(self) -> dict[int, int]:
        """Rooms still to make ahead, per round that has not started yet."""
        planned = self.planned
        if planned is None or self.state not in (EventState.READY, EventState.RUNNING):
            return {}
        after = self.round_no if self.state is EventState.RUNNING else 0
        needed = {}
        for round_no in range(after + 1, planned.rounds_count + 1):
            missing = len(planned.pairs_in_round(round_no)) - len(self.room_pool.get(str(round_no), []))
            if missing > 0:
                needed[round_no] = missing
        return needed

    def add_rooms(self, round_no: int, rooms: list[dict[str, str]], at: datetime) -> None:
        """Record rooms made ahead for `round_no` (each one fresh, never reused)."""
        if self.state not in (EventState.READY, EventState.RUNNING):
            raise IllegalTransition(self.state.name, "add rooms")
        self._rooms_reserved(round_no=round_no, rooms=[dict(r) for r in rooms], at=at)

    @event("RoomsReserved")
    def _rooms_reserved(self, round_no: int, rooms: list[dict[str, str]], at: datetime) -> None:
        self.room_pool.setdefault(str(round_no), []).extend(dict(r) for r in rooms)

    def room_of(self, round_no: int, a: int, b: int) -> dict[str, str] | None:
        return self.rooms.get(str(round_no), {}).get(f"{min(a, b)}-{max(a, b)}")

    def end_round(self, at: datetime) -> None:
        """The calls of the round end; a break follows, or the final stretch.
        Also the round under way when an operator cancelled the event."""
        if self.calls_left_running():
            phase = next_phase(Phase(self.phase), "end_last_round")
            self._round_ended(round_no=self.round_no, phase=phase.value, at=at)
            return
        self._require_running("end a round")
        planned = self.planned
        last = planned is None or self.round_no >= planned.rounds_count
        phase = next_phase(Phase(self.phase), "end_last_round" if last else "end_round")
        self._round_ended(round_no=self.round_no, phase=phase.value, at=at)

    @event("RoundEnded")
    def _round_ended(self, round_no: int, phase: str, at: datetime) -> None:
        self.phase = phase

    def start_round(self, at: datetime) -> None:
        self._require_running("start a round")
        phase = next_phase(Phase(self.phase), "start_round")
        planned = self.planned
        assert planned is not None
        round_no = self.round_no + 1
        self._round_started(
            round_no=round_no, phase=phase.value, rooms=self._give_rooms(planned, round_no), at=at
        )

    @event("RoundStarted")
    def _round_started(self, round_no: int, phase: str, rooms: dict[str, dict[str, str]], at: datetime) -> None:
        self.phase = phase
        self.round_no = round_no
        self.rooms[str(round_no)] = dict(rooms)

    def _give_rooms(self, plan: Plan, round_no: int) -> dict[str, dict[str, str]]:
        """Pair i of the round gets the round's i-th room made ahead."""
        if not round_no:
            return {}
        pool = self.room_pool.get(str(round_no), [])
        pairs = sorted(plan.pairs_in_round(round_no), key=lambda p: (p.a, p.b))
        return {f"{p.a}-{p.b}": dict(room) for p, room in zip(pairs, pool, strict=False)}

    # --- attendance -------------------------------------------------------

    def rounds_to_close(self) -> list[int]:
        """Rounds whose calls are over but whose attendance is not recorded
        yet: the durable marker the round clock works from."""
        if self.state not in ATTENDANCE_OPEN:
            return []
        recorded = self._attendance()
        return [n for n in range(1, self._last_ended_round() + 1) if self.rooms.get(str(n)) and str(n) not in recorded]

    def final_attendance_due(self) -> bool:
        """After the event every room is read once more (late sessions,
        someone back in an old link), and recorded as final."""
        if self.state is not EventState.FINISHED:
            return False
        recorded = self._attendance()
        return any(self.rooms.get(str(n)) and not recorded.get(str(n), {}).get("final") for n in range(1, self.round_no + 1))

    def record_attendance(self, round_no: int, dates: list[dict[str, Any]], at: datetime, final: bool = False) -> None:
        """Who joined each date of an ended round, when and for how long; the
        final reading after the event replaces the one taken at the round's end."""
        if self.state not in ATTENDANCE_OPEN:
            raise IllegalTransition(self.state.name, "record attendance")
        if not 1 <= round_no <= self._last_ended_round():
            raise IllegalTransition(f"round {round_no} not ended", "record attendance")
        earlier = self._attendance().get(str(round_no))
        if earlier is not None and (earlier["final"] or not final):
            raise IllegalTransition(f"round {round_no} recorded", "record attendance again")
        self._attendance_recorded(round_no=round_no, dates=[dict(d) for d in dates], final=final, at=at)

    @event("AttendanceRecorded")
    def _attendance_recorded(self, round_no: int, dates: list[dict[str, Any]], final: bool, at: datetime) -> None:
        self.attendance = {**self._attendance(), str(round_no): {"dates": list(dates), "final": final}}

    def _attendance(self) -> dict[str, dict[str, Any]]:
        return self.__dict__.get("attendance", {})  # snapshots older than attendance lack it

    def _last_ended_round(self) -> int:
        return self.round_no - 1 if self.phase == Phase.ROUND.value else self.round_no

    # --- ratings and the end ---------------------------------------------

    def ratings_lock_at(self) -> datetime:
        planned = self.planned
        return self.timings.ratings_lock_at(self.start, planned.rounds_count if planned else 0)

    def rate(self, user_id: int, partner_id: int, reaction: str, at: datetime, category: str | None = None) -> None:
        """Like, dislike or report a partner one actually had a date with. A
        like or dislike may change until the ratings lock; a report is filed
        once (with an optional category) and stands."""
        if reaction not in REACTIONS:
            raise UnknownReaction(f"a reaction is one of {', '.join(REACTIONS)}")
        if category is not None and (reaction != "report" or category not in REPORT_CATEGORIES):
            raise UnknownReaction(f"a report's category is one of {', '.join(REPORT_CATEGORIES)}")
        if self.state is not EventState.RUNNING or at > self.ratings_lock_at():
            raise RatingClosed("ratings are closed for this event")
        planned = self.planned
        met = {
            partner
            for round_no, partner in (planned.dates_of(user_id) if planned else ())
            if self.timings.round_starts_at(self.start, round_no) <= at
        }
        if partner_id not in met:
            raise NotYourPartner(f"user {user_id} had no date with {partner_id}")
        if self.reaction(user_id, partner_id) == "report":
            raise AlreadyReported(f"user {user_id} reported {partner_id} already")
        if category is None:  # recorded as before categories existed
            self._partner_rated(user_id=user_id, partner_id=partner_id, reaction=reaction, at=at)
        else:
            self._partner_rated(user_id=user_id, partner_id=partner_id, reaction=reaction, at=at, category=category)

    # Class default (not a field, never changed in place): histories
    # recorded before categories load with it.
    report_categories = MappingProxyType({})  # "reporter-reported" -> category

    @event("PartnerRated")
    def _partner_rated(self, user_id: int, partner_id: int, reaction: str, at: datetime,
                       category: str | None = None) -> None:
        self.ratings.setdefault(str(user_id), {})[str(partner_id)] = reaction
        if reaction == "report":
            self.reports.append([user_id, partner_id])
            if category is not None:
                self.report_categories = {**self.report_categories, f"{user_id}-{partner_id}": category}

    def reaction(self, user_id: int, partner_id: int) -> str | None:
        return self.ratings.get(str(user_id), {}).get(str(partner_id))

    def reported_here(self) -> dict[tuple[int, int], tuple[str, ...]]:
        """Pairs any re-plan of this event keeps apart on top of those its plan
        kept apart: one reported the other here (which one is not said)."""
        return {(min(a, b), max(a, b)): (reasons.REPORTED,) for a, b in self.reports}

    def finish(self, at: datetime) -> list[list[int]]:
        """FINISHED: ratings lock and mutual likes become matches."""
        finished = next_state(self.state, "finish")
        if self.phase != Phase.FINAL.value:
            raise IllegalTransition(f"phase {self.phase}", "finish")
        matches = sorted(
            [int(a), int(b)]
            for a, given in self.ratings.items()
            for b, reaction in given.items()
            if int(a) < int(b) and reaction == "like" and self.reaction(int(b), int(a)) == "like"
        )
        self._finished(state=int(finished), at=at, matches=matches)
        return matches

    @event("Finished")
    def _finished(self, state: int, at: datetime, matches: list[list[int]]) -> None:
        self.state_id = state
        self.matches = [list(pair) for pair in matches]

    # --- helpers ----------------------------------------------------------

    def _snapshot_of(self, user_id: int) -> dict[str, Any]:
        """The profile snapshot pairing used, even for someone who withdrew."""
        entry = self.registrations.get(str(user_id))
        if entry is not None:
            return entry["profile"]
        return self.withdrawn_profiles.get(str(user_id), {})

    def _require_running(self, action: str) -> None:
        if self.state is not EventState.RUNNING:
            raise IllegalTransition(self.state.name, action)

    def _require_not_over(self, action: str) -> None:
        if self.state.is_over:
            raise EventOver(self.state.name, action)

