"""Analytics read models: a follower of the event log keeps tables in
PostgreSQL (the platform's legacy names in `public`, datemaker's own
statistics in `datemaker`), with its position committed in the same
transaction as its writes, and rebuildable from the log at any time."""

from datemaker.projections.follower import ProjectionFollower, run_projections
from datemaker.projections.rebuild import ProjectionStatus, rebuild, status

__all__ = ["ProjectionFollower", "ProjectionStatus", "rebuild", "run_projections", "status"]
