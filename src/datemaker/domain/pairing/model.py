"""What pairing decides, as frozen values that survive a trip through JSON.

A `Plan` is recorded as one domain event and replay reads it back as it was;
nothing here ever recomputes it. Records hold only dicts with str keys, lists,
str, int, float, bool and None."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

RECORD_VERSION = 1


@dataclass(frozen=True)
class Pair:
    """One date: two user ids (smaller first) and how well they match."""

    a: int
    b: int
    score: float

    def __post_init__(self) -> None:
        if self.a >= self.b:
            raise ValueError("a pair holds two different people, smaller id first")

    @property
    def user_ids(self) -> tuple[int, int]:
        return (self.a, self.b)

    def partner_of(self, user_id: int) -> int | None:
        if user_id == self.a:
            return self.b
        if user_id == self.b:
            return self.a
        return None

    def to_record(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "score": self.score}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Pair:
        return cls(a=int(record["a"]), b=int(record["b"]), score=float(record["score"]))


@dataclass(frozen=True)
class SitOut:
    user_id: int
    reason: str

    def to_record(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "reason": self.reason}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> SitOut:
        return cls(user_id=int(record["user_id"]), reason=str(record["reason"]))


@dataclass(frozen=True)
class Round:
    number: int  # 1-based; every group's round n runs at the same time
    pairs: tuple[Pair, ...]
    sit_outs: tuple[SitOut, ...]
    reason: str  # why these dates, in this place of the schedule

    @property
    def total_score(self) -> float:
        return sum(pair.score for pair in self.pairs)

    def to_record(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "reason": self.reason,
            "pairs": [pair.to_record() for pair in self.pairs],
            "sit_outs": [sit_out.to_record() for sit_out in self.sit_outs],
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Round:
        return cls(
            number=int(record["number"]),
            pairs=tuple(Pair.from_record(item) for item in record["pairs"]),
            sit_outs=tuple(SitOut.from_record(item) for item in record["sit_outs"]),
            reason=str(record["reason"]),
        )


@dataclass(frozen=True)
class Group:
    number: int  # 1-based
    user_ids: tuple[int, ...]  # ascending
    rounds: tuple[Round, ...]  # ascending round numbers
    method: str  # how the rounds were built (see reasons.py)

    def round(self, round_no: int) -> Round | None:
        return next((item for item in self.rounds if item.number == round_no), None)

    def to_record(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "user_ids": list(self.user_ids),
            "method": self.method,
            "rounds": [item.to_record() for item in self.rounds],
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Group:
        return cls(
            number=int(record["number"]),
            user_ids=tuple(int(uid) for uid in record["user_ids"]),
            rounds=tuple(Round.from_record(item) for item in record["rounds"]),
            method=str(record["method"]),
        )


@dataclass(frozen=True)
class Unplaced:
    user_id: int
    reason: str

    def to_record(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "reason": self.reason}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Unplaced:
        return cls(user_id=int(record["user_id"]), reason=str(record["reason"]))


# Two people the plan never pairs, and why (reasons.py): ((a, b), reasons), a
# smaller id first and reasons sorted, never empty. A plain tuple: an event of
# 10,000 people may hold 50,000, taken as they are from the pairing's mapping.
KeptApart = tuple[tuple[int, int], tuple[str, ...]]


def kept_apart_record(item: KeptApart) -> dict[str, Any]:
    (a, b), why = item
    return {"a": a, "b": b, "reasons": list(why)}


@dataclass(frozen=True)
class Plan:
    """Groups with their rounds, plus everyone who got no place and why, and
    the pairs among its people that it kept apart and why."""

    groups: tuple[Group, ...]
    unplaced: tuple[Unplaced, ...]  # ascending user id
    users_limit: int
    seed: int
    reference_date: date
    kept_apart: tuple[KeptApart, ...] = ()  # ascending (a, b)

    # --- reading the plan ------------------------------------------------

    @property
    def rounds_count(self) -> int:
        return max(self._rounds_by_number, default=0)

    @property
    def placed_user_ids(self) -> frozenset[int]:
        return frozenset(self._group_by_user)

    @property
    def unplaced_user_ids(self) -> frozenset[int]:
        return frozenset(item.user_id for item in self.unplaced)

    def group_of(self, user_id: int) -> Group | None:
        return self._group_by_user.get(user_id)

    def unplaced_reason(self, user_id: int) -> str | None:
        return next((item.reason for item in self.unplaced if item.user_id == user_id), None)

    def pairs_in_round(self, round_no: int) -> tuple[Pair, ...]:
        """Every date of round `round_no`, across all groups (they run in parallel)."""
        return tuple(pair for item in self._rounds_by_number.get(round_no, ()) for pair in item.pairs)

    def sit_outs(self, round_no: int) -> tuple[SitOut, ...]:
        """Who sits out round `round_no` in groups that still run that round."""
        return tuple(sit for item in self._rounds_by_number.get(round_no, ()) for sit in item.sit_outs)

    def partner_of(self, user_id: int, round_no: int) -> int | None:
        return self._partner_by_round.get((user_id, round_no))

    def dates_of(self, user_id: int) -> tuple[tuple[int, int], ...]:
        """(round number, partner) for each date of `user_id`, in round order."""
        group = self.group_of(user_id)
        if group is None:
            return ()
        found = ((item.number, self.partner_of(user_id, item.number)) for item in group.rounds)
        return tuple((number, partner) for number, partner in found if partner is not None)

    # Look-up tables, built on first use; not part of equality or records.
    @cached_property
    def _group_by_user(self) -> dict[int, Group]:
        return {uid: group for group in self.groups for uid in group.user_ids}

    @cached_property
    def _rounds_by_number(self) -> dict[int, list[Round]]:
        by_number: dict[int, list[Round]] = {}
        for group in self.groups:
            for item in group.rounds:
                by_number.setdefault(item.number, []).append(item)
        return by_number

    @cached_property
    def _partner_by_round(self) -> dict[tuple[int, int], int]:
        return {
            (uid, number): partner
            for number, rounds in self._rounds_by_number.items()
            for item in rounds
            for pair in item.pairs
            for uid, partner in ((pair.a, pair.b), (pair.b, pair.a))
        }

    # --- records -----------------------------------------------------------

    @cached_property
    def record(self) -> dict[str, Any]:
        """`to_record()`, made once (a plan worked out ahead is recorded at a
        deadline); the dict is recorded as it is, never to be changed."""
        return self.to_record()

    def to_record(self) -> dict[str, Any]:
        record = {
            "version": RECORD_VERSION,
            "users_limit": self.users_limit,
            "seed": self.seed,
            "reference_date": self.reference_date.isoformat(),
            "groups": [group.to_record() for group in self.groups],
            "unplaced": [item.to_record() for item in self.unplaced],
        }
        if self.kept_apart:  # absent otherwise, as in plans recorded before it existed
            record["kept_apart"] = [{"a": a, "b": b, "reasons": list(why)} for (a, b), why in self.kept_apart]
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Plan:
        if record.get("version") != RECORD_VERSION:
            raise ValueError(f"unknown plan record version {record.get('version')!r}")
        return cls(
            groups=tuple(Group.from_record(item) for item in record["groups"]),
            unplaced=tuple(Unplaced.from_record(item) for item in record["unplaced"]),
            users_limit=int(record["users_limit"]),
            seed=int(record["seed"]),
            reference_date=date.fromisoformat(record["reference_date"]),
            # Inline, not per item through a function: 50,000 of them in a big event.
            kept_apart=tuple(((int(k["a"]), int(k["b"])), tuple(k["reasons"])) for k in record.get("kept_apart", ())),
        )
