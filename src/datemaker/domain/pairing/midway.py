"""Re-pairing while the rounds run, when someone leaves (or is taken out).

`without(plan, leaving, staying, from_round, ...)` gives the plan the rest
of the event follows:

- every round before `from_round` (the one under way included) stays exactly
  as it was: the dates held are facts;
- only the group of the one leaving is re-paired (`replan` on that group
  alone): its members still there meet every partner they may date and have
  not met yet exactly once, never anyone twice, never a pair kept apart
  (those the plan kept apart and `forbidden`); whoever is left without a
  partner in a round sits out with the usual reason. Other groups keep their
  schedule: nothing changed for them;
- whoever left sits out every later round with reason `left`;
- the event keeps its length: a re-paired group that would need more rounds
  than the event has keeps its dates instead, less the leaver's (their
  partners sit out); one that needs fewer, when it set the event's length,
  ends with rounds without dates (everyone sits out, `met_all_partners`), so
  the timeline, the ratings lock and the end people were told stay.

Pure: the same inputs and seed give the same plan."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace

from datemaker.domain.pairing import reasons
from datemaker.domain.pairing.compatibility import Compatibility, NeverMeet, kept_among, opposite_sex, pairs_kept_apart
from datemaker.domain.pairing.model import Group, Plan, Round, SitOut
from datemaker.domain.pairing.replan import replan
from datemaker.domain.profile import Profile


def without(
    plan: Plan,
    leaving: int,
    staying: Iterable[int],
    from_round: int,
    forbidden: NeverMeet = (),
    seed: int = 0,
    *,
    participants: Mapping[int, Profile],
    compatibility: Compatibility = opposite_sex,
) -> Plan:
    """The plan from `from_round` on without `leaving` (and without anyone
    else of their group not in `staying`, who left earlier). `participants`:
    the profile snapshots of the group's members, as the plan was made."""
    group = plan.group_of(leaving)
    if group is None or not any(item.number >= from_round for item in group.rounds):
        return plan  # nothing still to come for their group
    still = frozenset(staying)
    present = frozenset(uid for uid in group.user_ids if uid in still and uid != leaving)
    alone = replace(plan, groups=(group,), unplaced=())
    redone = replan(alone, present, from_round, forbidden, seed, participants=participants,
                    compatibility=compatibility).groups[0]
    if _last(redone) > plan.rounds_count:
        redone = _dates_kept(group, present, from_round)
    redone = _absent_left(redone, present, from_round)
    others = max((_last(g) for g in plan.groups if g.number != group.number), default=0)
    if others < plan.rounds_count:  # this group sets the event's length: it keeps it
        redone = _padded(redone, present, plan.rounds_count)
    apart = pairs_kept_apart(dict(plan.kept_apart), forbidden)
    return replace(
        plan,
        groups=tuple(redone if g.number == group.number else g for g in plan.groups),
        seed=seed,
        kept_apart=kept_among(apart, plan.placed_user_ids | plan.unplaced_user_ids),
    )


def _dates_kept(group: Group, present: frozenset[int], from_round: int) -> Group:
    """The group's own schedule, less every date of someone not present."""
    later = Counter(uid for item in group.rounds if item.number >= from_round
                    for pair in item.pairs if set(pair.user_ids) <= present for uid in pair.user_ids)
    rounds = []
    for item in group.rounds:
        if item.number < from_round:
            rounds.append(item)
            continue
        kept = tuple(pair for pair in item.pairs if set(pair.user_ids) <= present)
        later.subtract(uid for pair in kept for uid in pair.user_ids)
        seated = {uid for pair in kept for uid in pair.user_ids}
        turn = {s.user_id for s in item.sit_outs if s.reason == reasons.TURN_TO_SIT_OUT}
        sit_outs = tuple(
            SitOut(uid, reasons.TURN_TO_SIT_OUT if uid in turn
                   else reasons.NO_FREE_PARTNER if later[uid] > 0 else reasons.MET_ALL_PARTNERS)
            for uid in group.user_ids if uid not in seated
        )
        rounds.append(Round(item.number, kept, sit_outs, _replanned(item.reason)))
    return replace(group, rounds=tuple(rounds), method=_replanned(group.method))


def _replanned(reason: str) -> str:
    return reason if reason.startswith(reasons.REPLANNED) else reasons.replanned(reason)


def _last(group: Group) -> int:
    return max((item.number for item in group.rounds), default=0)


def _absent_left(group: Group, present: frozenset[int], from_round: int) -> Group:
    rounds = tuple(
        item if item.number < from_round else replace(item, sit_outs=tuple(
            s if s.user_id in present else SitOut(s.user_id, reasons.LEFT) for s in item.sit_outs))
        for item in group.rounds
    )
    return replace(group, rounds=rounds)


def _padded(group: Group, present: frozenset[int], rounds_count: int) -> Group:
    """Rounds without dates up to `rounds_count`."""
    last = _last(group)
    if not group.rounds or last >= rounds_count:
        return group
    idle = tuple(
        Round(number, (), tuple(SitOut(uid, reasons.MET_ALL_PARTNERS if uid in present else reasons.LEFT)
                                for uid in group.user_ids), reasons.replanned(reasons.MET_ALL_PARTNERS))
        for number in range(last + 1, rounds_count + 1)
    )
    return replace(group, rounds=group.rounds + idle)
