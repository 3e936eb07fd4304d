"""Never again: the pairs an event's plan must keep apart, from what earlier
events recorded (README, Moderation):

- one reported the other, at any earlier event;
- a dislike at any earlier event: either way (`either`, the default), or
  each way (`mutual`: each has disliked the other, at the same event or not);
- a date at one of the last `remeet_after_events` events either of the two
  had a date at (0 turns the rule off).

The facts are the store's pair history (`StoreRecorder.pair_history`),
written in the same transaction as the events that make them, so it is never
behind the log: each person's latest reaction to each partner per event, and,
once an event is over, whom each person had a date with there (the pairs
given a room when their round started); one row per person and event, written
at the end, keeps it off the round starts, where a thousand events save at once. The plan records
the pairs it kept apart and why (`Plan.kept_apart`), so replay never asks
again, and which of two people reported or disliked the other stays out of it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from datemaker.app.ports import DatesHeld, PairFact, ReactionGiven, StoreRecorder
from datemaker.domain.dating_event import DatingEvent
from datemaker.domain.pairing import KeptApartPairs, reasons

Pair = tuple[int, int]
PairsApart = KeptApartPairs  # normalised, reasons sorted: the pairing takes it as it is


@dataclass(frozen=True)
class NeverAgainRules:
    dislike: Literal["either", "mutual"] = "either"
    remeet_after_events: int = 3  # 0: people may meet again at the next event


def pairs_to_keep_apart(facts: Iterable[PairFact], rules: NeverAgainRules, event_id: int | None = None) -> PairsApart:
    """Each pair the facts forbid, with its reasons; facts of `event_id`
    itself (the event being planned) are not earlier ones."""
    found: dict[Pair, set[str]] = {}
    disliked: set[tuple[int, int]] = set()  # (who, whom)
    for fact in facts:
        if fact.event_id == event_id or fact.user_id == fact.partner_id:
            continue
        pair = (min(fact.user_id, fact.partner_id), max(fact.user_id, fact.partner_id))
        if fact.kind == "report":
            found.setdefault(pair, set()).add(reasons.REPORTED)
        elif fact.kind == "met":
            found.setdefault(pair, set()).add(reasons.MET_RECENTLY)
        elif fact.kind == "dislike":
            disliked.add((fact.user_id, fact.partner_id))
    for who, whom in disliked:
        if rules.dislike == "either" or (whom, who) in disliked:
            found.setdefault((min(who, whom), max(who, whom)), set()).add(reasons.DISLIKED)
    return KeptApartPairs((pair, tuple(sorted(why))) for pair, why in sorted(found.items()))


def history_to_save(event: DatingEvent) -> tuple[list[DatesHeld], list[ReactionGiven]]:
    """The pair history the event's unsaved changes make: the reactions given
    and, when the event ends (finished, or cancelled), everyone's dates there."""
    dates: list[DatesHeld] = []
    reactions = []
    for change in event.pending_events:
        if isinstance(change, DatingEvent.PartnerRated):
            reactions.append(ReactionGiven(event.wire_id, change.user_id, change.partner_id, change.reaction, change.at))
        elif isinstance(change, (DatingEvent.Finished, DatingEvent.Cancelled)):
            partners: dict[int, set[int]] = {}
            for given in event.rooms.values():
                for key in given:
                    a, b = (int(uid) for uid in key.split("-"))
                    partners.setdefault(a, set()).add(b)
                    partners.setdefault(b, set()).add(a)
            dates = [DatesHeld(event.wire_id, uid, tuple(sorted(them)), event.start)
                     for uid, them in sorted(partners.items())]
    return dates, reactions


def pair_history_to_save(objs: Iterable[object]) -> dict[str, list[Any]]:
    """`history_to_save` of every dating event among `objs`, as the save's
    keyword lists (`dates_held=`, `reactions=`)."""
    dates: list[Any] = []
    reactions: list[Any] = []
    for obj in objs:
        if isinstance(obj, DatingEvent):
            more_dates, more_reactions = history_to_save(obj)
            dates += more_dates
            reactions += more_reactions
    return {"dates_held": dates, "reactions": reactions}


class HasStore(Protocol):
    @property
    def store(self) -> StoreRecorder: ...


class NeverAgain:
    """What the store's pair history forbids, for events about to be planned."""

    def __init__(self, app: HasStore, rules: NeverAgainRules | None = None) -> None:
        self._app = app
        self._rules = rules

    @property
    def rules(self) -> NeverAgainRules:
        # The application's own, set at start from the settings; the defaults otherwise.
        return self._rules or getattr(self._app, "never_again", None) or NeverAgainRules()

    def for_events(self, events: Sequence[DatingEvent]) -> dict[int, PairsApart]:
        """The pairs to keep apart among each event's confirmed people (one query for all)."""
        people = {event.wire_id: frozenset(event.confirmed_user_ids) for event in events}
        everyone = sorted(frozenset().union(*people.values())) if people else []
        rules = self.rules
        facts = self._app.store.pair_history(everyone, rules.remeet_after_events) if len(everyone) > 1 else []
        found = {}
        for event in events:
            inside = people[event.wire_id]
            mine = [f for f in facts if f.user_id in inside and f.partner_id in inside]
            found[event.wire_id] = pairs_to_keep_apart(mine, rules, event.wire_id)
        return found

    def when_read(self, event: DatingEvent) -> AskedWhenRead:
        """The same for one event, asked of the store only if the plan is made
        (most steps plan nothing), on the event as it is then."""
        return AskedWhenRead(lambda: self.for_events([event])[event.wire_id])


class AskedWhenRead(Mapping[Pair, tuple[str, ...]]):
    def __init__(self, ask: Callable[[], PairsApart]) -> None:
        self._ask = ask
        self._found: PairsApart | None = None

    def _pairs(self) -> PairsApart:
        if self._found is None:
            self._found = self._ask()
        return self._found

    def __getitem__(self, pair: Pair) -> tuple[str, ...]:
        return self._pairs()[pair]

    def __iter__(self) -> Iterator[Pair]:
        return iter(self._pairs())

    def __len__(self) -> int:
        return len(self._pairs())
