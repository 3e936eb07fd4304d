"""The figures `datemaker whatif` puts side by side, as plain JSON-safe data:
for the plan that ran and for the what-if's, the groups, rounds and dates,
who got no place and who sat out (with reasons), the mean and lowest
compatibility score of the dates (each pair's score as `scoring.py` gave
it), the pairs the two plans share, and the time from the first round's start
to the last round's end; and their sums over many events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from datemaker.domain.pairing import Plan
from datemaker.domain.pairing.model import kept_apart_record
from datemaker.history.whatif import Setting, WhatIf

SCORE_DIGITS = 4
COUNTS = ("groups", "rounds", "dates", "unplaced", "sit_outs", "length_seconds")


def pairs_of(plan: Plan) -> set[tuple[int, int]]:
    return {(p.a, p.b) for n in range(1, plan.rounds_count + 1) for p in plan.pairs_in_round(n)}


def plan_document(plan: Plan) -> dict[str, Any]:
    """Groups, each round's pairs (with scores) and sit-outs (with reasons),
    who got no place and why, and the pairs kept apart."""
    rounds = []
    for n in range(1, plan.rounds_count + 1):
        rounds.append({
            "round": n,
            "pairs": [{"a": p.a, "b": p.b, "score": p.score}
                      for p in sorted(plan.pairs_in_round(n), key=lambda p: (p.a, p.b))],
            "sit_outs": [{"user_id": s.user_id, "reason": s.reason}
                         for s in sorted(plan.sit_outs(n), key=lambda s: s.user_id)],
        })
    return {
        "groups": [{"number": g.number, "user_ids": list(g.user_ids), "method": g.method} for g in plan.groups],
        "rounds": rounds,
        "unplaced": [{"user_id": u.user_id, "reason": u.reason} for u in plan.unplaced],
        "kept_apart": [kept_apart_record(item) for item in plan.kept_apart],
    }


def length(plan: Plan, setting: Setting, what: WhatIf) -> tuple[int, datetime | None, datetime | None]:
    """Seconds from the first round's start to the last round's end, with
    both instants (None without rounds), on the event's start and grace."""
    rounds = plan.rounds_count
    if not rounds:
        return 0, None, None
    timings = replace(what.event.timings, round_length=setting.round_length, break_length=setting.break_length)
    begins = timings.round_starts_at(what.event.start, 1)
    ends = timings.round_ends_at(what.event.start, rounds)
    return int((ends - begins).total_seconds()), begins, ends


def figures(plan: Plan, setting: Setting, what: WhatIf, met: set[tuple[int, int]] | None) -> dict[str, Any]:
    """One side's figures; `met`: the pairs that met then, to count the
    what-if's dates among them (None for the side that ran)."""
    scores = [p.score for n in range(1, plan.rounds_count + 1) for p in plan.pairs_in_round(n)]
    seconds, begins, ends = length(plan, setting, what)
    zone = ZoneInfo(what.event.timezone)
    return {
        "groups": len(plan.groups),
        "rounds": plan.rounds_count,
        "dates": len(scores),
        "unplaced": len(plan.unplaced),
        "sit_outs": sum(len(plan.sit_outs(n)) for n in range(1, plan.rounds_count + 1)),
        "score_mean": round(sum(scores) / len(scores), SCORE_DIGITS) if scores else None,
        "score_min": round(min(scores), SCORE_DIGITS) if scores else None,
        "score_sum": sum(scores),  # for sums over events; not shown
        "same_pairs": len(pairs_of(plan) & met) if met is not None else None,
        "length_seconds": seconds,
        "first_round_start": begins.astimezone(zone).isoformat() if begins else None,
        "last_round_end": ends.astimezone(zone).isoformat() if ends else None,
    }


def sides(what: WhatIf) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the figures of what ran, those of the what-if)."""
    return figures(what.ran, what.then, what, None), figures(what.plan, what.now, what, pairs_of(what.ran))


def public(found: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in found.items() if k != "score_sum"}


def summed(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Totals of the counts over events, the mean score over all their dates,
    the lowest score of any, and the means per event."""
    count = len(rows)
    dates = sum(r["dates"] for r in rows)
    lowest = [r["score_min"] for r in rows if r["score_min"] is not None]
    total: dict[str, Any] = {name: sum(r[name] for r in rows) for name in COUNTS}
    same = [r["same_pairs"] for r in rows if r["same_pairs"] is not None]
    total["same_pairs"] = sum(same) if same else None
    total["score_mean"] = round(sum(r["score_sum"] for r in rows) / dates, SCORE_DIGITS) if dates else None
    total["score_min"] = min(lowest) if lowest else None
    total["per_event"] = {
        name: round(total[name] / count, 2) if count else None for name in ("rounds", "dates", "length_seconds")
    }
    return total
