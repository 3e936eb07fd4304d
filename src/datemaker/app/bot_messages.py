"""What the bot is told when something happens to a dating event
(PROTOCOL.md, datemaker -> bot): a pure function of one recorded domain
event and the event's state right after it. Bodies carry ids, numbers,
times, URLs and fixed words only, never user-written text."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.lifecycle import EventState
from datemaker.domain.pairing.reasons import MET_ALL_PARTNERS
from datemaker.domain.phases import Phase

# New commands the bot in production does not know yet: sent only when
# DATEMAKER_BOT_EXTENSIONS lists them (it leaves unknown ones unacknowledged).
NEW_COMMANDS = frozenset({"send_sit_out_message", "send_event_cancelled"})


@dataclass(frozen=True)
class Outgoing:
    event_id: int
    user_id: int
    command: str
    data: dict[str, Any] | None = None
    round_no: int = 0
    # A new command may name an existing one (sent bare) for a bot that does
    # not know it yet, when staying silent would leave the user guessing.
    fallback: str | None = None
    # Tells apart a second message of the same command and round (the
    # confirmation reminder), which a bot dropping duplicates would lose.
    tag: str = ""

    @property
    def message_id(self) -> str:
        """Stable for the same logical message: event, user, command, round (and tag)."""
        found = f"dm:{self.event_id}:{self.round_no}:{self.command}:{self.user_id}"
        return f"{found}:{self.tag}" if self.tag else found

    @property
    def body(self) -> bytes:
        if self.data is None:
            return self.command.encode()
        return json.dumps({self.command: self.data}).encode()

    @property
    def headers(self) -> dict[str, str]:
        return {"user_id": str(self.user_id), "chat_id": str(self.user_id), "event_id": str(self.event_id)}


def messages_for(recorded: Any, event: DatingEvent, extensions: Collection[str] = ()) -> list[Outgoing]:
    """The bot messages one recorded domain event calls for."""
    kind = type(recorded).__name__
    make = _BUILDERS.get(kind)
    found = make(recorded, event) if make else []
    sent = []
    for m in found:
        if m.command not in NEW_COMMANDS or m.command in extensions:
            sent.append(m)
        elif m.fallback:
            sent.append(Outgoing(m.event_id, m.user_id, m.fallback, None, m.round_no, tag=m.tag))
    return sent


def _to(event: DatingEvent, users: Collection[int], command: str, data: dict[str, Any] | None = None,
        round_no: int = 0, fallback: str | None = None, tag: str = "") -> list[Outgoing]:
    return [Outgoing(event.wire_id, uid, command, data, round_no, fallback, tag) for uid in sorted(users)]


def _registered(recorded: Any, event: DatingEvent) -> list[Outgoing]:
    # Whoever registers while confirmation is open is asked at once.
    if event.state.name == "REG_CONFIRM":
        return _to(event, [recorded.user_id], "confirm_registration")
    return []


def _confirmation_opened(recorded: Any, event: DatingEvent) -> list[Outgoing]:
    return _to(event, event.registered_user_ids, "confirm_registration")


def _confirmation_reminded(recorded: Any, event: DatingEvent) -> list[Outgoing]:
    still = [uid for uid in recorded.user_ids if event.is_registered(uid) and not event.is_confirmed(uid)]
    # After everyone was asked again, a reminder is a message of its own.
    again = event.confirmations_reset
    return _to(event, still, "confirm_registration", tag=f"reminder{again}" if again else "reminder")


def _confirmations_reset(recorded: Any, event: DatingEvent) -> list[Outgoing]:
    # The event moved: everyone registered is asked again (the bot shows the
    # new time), a message of its own for each time it happens.
    asked = [uid for uid in recorded.user_ids if event.is_registered(uid)]
    return _to(event, asked, "confirm_registration", tag=f"again{event.confirmations_reset}")


def _groups_formed(recorded: Any, event: DatingEvent) -> list[Outgoing]:
    plan = event.planned
    assert plan is not None
    placed = plan.placed_user_ids
    # Everyone else registered: confirmed without a place, or never confirmed.
    return _to(event, placed, "send_user_will_take_part_in_event") + _to(
        event, set(event.registered_user_ids) - placed, "send_user_will_not_take_part_in_event"
    )


def _withdrawn(recorded: Any, event: DatingEvent) -> list[Outgoing]:
    # Taken out by a moderator's block or an operator (a user's own withdrawal
    # needs no word): told they will not take part; so is whoever a plan made
    # without them leaves out.
    if getattr(recorded, "reason", None) is not None:
        return _to(event, [recorded.user_id], "send_user_will_not_take_part_in_event")
    return []


def _participant_left(recorded: Any, event: DatingEvent) -> list[Outgoing]:
    """Someone left while the rounds ran. Taken out by someone else, they are
    told they will not take part (their own leave is answered by its reply).
    Their partner of the round under way is alone for the rest of it: told to
    rest until it ends (the break message to a bot without the sit-out one).
    Everyone else hears of the new plan at the next round's start, as usual."""
    messages = []
    if recorded.reason is not None:
        messages += _to(event, [recorded.user_id], "send_user_will_not_take_part_in_event")
    if recorded.partner_id is not None and event.takes_part(recorded.partner_id):
        round_no = recorded.round_no
        rest = {"round": round_no, "ends_at": event.timings.round_ends_at(event.start, round_no).isoformat(),
                "reason": "partner_left"}
        # Tagged: the break message of this round's end has the plain id.
        messages += _to(event, [recorded.partner_id], "send_sit_out_message", rest, round_no, "send_break_message",
                        tag="partner_left")
    return messages


def _replanned(recorded: Any, event: DatingEvent) -> list[Outgoing]:
    return _to(event, recorded.lost_place, "send_user_will_not_take_part_in_event")


