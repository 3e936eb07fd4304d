"""What `datemaker meet capacity` prints: the accounts as the service last
saw them, and the outlook of the next 24 hours, as text or JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from datemaker.app.ports import RoomPool
from datemaker.domain.room_demand import Outlook
from datemaker.settings import Settings, SettingsError


def accounts_state(settings: Settings, pool: RoomPool) -> list[dict[str, Any]]:
    """Each configured host account: what the service last recorded of it,
    else whether its token file reads (the service has not used it yet)."""
    from datemaker.adapters.meet.auth import account_name, load_credentials, token_files

    recorded = pool.accounts()
    local = settings.meet_api_endpoint.startswith("http://")
    found = []
    for token_file in token_files(settings.meet_token_file):
        name = account_name(token_file)
        if name in recorded:
            usable, reason, since = recorded[name]
            found.append({"name": name, "usable": usable, "reason": reason, "since": since.isoformat()})
            continue
        try:
            if not local:
                load_credentials(token_file)
            found.append({"name": name, "usable": True, "reason": "not used by the service yet", "since": None})
        except SettingsError as exc:
            found.append({"name": name, "usable": False, "reason": str(exc), "since": None})
    return found


def document(seen: Outlook, accounts: list[dict[str, Any]]) -> dict[str, Any]:
    first = seen.first_short_hour
    return {
        "pool_rooms": seen.pool,
        "accounts_usable": sum(1 for a in accounts if a["usable"]),
        "accounts": accounts,
        "rate_per_hour": seen.rate_per_hour,
        "planned_dates": seen.planned,
        "shortfall": seen.shortfall,
        "first_short_hour": first.isoformat() if first else None,
        "hours": [
            {"starts": h.starts.isoformat(), "dates": h.dates, "short": h.short, "covered": h.covered}
            for h in seen.hours
        ],
    }


def render_text(found: dict[str, Any], zone: ZoneInfo) -> str:
    def at(iso: str) -> str:
        return datetime.fromisoformat(iso).astimezone(zone).strftime("%Y-%m-%d %H:%M")

    accounts = ", ".join(
        a["name"] if a["usable"] else f"{a['name']} (set aside: {a['reason']})" for a in found["accounts"]
    )
    lines = [
        f"pool: {found['pool_rooms']:,} rooms; accounts usable: {found['accounts_usable']} of"
        f" {len(found['accounts'])} ({accounts}); make rate: {found['rate_per_hour']:,.0f} rooms/h",
        f"dates needing rooms in the next 24 h: {found['planned_dates']:,}; short: {found['shortfall']:,}",
        f"first hour short: {at(found['first_short_hour'])} ({zone.key})" if found["first_short_hour"]
        else "first hour short: none, every date is covered",
        f"{'hour (' + zone.key + ')':<22} {'dates':>7} {'short':>7}",
    ]
    for h in found["hours"]:
        mark = "" if h["covered"] else "  SHORT"
        lines.append(f"{at(h['starts']):<22} {h['dates']:>7,} {h['short']:>7,}{mark}")
    return "\n".join(lines)
