"""Composition root: builds the settings, logging and adapters once, at start,
never at import time. Entry points (CLI, serve) get everything from here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from datemaker.adapters.event_store import open_dating_events
from datemaker.app.dating_events import DatingEvents
from datemaker.logs import configure_logging
from datemaker.settings import Settings, load_settings


@dataclass
class Container:
    settings: Settings
    _events: DatingEvents | None = field(default=None, repr=False)

    @property
    def events(self) -> DatingEvents:
        if self._events is None:
            self._events = open_dating_events(self.settings)
        return self._events

    def close(self) -> None:
        if self._events is not None:
            self._events.close()
            self._events = None


def bootstrap(**setting_overrides: Any) -> Container:
    settings = load_settings(**setting_overrides)
    configure_logging(debug=settings.debug, level=settings.log_level)
    return Container(settings)
