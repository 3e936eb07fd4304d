"""structlog set-up: JSON lines in production, a readable console with
DEBUG=true. Values under secret-looking keys are masked before rendering."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

_SECRET_MARKERS = ("password", "secret", "token", "credential", "authorization")


def _mask_secrets(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key in event_dict:
        if any(marker in key.lower() for marker in _SECRET_MARKERS):
            event_dict[key] = "***"
    return event_dict


def configure_logging(*, debug: bool, level: str = "INFO") -> None:
    renderer: Any = (
        structlog.dev.ConsoleRenderer() if debug else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _mask_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.DEBUG if debug else logging.getLevelName(level)
        ),
        # Looked up at each call, so a replaced sys.stderr (tests) is honoured.
        logger_factory=lambda *_: structlog.PrintLogger(sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
