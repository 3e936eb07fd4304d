"""The never-again rules as pure functions: which facts keep two apart and
why, what a save adds to the pair history, what a plan records and replays,
and how the history shows it."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from datemaker.app.never_again import AskedWhenRead, NeverAgainRules, history_to_save, pairs_to_keep_apart
from datemaker.app.ports import PairFact
from datemaker.domain.pairing import Plan, reasons, replan
from datemaker.domain.profile import Profile
from datemaker.domain.timings import Timings
from datemaker.history.describe import described
from datemaker.history.load import History
from datemaker.history.render_html import render_html
from datemaker.history.render_json import history_document
from datemaker.history.render_text import render_text
from datemaker.history.timeline import build_timeline

from ..support.dating_events import AT, START, confirmed_event, replay

F, M = Profile(sex="F"), Profile(sex="M")
EITHER, MUTUAL = NeverAgainRules(), NeverAgainRules(dislike="mutual")
ROUND_1 = Timings().round_starts_at(START, 1)


def fact(kind: str, who: int, whom: int, event_id: int = 5) -> PairFact:
    return PairFact(kind, event_id, who, whom)


def test_a_report_either_way_keeps_two_apart_without_saying_who_reported():
    assert pairs_to_keep_apart([fact("report", 9, 4)], EITHER) == {(4, 9): (reasons.REPORTED,)}
    assert pairs_to_keep_apart([fact("report", 4, 9)], MUTUAL) == {(4, 9): (reasons.REPORTED,)}


@pytest.mark.parametrize("rules, one_way, both_ways", [(EITHER, True, True), (MUTUAL, False, True)])
def test_a_dislike_counts_one_way_or_only_both_ways(rules, one_way, both_ways):
    assert bool(pairs_to_keep_apart([fact("dislike", 1, 2)], rules)) is one_way
    # Each way, at two different events, is each way too.
    found = pairs_to_keep_apart([fact("dislike", 1, 2, event_id=5), fact("dislike", 2, 1, event_id=6)], rules)
    assert (found == {(1, 2): (reasons.DISLIKED,)}) is both_ways


def test_every_reason_is_kept_sorted_and_the_planned_events_own_facts_are_not_earlier_ones():
    facts = [fact("met", 2, 1), fact("met", 1, 2), fact("dislike", 2, 1), fact("report", 1, 2), fact("report", 3, 4, 8)]
    assert pairs_to_keep_apart(facts, EITHER, event_id=8) == {
        (1, 2): (reasons.DISLIKED, reasons.MET_RECENTLY, reasons.REPORTED),
    }


def test_the_store_is_asked_only_when_the_pairs_are_read():
    asked = []
    lazy = AskedWhenRead(lambda: asked.append(1) or {(1, 2): ("reported",)})
    assert asked == []
    assert dict(lazy) == {(1, 2): ("reported",)} and len(lazy) == 1 and asked == [1]


def running_event():
    event = confirmed_event(F, M, F, M)
    event.ready_check = False
    event.close_confirmation(AT, seed=1, never_meet={(1, 4): ("disliked", "met_recently")})
    event.begin(ROUND_1, seed=1)
    return event


def test_a_plan_records_the_pairs_kept_apart_and_replays_them_as_recorded():
    event = running_event()
    kept = (((1, 4), ("disliked", "met_recently")),)
    assert event.planned.kept_apart == kept
    assert all(4 not in p.user_ids or 1 not in p.user_ids for n in (1, 2) for p in event.planned.pairs_in_round(n))
    recorded = event.collect_events()
    assert recorded[-2].plan["kept_apart"] == [{"a": 1, "b": 4, "reasons": ["disliked", "met_recently"]}]
    assert replay(recorded).planned == event.planned


def test_a_plan_recorded_before_pairs_were_kept_apart_reads_with_none():
    record = running_event().planned.to_record()
    del record["kept_apart"]
    assert Plan.from_record(record).kept_apart == ()
    assert "kept_apart" not in Plan.from_record(record).to_record()  # recorded as before when empty


def test_whoever_reported_a_partner_here_is_kept_apart_from_them_in_any_later_re_plan():
    event = running_event()
    partner = event.planned.partner_of(2, 1)
    event.rate(2, partner, "report", ROUND_1 + timedelta(seconds=30))
    assert event.reported_here() == {(min(2, partner), max(2, partner)): (reasons.REPORTED,)}
    later = replan(event.planned, {1, 2, 3, 4}, 2, event.reported_here(), seed=4,
                   participants={uid: event.profile_of(uid) for uid in (1, 2, 3, 4)})
    assert ((min(2, partner), max(2, partner)), (reasons.REPORTED,)) in later.kept_apart
    assert ((1, 4), ("disliked", "met_recently")) in later.kept_apart
    assert all({2, partner} != set(p.user_ids) for n in range(2, later.rounds_count + 1) for p in later.pairs_in_round(n))


def test_a_save_adds_every_reaction_and_at_the_end_everyones_dates_to_the_pair_history():
    event = running_event()
    event.collect_events()
    pair = event.planned.pairs_in_round(1)[0]
    event.rate(pair.a, pair.b, "dislike", ROUND_1 + timedelta(seconds=30))
    event.rate(pair.a, pair.b, "like", ROUND_1 + timedelta(seconds=40))
    dates, reactions = history_to_save(event)
    assert dates == []  # the event is not over
    assert [(r.user_id, r.partner_id, r.reaction) for r in reactions] == [(pair.a, pair.b, "dislike"), (pair.a, pair.b, "like")]
    event.collect_events()
    event.rooms = {"1": {"1-2": {"uri": "u"}, "3-4": {"uri": "u"}}, "2": {"2-3": {"uri": "u"}}}  # rooms given
    event.cancel(ROUND_1 + timedelta(minutes=7))
    dates, _ = history_to_save(event)
    assert [(d.user_id, d.partners) for d in dates] == [(1, (2,)), (2, (1, 3)), (3, (2, 4)), (4, (3,))]
    assert all(d.event_id == event.wire_id and d.started_at == event.start for d in dates)


def test_the_history_names_each_pair_kept_apart_and_why():
    event = running_event()
    entries = build_timeline(event.collect_events(), ZoneInfo("Europe/Moscow"))
    lines = [line for entry, lines in described(entries, ZoneInfo("Europe/Moscow")) for line in lines
             if entry.type == "GroupsFormed"]
    assert "kept apart: 1+4 (disliked, met_recently)" in lines
    history = History(event, entries, None)
    assert "    kept apart: 1+4 (disliked, met_recently)" in render_text(history)  # the summary
    assert history_document(history)["summary"]["plan"]["kept_apart"] == [
        {"a": 1, "b": 4, "reasons": ["disliked", "met_recently"]}
    ]
    page = render_html(history)
    assert '<table id="kept-apart">' in page and "<td>1+4</td><td>disliked, met_recently</td>" in page


def test_the_plan_made_again_without_a_blocked_user_keeps_the_same_pairs_apart():
    event = confirmed_event(F, M, F, M, F, M)  # 1, 3, 5 women; 2, 4, 6 men
    event.close_confirmation(AT, seed=1, never_meet={(1, 4): ("reported",)})
    event.remove_blocked(6, AT, seed=2)  # the moderators' re-plan names no pairs
    plan = event.planned
    assert 6 not in plan.placed_user_ids and plan.kept_apart == (((1, 4), ("reported",)),)
    assert all({1, 4} != set(p.user_ids) for n in range(1, plan.rounds_count + 1) for p in plan.pairs_in_round(n))
