"""The reports rule (`DATEMAKER_AUTO_BLOCK_REPORTS=N`, off by default): a
user reported by N distinct people within 30 days is blocked, reason
`auto_reports`, by `datemaker`, naming the report that made it N.

It runs in the analytics follower, inside the transaction that writes a
batch's rows: there every accepted report becomes a row of public.reports
exactly once, in log order, whichever way it came (the bot's command or its
own INSERT), and counting distinct reporters across events is one indexed
query over rows the same transaction can see. Rating time would need that
count too, on the bot's busiest path, from a table the follower writes
later. The block is saved before the batch commits: a batch that fails
after it is projected again and finds the block already there (recorded
with that report's id), so the rule never blocks twice for one report, and
a moderator's unblock stands until a new report counts again. A rebuild
of the tables does not run it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from datemaker.app.moderation import Moderation
from datemaker.domain.ids import report_id
from datemaker.domain.standing import AUTO_REPORTS
from datemaker.logs import get_logger
from datemaker.projections.changes import Change
from datemaker.projections.event_rows import utc

log = get_logger(__name__)

WINDOW = timedelta(days=30)
BY = "datemaker"


def reported_enough(cur: Any, changes: Sequence[Change], threshold: int) -> dict[int, str]:
    """Reported user -> the first report in `changes` after which N distinct
    people had reported them within the 30 days up to it."""
    found: dict[int, str] = {}
    for change in changes:
        e = change.recorded
        if change.kind != "PartnerRated" or e.reaction != "report" or e.partner_id in found:
            continue
        cur.execute(
            "SELECT count(DISTINCT source_user_id) FROM public.reports"
            " WHERE target_user_id = %s AND action_time > %s AND action_time <= %s",
            (e.partner_id, utc(change.at - WINDOW), utc(change.at)),
        )
        if int(cur.fetchone()[0]) >= threshold:
            found[e.partner_id] = report_id(change.event_id, e.user_id, e.partner_id)
    return found


class AutoBlock:
    """The follower's hook: `auto_block(cur, changes)` after a batch's rows."""

    def __init__(self, moderation: Moderation, threshold: int) -> None:
        if threshold < 1:
            raise ValueError("the reports rule needs at least one report")
        self.moderation = moderation
        self.threshold = threshold

    def __call__(self, cur: Any, changes: Sequence[Change]) -> None:
        for user_id, because in reported_enough(cur, changes, self.threshold).items():
            standing = self.moderation.standing(user_id)
            if standing is not None and (standing.blocked_for(because)
                                         or standing.block_in_force(self.moderation.app.clock())):
                continue  # blocked already: by this rule for this report, or by a moderator
            self.moderation.block(user_id, reason=AUTO_REPORTS, by=BY, report_id=because)
            log.info("user blocked by the reports rule", user_id=user_id, reports=self.threshold)