def _skipped(recorded: Any, event: DatingEvent) -> list[Outgoing]:
    return _to(event, event.registered_user_ids, "send_user_will_not_take_part_in_event")


def _participants(event: DatingEvent) -> set[int]:
    """Placed, still registered, and not gone while the rounds ran: someone
    who left is sent nothing more of the rounds."""
    plan = event.planned
    left = set(event.left)
    return {uid for uid in (plan.placed_user_ids if plan else ()) if event.is_registered(uid) and uid not in left}


def _rules_announced(recorded: Any, event: DatingEvent) -> list[Outgoing]:
    people = _participants(event)
    messages = _to(event, people, "send_rules")
    if event.ready_check:
        messages += _to(event, people, "send_ready_for_event_request")
    return messages


def _started(recorded: Any, event: DatingEvent) -> list[Outgoing]:
    """The start: whoever was there and has no place in the re-paired plan is
    told; when nobody does (too few came to make a pair) it is all over for
    them. No-shows hear nothing more."""
    present = set(event.present_at_start)
    if not event.round_no:
        return _to(event, present, "send_final_dating_message")
    plan = event.planned
    left_out = present - (plan.placed_user_ids if plan else frozenset())
    return _to(event, left_out, "send_user_will_not_take_part_in_event") + _round_started(recorded, event)


def _round_started(recorded: Any, event: DatingEvent) -> list[Outgoing]:
    round_no = event.round_no
    plan = event.planned
    if not round_no or plan is None:
        return []
    ends_at = event.timings.round_ends_at(event.start, round_no).isoformat()
    messages: list[Outgoing] = []
    for pair in sorted(plan.pairs_in_round(round_no), key=lambda p: (p.a, p.b)):
        room = event.room_of(round_no, pair.a, pair.b)
        for me, partner in ((pair.a, pair.b), (pair.b, pair.a)):
            if room is None:
                # No room could be made in time: never a link that leads
                # nowhere. The pair rests this round and is told so: the
                # sit-out message, or the break message to a bot without it.
                rest = {"round": round_no, "ends_at": ends_at, "reason": "no_room", "partner_id": partner}
                messages.append(Outgoing(event.wire_id, me, "send_sit_out_message", rest, round_no, "send_break_message"))
                continue
            invite = {"url": room["uri"], "partner_id": partner, "round": round_no, "ends_at": ends_at}
            messages.append(Outgoing(event.wire_id, me, "invite_to_meeting", invite, round_no))
            messages.append(Outgoing(event.wire_id, me, "send_partner_profile", {"partner_id": partner}, round_no))
    # Whoever sits out is told so; a bot without the sit-out message gets
    # the break message, never silence.
    rest = {"round": round_no, "ends_at": ends_at}
    participants = _participants(event)
    resting = {s.user_id for s in plan.sit_outs(round_no)} & participants
    messages += _to(event, resting, "send_sit_out_message", rest, round_no, "send_break_message")
    # Groups whose rounds are all over wait for the others' last rounds.
    dated = {uid for pair in plan.pairs_in_round(round_no) for uid in pair.user_ids}
    done = participants - dated - resting
    messages += _to(event, done, "send_sit_out_message", {**rest, "reason": MET_ALL_PARTNERS}, round_no,
                    "send_break_message")
    return messages


def _round_ended(recorded: Any, event: DatingEvent) -> list[Outgoing]:
    if event.state is EventState.CANCELLED:
        return []  # the calls of a cancelled event ended: nothing to rate, no break, no matches to come
    round_no = recorded.round_no
    plan = event.planned
    assert plan is not None
    messages: list[Outgoing] = []
    partners = set()
    participants = _participants(event)
    for pair in sorted(plan.pairs_in_round(round_no), key=lambda p: (p.a, p.b)):
        if event.room_of(round_no, pair.a, pair.b) is None:
            continue  # they had no date this round (no room): nothing to rate, already resting
        partners |= {pair.a, pair.b}
        for me, partner in ((pair.a, pair.b), (pair.b, pair.a)):
            if me in participants:  # someone who left may still rate, unasked
                asked = {"partner_id": partner}
                messages.append(Outgoing(event.wire_id, me, "send_partner_rating_request", asked, round_no))
    if recorded.phase == Phase.BREAK.value:
        messages += _to(event, partners & participants, "send_break_message", round_no=round_no)
    else:
        messages += _to(event, participants, "send_final_dating_message")
    return messages


def _finished(recorded: Any, event: DatingEvent) -> list[Outgoing]:
    partners: dict[int, list[int]] = {}
    for a, b in event.matches:
        partners.setdefault(a, []).append(b)
        partners.setdefault(b, []).append(a)
    return [
        Outgoing(event.wire_id, uid, "send_match_message", {"matches": [{"user_id": p} for p in sorted(found)]})
        for uid, found in sorted(partners.items())
    ]


def _cancelled(recorded: Any, event: DatingEvent) -> list[Outgoing]:
    return _to(event, set(event.registered_user_ids) - set(event.left), "send_event_cancelled")


_BUILDERS = {
    "Registered": _registered,
    "ConfirmationOpened": _confirmation_opened,
    "ConfirmationReminded": _confirmation_reminded,
    "ConfirmationsReset": _confirmations_reset,
    "GroupsFormed": _groups_formed,
    "RegistrationCancelled": _withdrawn,
    "Replanned": _replanned,
    "ParticipantLeft": _participant_left,
    "Skipped": _skipped,
    "RulesAnnounced": _rules_announced,
    "Started": _started,
    "RoundStarted": _round_started,
    "RoundEnded": _round_ended,
    "Finished": _finished,
    "Cancelled": _cancelled,
}
