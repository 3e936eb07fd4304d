"""`datemaker reports list|show|resolve`: reports and their evidence, for
the moderator. A report's id is `<event>-<reporter>-<reported>`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from datemaker.app.moderation import Moderation
from datemaker.cli.history import write_page
from datemaker.cli.params import INSTANT, WORD
from datemaker.cli.users import moderator, withdrawn_text
from datemaker.domain.ids import parse_report_id
from datemaker.domain.standing import OUTCOMES
from datemaker.history.render_json import dumps
from datemaker.history.render_report import render_report_html, render_report_text
from datemaker.history.render_text import local
from datemaker.history.reports import Reports


class ReportId(click.ParamType):
    name = "report_id"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        try:
            parse_report_id(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        return str(value).strip()


REPORT_ID = ReportId()


@click.group()
def reports() -> None:
    """Reports, their evidence and the decisions on them."""


@reports.command("list")
@click.option("--event", "event_id", type=click.IntRange(min=1), help="only this event's reports")
@click.option("--since", type=INSTANT, help="filed at or after this ISO 8601 instant (no offset: DATEMAKER_DISPLAY_TIMEZONE)")
@click.option("--open", "only_open", is_flag=True, help="only reports without a decision")
@click.option("--json", "as_json", is_flag=True, help="the documented JSON shape instead of text")
@click.pass_obj
def list_(lazy: Any, event_id: int | None, since: datetime | None, only_open: bool, as_json: bool) -> None:
    """Reports filed, oldest first: id, when, who about whom, category, decision."""
    container = lazy.get()
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=ZoneInfo(container.settings.display_timezone))
    found = Reports(container.app)
    listed = found.listed(event_id, since, only_open)  # UnknownEvent: one line, exit 1
    if as_json:
        click.echo(dumps(found.list_document(listed)))
        return
    if not listed:
        click.echo("no reports")
        return
    click.echo(f"{'report':<22}  {'filed (event zone)':<22}  {'reporter':>10}  {'reported':>10}  {'category':<13}  status")
    for r in listed:
        decision = found.decision(r)
        click.echo(f"{r.report_id:<22}  {local(r.at.isoformat(), fmt='%Y-%m-%d %H:%M %z'):<22}  {r.reporter:>10}  "
                   f"{r.reported:>10}  {r.category or '-':<13}  {decision['outcome'] if decision else 'open'}")


@reports.command("show")
@click.argument("report_id", type=REPORT_ID)
@click.option("--json", "as_json", is_flag=True, help="the documented JSON shape instead of text")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), help="write one self-contained page here")
@click.pass_obj
def show(lazy: Any, report_id: str, as_json: bool, html_path: Path | None) -> None:
    """A report's evidence: profiles, the date's room and attendance,
    reactions, earlier reports and the event around it."""
    if as_json and html_path is not None:
        raise click.UsageError("--json and --html cannot be combined: choose one output")
    evidence = Reports(lazy.get().app).evidence(report_id)  # UnknownReport: one line, exit 1
    if html_path is not None:
        write_page(html_path, render_report_html(evidence))
        click.echo(f"wrote {html_path}")
    elif as_json:
        click.echo(dumps(evidence))
    else:
        for line in render_report_text(evidence):
            click.echo(line)


@reports.command("resolve")
@click.argument("report_id", type=REPORT_ID)
@click.option("--outcome", required=True, type=click.Choice(OUTCOMES))
@click.option("--note", type=WORD, help="one word kept with the decision")
@click.option("--by", "by", type=WORD, help="who decides [default: the OS user]")
@click.pass_obj
def resolve(lazy: Any, report_id: str, outcome: str, note: str | None, by: str | None) -> None:
    """Record a decision on a report; `blocked` also blocks the reported user."""
    moderation = Moderation(lazy.get().app)
    _, _, reported = moderation.report(report_id)
    done = moderation.resolve(report_id, outcome=outcome, by=moderator(by), note=note)
    line = f"report {report_id}: {outcome}"
    if done is not None:
        line += f"; user {reported} blocked; {withdrawn_text(done)}"
    click.echo(line)
