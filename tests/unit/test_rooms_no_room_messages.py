"""A pair whose room could not be made in time gets no link, and is told it
rests this round: the sit-out message when the bot knows it, else the
existing break message. Never an invitation that leads nowhere."""

from __future__ import annotations

from datemaker.app.bot_messages import messages_for

from ..support.dating_events import AT, START, ANNA, BORIS, confirmed_event


def started_with_one_room_short():
    event = confirmed_event(ANNA, BORIS, ANNA, BORIS)
    event.ready_check = False
    event.close_confirmation(AT, seed=1)
    for round_no, count in event.rooms_needed().items():
        count -= 1 if round_no == 1 else 0
        event.add_rooms(round_no, [{"space": f"spaces/{round_no}-{i}", "uri": f"https://meet.google.com/{round_no}-{i}"} for i in range(count)], AT)
    event.collect_events()
    event.begin(START, seed=1)
    (started,) = event.collect_events()
    pairs = sorted(event.planned.pairs_in_round(1), key=lambda p: (p.a, p.b))
    return event, started, pairs


def by_user(messages):
    found: dict[int, list[tuple[str, object]]] = {}
    for m in messages:
        found.setdefault(m.user_id, []).append((m.command, m.data))
    return found


def test_the_pair_without_a_room_gets_a_sit_out_with_the_reason_and_no_link():
    event, started, (with_room, without) = started_with_one_room_short()
    sent = by_user(messages_for(started, event, extensions={"send_sit_out_message"}))
    ends_at = event.timings.round_ends_at(START, 1).isoformat()
    for me, partner in ((without.a, without.b), (without.b, without.a)):
        assert sent[me] == [("send_sit_out_message", {"round": 1, "ends_at": ends_at, "reason": "no_room", "partner_id": partner})]
    assert [c for c, _ in sent[with_room.a]] == ["invite_to_meeting", "send_partner_profile"]


def test_a_bot_without_the_sit_out_message_gets_the_break_message_instead():
    event, started, (_, without) = started_with_one_room_short()
    messages = [m for m in messages_for(started, event) if m.user_id in without.user_ids]
    assert [(m.command, m.data, m.body) for m in messages] == [("send_break_message", None, b"send_break_message")] * 2
    assert messages[0].message_id == f"dm:17:1:send_break_message:{without.a}"


def test_at_the_end_of_the_round_only_pairs_that_had_a_room_are_asked_to_rate():
    event, _, (with_room, without) = started_with_one_room_short()
    event.end_round(START)
    (ended,) = event.collect_events()
    sent = by_user(messages_for(ended, event))
    assert without.a not in sent and without.b not in sent  # no rating, no second break message
    assert [c for c, _ in sent[with_room.a]] == ["send_partner_rating_request", "send_break_message"]
