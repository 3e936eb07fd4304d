"""Someone leaves an event (or is taken out of it) at each stage: a withdrawn
registration before confirmation closes, a whole new plan in READY, and
while the rounds run the rounds still to come re-paired without them; what
the bot is told, the rooms the new pairs need, and replay."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from datemaker.app.bot_messages import messages_for
from datemaker.domain.dating_event import REMOVED, DatingEvent
from datemaker.domain.errors import AlreadyLeft, EventOver, NotParticipant, NotRegistered, RoundsOver
from datemaker.domain.lifecycle import EventState
from datemaker.domain.pairing import reasons
from datemaker.domain.profile import Profile
from datemaker.history.describe import described
from datemaker.history.facts import summary
from datemaker.history.render_text import summary_lines
from datemaker.history.timeline import build_timeline

from ..support.dating_events import AT, START, new_event, refused, replay

MEN, WOMEN = [1, 2, 3, 4, 5], [6, 7, 8, 9, 10]
EXTENSIONS = {"send_sit_out_message"}


def sex(uid: int) -> Profile:
    return Profile(sex="M" if uid in MEN else "F" if uid in WOMEN else None)  # others: nobody may date them


def sent(event, recorded, extensions=EXTENSIONS):
    return [(m.user_id, m.command, m.data) for m in messages_for(recorded, event, extensions)]


def rooms_for(event: DatingEvent) -> None:
    for round_no, count in event.rooms_needed().items():
        made = len(event.room_pool.get(str(round_no), []))
        names = [f"{round_no}-{made + i}" for i in range(count)]
        event.add_rooms(round_no, [{"space": f"spaces/{n}", "uri": f"https://meet.google.com/r{n}"} for n in names], AT)


def ready(people=(*MEN, *WOMEN)) -> DatingEvent:
    event = new_event(users_limit=10, ready_check=False)
    for uid in people:
        event.register(uid, sex(uid), AT)
    event.open_confirmation(AT)
    for uid in people:
        event.confirm_registration(uid, AT)
    event.close_confirmation(AT, seed=1)
    rooms_for(event)
    return event


def in_round_two() -> DatingEvent:
    """Ten people, five rounds; round 2 under way."""
    event = ready()
    t = event.timings
    event.begin(t.round_starts_at(START, 1), seed=1)
    event.end_round(t.round_ends_at(START, 1))
    event.start_round(t.round_starts_at(START, 2))
    event.collect_events()
    return event


def dates(event: DatingEvent) -> list[tuple[int, tuple[int, int]]]:
    plan = event.planned
    return [(n, p.user_ids) for n in range(1, plan.rounds_count + 1) for p in plan.pairs_in_round(n)]


LEAVER = 3
DURING_ROUND_TWO = START + timedelta(minutes=6, seconds=30)


def test_before_confirmation_closes_a_leave_is_a_withdrawn_registration():
    event = new_event()
    event.register(1, sex(1), AT)
    event.register(2, sex(2), AT)
    event.leave(1, AT, seed=1)  # the user's own: as cancel_registration
    event.leave(2, AT, seed=1, reason=REMOVED, note="fake_profile")  # an operator's
    own, theirs = event.collect_events()[-2:]
    assert type(own).__name__ == type(theirs).__name__ == "RegistrationCancelled"
    assert (own.reason, theirs.reason, theirs.note) == (None, "removed", "fake_profile")
    assert event.registered_user_ids == [] and event.left == ()
    assert sent(event, own) == []  # the reply says it
    assert sent(event, theirs) == [(2, "send_user_will_not_take_part_in_event", None)]
    refused(event, lambda: event.leave(1, AT, seed=1), NotRegistered)


def test_in_ready_a_leave_makes_the_whole_plan_again_without_them():
    event = ready()
    event.collect_events()
    event.leave(LEAVER, AT, seed=4)
    cancelled, replanned = event.collect_events()
    assert cancelled.reason is None and replanned.reason == "left" and replanned.removed == [LEAVER]
    plan = event.planned
    assert plan.unplaced_reason(LEAVER) == reasons.LEFT and LEAVER not in plan.placed_user_ids
    assert plan.placed_user_ids == {*MEN, *WOMEN} - {LEAVER} and replanned.lost_place == []
    assert plan.rounds_count == 5  # four men meet five women: five rounds, a woman resting in each
    again = replay([*ready().collect_events(), cancelled, replanned])
    assert again.plan == event.plan and not again.is_registered(LEAVER)


def test_while_the_rounds_run_the_rounds_still_to_come_are_re_paired_without_them():
    event = in_round_two()
    before = event.planned
    partner = before.partner_of(LEAVER, 2)
    event.leave(LEAVER, DURING_ROUND_TWO, seed=5)
    (left,) = event.collect_events()
    assert type(left).__name__ == "ParticipantLeft"
    assert (left.user_id, left.reason, left.round_no, left.from_round, left.partner_id) == (LEAVER, None, 2, 3, partner)
    plan = event.planned
    assert event.left == [LEAVER] and event.is_registered(LEAVER) and not event.takes_part(LEAVER)
    # Rounds already started stay exactly as they were, the leaver's date of round 2 included.
    assert [plan.pairs_in_round(n) for n in (1, 2)] == [before.pairs_in_round(n) for n in (1, 2)]
    assert plan.rounds_count == before.rounds_count == 5
    met = [pair for _, pair in dates(event)]
    assert len(met) == len(set(met)), "someone meets someone twice"
    for n in (3, 4, 5):
        assert all(LEAVER not in p.user_ids for p in plan.pairs_in_round(n))
        assert (LEAVER, reasons.LEFT) in {(s.user_id, s.reason) for s in plan.sit_outs(n)}
        resting = {s.user_id for s in plan.sit_outs(n)} - {LEAVER}
        # Nobody alone in a later round who could have had a date: one woman rests.
        assert len(resting) == 1 and resting <= set(WOMEN)
    # Every man still there meets every woman, each once.
    assert set(met) == {(m, w) for m in MEN if m != LEAVER for w in WOMEN} | {
        pair for n in (1, 2) for pair in (p.user_ids for p in before.pairs_in_round(n)) if LEAVER in pair}
    assert replay([*in_round_two_history(), left]).plan == event.plan


def in_round_two_history() -> list:
    event = ready()
    history = list(event.collect_events())
    t = event.timings
    event.begin(t.round_starts_at(START, 1), seed=1)
    event.end_round(t.round_ends_at(START, 1))
    event.start_round(t.round_starts_at(START, 2))
    return history + list(event.collect_events())


def test_who_is_told_what_when_someone_leaves_in_the_middle_of_a_round():
    event = in_round_two()
    partner = event.planned.partner_of(LEAVER, 2)
    event.leave(LEAVER, DURING_ROUND_TWO, seed=5)
    (left,) = event.collect_events()
    ends = event.timings.round_ends_at(START, 2).isoformat()
    rest = {"round": 2, "ends_at": ends, "reason": "partner_left"}
    assert sent(event, left) == [(partner, "send_sit_out_message", rest)]  # their own leave: the reply says it
    without = messages_for(left, event, ())
    assert [(m.user_id, m.command, m.message_id) for m in without] == [
        (partner, "send_break_message", f"dm:17:2:send_break_message:{partner}:partner_left")]

    event.end_round(event.timings.round_ends_at(START, 2))
    (ended,) = event.collect_events()
    told = sent(event, ended)
    assert (partner, "send_partner_rating_request", {"partner_id": LEAVER}) in told  # their date was held
    assert all(uid != LEAVER for uid, _, _ in told)  # the leaver is sent nothing more of the rounds

    event.start_round(event.timings.round_starts_at(START, 3))
    (started,) = event.collect_events()
    told = sent(event, started)
    plan = event.planned
    assert all(uid != LEAVER for uid, _, _ in told)
    for pair in plan.pairs_in_round(3):
        for me, them in ((pair.a, pair.b), (pair.b, pair.a)):
            invite = next(data for uid, command, data in told if uid == me and command == "invite_to_meeting")
            assert invite["partner_id"] == them and invite["round"] == 3
    resting = {s.user_id for s in plan.sit_outs(3)} - {LEAVER}
    assert {uid for uid, command, _ in told if command == "send_sit_out_message"} == resting


def test_someone_taken_out_by_an_operator_is_told_they_will_not_take_part():
    event = in_round_two()
    event.leave(LEAVER, DURING_ROUND_TWO, seed=5, reason=REMOVED, note="harassment")
    (left,) = event.collect_events()
    assert (left.reason, left.note) == ("removed", "harassment")
    assert (LEAVER, "send_user_will_not_take_part_in_event", None) in sent(event, left)
    zone = ZoneInfo("Europe/Moscow")
    _, lines = described(build_timeline([*in_round_two_history(), left], zone), zone)[-1]
    assert lines[0].startswith(f"user {LEAVER} taken out (removed: harassment) during round 2")


def test_new_pairs_of_later_rounds_get_rooms_and_rooms_made_for_dropped_pairs_stay_unused():
    event = in_round_two()
    pooled = {n: list(event.room_pool[str(n)]) for n in (3, 4, 5)}
    assert [len(rooms) for rooms in pooled.values()] == [5, 5, 5]
    event.leave(LEAVER, DURING_ROUND_TWO, seed=5)
    assert event.rooms_needed() == {}  # four dates a round now: the rooms made ahead suffice
    slow = in_round_two()  # the same, with Meet slow: no rooms made yet for rounds 4 and 5
    del slow.room_pool["4"], slow.room_pool["5"]
    slow.leave(LEAVER, DURING_ROUND_TWO, seed=5)
    assert slow.rooms_needed() == {4: 4, 5: 4}  # what the clock's room jobs make
    rooms_for(slow)
    t = slow.timings
    given = []
    for n in (3, 4, 5):
        slow.end_round(t.round_ends_at(START, n - 1))
        slow.start_round(t.round_starts_at(START, n))
        assert all(slow.room_of(n, p.a, p.b) for p in slow.planned.pairs_in_round(n)), "a date without a room"
        given += [room["space"] for room in slow.rooms[str(n)].values()]
    earlier = [room["space"] for n in (1, 2) for room in slow.rooms[str(n)].values()]
    assert len(given + earlier) == len(set(given + earlier)), "a room given to two dates"
    assert len(given) == 12 and pooled[3][4]["space"] not in given  # made for a date that is gone: unused


def test_leaving_twice_records_nothing_the_second_time():
    event = in_round_two()
    event.leave(LEAVER, DURING_ROUND_TWO, seed=5)
    event.collect_events()
    refused(event, lambda: event.leave(LEAVER, DURING_ROUND_TWO, seed=5), AlreadyLeft)
    assert not event.may_leave(LEAVER)


def test_a_leave_is_refused_for_someone_not_in_the_running_event_and_once_the_rounds_are_over():
    event = ready(people=(*MEN, *WOMEN, 11))  # 11: registered, confirmed, no place
    t = event.timings
    event.begin(t.round_starts_at(START, 1), seed=1)
    assert event.planned.unplaced_reason(11) == reasons.NO_COMPATIBLE_PARTNER
    refused(event, lambda: event.leave(11, START, seed=1), NotParticipant)
    refused(event, lambda: event.leave(42, START, seed=1), NotRegistered)
    for n in range(1, event.planned.rounds_count + 1):
        if n > 1:
            event.start_round(t.round_starts_at(START, n))
        event.end_round(t.round_ends_at(START, n))
    assert event.phase == "final"
    refused(event, lambda: event.leave(1, START + timedelta(hours=1), seed=1), RoundsOver)
    event.finish(event.ratings_lock_at())
    assert event.state is EventState.FINISHED
    refused(event, lambda: event.leave(1, START + timedelta(hours=2), seed=1), EventOver)


@pytest.mark.parametrize("during", ["round", "break"])
def test_a_leave_in_the_break_re_pairs_from_the_next_round_and_rests_nobody_now(during):
    event = in_round_two()
    if during == "break":
        event.end_round(event.timings.round_ends_at(START, 2))
        event.collect_events()
    event.leave(LEAVER, DURING_ROUND_TWO, seed=5)
    (left,) = event.collect_events()
    assert left.from_round == 3
    assert (left.partner_id is None) == (during == "break")


def test_the_history_says_who_left_when_and_how_the_rounds_to_come_were_re_paired():
    history = in_round_two_history()
    event = replay(history)
    partner = event.planned.partner_of(LEAVER, 2)
    event.leave(LEAVER, DURING_ROUND_TWO, seed=5)
    history += event.collect_events()
    zone = ZoneInfo("Europe/Moscow")
    entry, lines = described(build_timeline(history, zone), zone)[-1]
    assert entry.type == "ParticipantLeft"
    assert lines[0] == (f"user {LEAVER} left during round 2; {partner} rests for the rest of it;"
                        " rounds 3-5 re-paired without them")
    assert [line.split(":")[0].strip() for line in lines[1:]] == [f"group 1 round {n}" for n in (3, 4, 5)]
    assert all(f"{LEAVER} (left)" in line for line in lines[1:])
    facts = summary(event)
    assert facts["left"] == [LEAVER]
    assert f"left while the rounds ran: {LEAVER}" in summary_lines(facts)
