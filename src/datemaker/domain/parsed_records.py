"""Recorded dicts read back as value objects, remembered by identity.

The clock and the relay read an event's plan and timings many times per
step. A recorded dict is replaced by each change, never changed in place,
and the values read from it are frozen, so one reading per dict is enough.
Kept outside the aggregate, so snapshots and equality ignore it."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

KEPT = 50_000
V = TypeVar("V")

_read: OrderedDict[int, tuple[Any, Any]] = OrderedDict()


def remember(record: Any, value: Any) -> Any:
    """`record` reads back as `value`; returns `record`."""
    _read[id(record)] = (record, value)  # holding the record keeps its id unique
    if len(_read) > KEPT:
        _read.popitem(last=False)
    return record


def parsed(record: Any, parse: Callable[[Any], V]) -> V:
    """`parse(record)`, once per record object."""
    hit = _read.get(id(record))
    if hit is not None and hit[0] is record:
        return hit[1]  # type: ignore[no-any-return]
    value = parse(record)
    remember(record, value)
    return value
