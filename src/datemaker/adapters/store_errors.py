"""The event store adapters' one translation of failure: a driver's (or the
eventsourcing library's wrapping of a driver's) error becomes the port's
`StoreUnavailable`, so no use case knows which database it talks to. A
conflict (IntegrityError) is not a failure: optimistic concurrency is the
use cases' business, and it passes through untouched."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from eventsourcing.persistence import IntegrityError, PersistenceError

from datemaker.app.ports import StoreUnavailable

C = TypeVar("C", bound=type)

# Every public operation the application calls on a recorder.
RECORDER_OPERATIONS = (
    "insert_events", "select_events", "select_notifications", "max_notification_id",
    "claim_due", "next_due_at", "select_events_after", "outbox_position", "set_outbox_position",
    "handled_replies", "forget_handled_before", "overview", "platform_users", "platform_names",
    "seed_platform_users", "claim_platform_writes", "platform_registrations", "next_event_id", "projected_position",
)


def translating(*driver_errors: type[BaseException]) -> Callable[[C], C]:
    """Class decorator: the recorder's operations raise StoreUnavailable
    instead of `driver_errors` or the library's PersistenceError."""

    def decorate(cls: C) -> C:
        for name in RECORDER_OPERATIONS:
            method = getattr(cls, name, None)
            if method is not None:
                setattr(cls, name, _translated(method, driver_errors))
        return cls

    return decorate


def _translated(method: Callable[..., Any], driver_errors: tuple[type[BaseException], ...]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except IntegrityError:
            raise
        except (PersistenceError, *driver_errors) as exc:
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc

    return call
