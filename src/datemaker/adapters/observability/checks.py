"""Named checks behind /healthz and /readyz. Each check finds what is wrong
or nothing; a failing check is a problem (the endpoint answers 503), a
check that only informs adds a detail line (shown, never a reason to fail).
A check that raises says so under its name (a problem, or a detail for a
check that only informs), so one broken check never hides what the others
found."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from datemaker.logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Verdict:
    problems: tuple[str, ...] = ()  # any: not healthy / not ready
    details: tuple[str, ...] = ()  # worth knowing either way

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Check:
    name: str
    find: Callable[[], str | None]  # what is wrong, None when all is well
    fails: bool = True  # False: a finding is a detail, not a problem


def run_checks(checks: Sequence[Check]) -> Verdict:
    problems: list[str] = []
    details: list[str] = []
    for check in checks:
        try:
            found = check.find()
        except Exception as exc:
            log.warning("a health check raised", check=check.name, error=repr(exc))
            found = f"{check.name}: check failed ({type(exc).__name__})"
        if found:
            (problems if check.fails else details).append(found)
    return Verdict(tuple(problems), tuple(details))
