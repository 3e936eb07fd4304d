"""The optimal assignment (scipy's `linear_sum_assignment`), imported on
first use: `scipy.optimize` takes about half a second to import, which the
processes that never pair anyone (the outbox, the analytics) need not pay
at every start."""

from __future__ import annotations

from typing import Any


def linear_sum_assignment(cost: Any, maximize: bool = False) -> tuple[Any, Any]:
    from scipy.optimize import linear_sum_assignment as solve

    return solve(cost, maximize=maximize)  # type: ignore[no-any-return]


def load() -> None:
    """Import the solver now, for a process about to pair people on a deadline."""
    import scipy.optimize  # noqa: F401
