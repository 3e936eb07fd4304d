"""Composition root: builds the settings, logging and the event store once, at
start, never at import time. Entry points (CLI, serve, follower processes)
get everything from here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from datemaker.adapters.event_store import persistence_env
from datemaker.adapters.postgres.schema import check_schema
from datemaker.adapters.privacy.sealing_mapper import SealingMapper
from datemaker.app.dating_events import DatingEvents
from datemaker.app.never_again import NeverAgainRules
from datemaker.logs import configure_logging
from datemaker.settings import Settings, load_settings


def open_dating_events(settings: Settings, *, opens_personal_data: bool = True, **kwargs: Any) -> DatingEvents:
    """The application on the configured store; PostgreSQL's schema is checked.
    `opens_personal_data` False: a reader that never needs them (README, Privacy)."""
    if settings.uses_postgres:
        check_schema(settings)
    app = DatingEvents(env=persistence_env(settings), **kwargs)
    if isinstance(app.mapper, SealingMapper) and app.mapper.keyring is not None:
        app.mapper.keyring.opens = opens_personal_data
    app.never_again = NeverAgainRules(settings.never_after_dislike, settings.remeet_after_events)
    return app


@dataclass
class Container:
    """The settings and, opened on first use, the application service."""

    settings: Settings
    opens_personal_data: bool = True  # False in the follower processes
    _app: DatingEvents | None = field(default=None, repr=False)

    @property
    def app(self) -> DatingEvents:
        if self._app is None:
            self._app = open_dating_events(self.settings, opens_personal_data=self.opens_personal_data)
        return self._app

    def close(self) -> None:
        if self._app is not None:
            self._app.close()
            self._app = None


def bootstrap(**setting_overrides: Any) -> Container:
    settings = load_settings(**setting_overrides)
    configure_logging(debug=settings.debug, level=settings.log_level)
    return Container(settings)
