"""Short, stable reason codes recorded next to every pairing decision, so the
bot, the operator and later readers of the event log can tell why."""

from __future__ import annotations

# Why a confirmed person has no place in any group.
NO_COMPATIBLE_PARTNER = "no_compatible_partner"  # nobody confirmed may date them
GROUP_LIMIT_REACHED = "group_limit_reached"  # partners exist, their groups are full
NO_SHOW = "no_show"  # absent when the event (re)started
LEFT = "left"  # left the event, or was taken out of it, after groups were fixed

# Why a placed person sits out one round.
TURN_TO_SIT_OUT = "turn_to_sit_out"  # their side is larger; sit-outs go in turn
NO_FREE_PARTNER = "no_free_partner"  # their remaining partners date others this round
MET_ALL_PARTNERS = "met_all_partners"  # nobody left in the group for them to meet
# (and LEFT: out of the rounds still to come, see midway.py)

# Why a round holds the dates it holds (and comes where it comes).
BEST_SCORE_FIRST = "best_score_first"  # round 1: the best possible set of dates
FAIR_ROTATION = "fair_rotation"  # sit-outs dealt in turn; among equals, best total first
NEXT_BEST_SCORE = "next_best_score"  # nobody sits out, so rounds go by total score
FAIREST_THEN_SCORE = "fairest_sit_outs_then_score"  # forced sit-outs spread, then score
REPLANNED = "replanned"  # prefix for rounds re-paired after the event started

# How a group's rounds were built; says which guarantee holds.
ROTATION = "rotation"  # complete two-sided group: max(k, m) rounds, fair sit-outs
TWO_SIDED_COLOURING = "two_sided_colouring"  # busiest person's date count rounds
ROUND_ROBIN = "round_robin"  # someone may meet everyone: n - 1 rounds (n if n is odd)
GENERAL_COLOURING = "general_colouring"  # at most one round more than the busiest needs

# Why two people were kept apart (never paired) in a plan. A pair may carry
# several; none of them says which of the two reported or disliked the other.
REPORTED = "reported"  # one reported the other (an earlier event, or this one)
DISLIKED = "disliked"  # a dislike in an earlier event (either way, or both ways)
MET_RECENTLY = "met_recently"  # a date in one of their last few events
FORBIDDEN = "forbidden"  # the caller forbade the pair without saying why

UNPLACED_REASONS = frozenset({NO_COMPATIBLE_PARTNER, GROUP_LIMIT_REACHED, NO_SHOW, LEFT})
SIT_OUT_REASONS = frozenset({TURN_TO_SIT_OUT, NO_FREE_PARTNER, MET_ALL_PARTNERS, NO_SHOW, LEFT})


def replanned(reason: str) -> str:
    return f"{REPLANNED}:{reason}"
