"""The clock's pipelined save: a boundary shared by many events is fired in
batches, and while one batch is being saved (the save mostly waits for
PostgreSQL) the next one takes its steps, so the boundary ends sooner."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from datemaker.domain.dating_event import DatingEvent


@dataclass
class Stepped:
    """A batch of events that took their steps and waits to be saved."""

    due: list[tuple[int, datetime]]
    now: datetime
    fired: list[tuple[DatingEvent, datetime | None, list[str], list[int]]]  # event, scheduled, taken, ended
    changed: list[DatingEvent]
    seconds: float


class SavePipeline:
    def __init__(self, save: Callable[[Stepped], None], settle: Callable[[Stepped, Future[None]], None]) -> None:
        self._save = save  # on the saver's thread
        self._settle = settle  # on the caller's, once that save ended (well or not)
        self._saver = ThreadPoolExecutor(1, thread_name_prefix="clock-save")

    def run(self, batches: Iterable[Callable[[], Stepped | None]]) -> None:
        """Take each batch's steps, saving the one before meanwhile; every
        save is settled before this returns, in order."""
        saving: tuple[Stepped, Future[None]] | None = None
        try:
            for take_steps in batches:
                stepped = take_steps()
                if saving is not None:
                    self._settle(*saving)
                    saving = None
                if stepped is not None:
                    saving = (stepped, self._saver.submit(self._save, stepped))
        finally:
            if saving is not None:
                self._settle(*saving)
