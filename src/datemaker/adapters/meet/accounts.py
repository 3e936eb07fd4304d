"""The Google host accounts the rooms are made with. Each has its own token
file, its own clients and its own paces (Meet's quotas are per user); an
account whose token stops working (revoked, its refresh refused) is set
aside with one log line, and the others carry on. A set-aside account is
tried again after a while, its token file read afresh, so a new `datemaker
meet login --token FILE` brings it back without a restart."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from google.api_core import exceptions as gx
from google.auth import exceptions as auth_errors

from datemaker.adapters.meet.calls import MeetCaller
from datemaker.logs import get_logger
from datemaker.settings import SettingsError

log = get_logger(__name__)

RETRY_AFTER = timedelta(minutes=10)

Clients = tuple[Any, Any]  # (SpacesServiceClient, ConferenceRecordsServiceClient)


@dataclass
class HostAccount:
    name: str  # the token file's name without .json; rooms remember it
    connect: Callable[[], Clients]  # reads the token file, builds the clients
    caller: MeetCaller  # paced under this account's quotas (and the project's for creates)
    spaces: Any = None
    records: Any = None
    set_aside_until: datetime | None = None
    reason: str = ""


def broken(exc: BaseException, *, creating: bool) -> str | None:
    """Why `exc` means the account itself cannot work, or None. Never the
    error's text: Google's answer to a refresh may echo what was sent."""
    if isinstance(exc, auth_errors.RefreshError):
        return "token refresh refused"
    if isinstance(exc, auth_errors.DefaultCredentialsError | SettingsError):
        return "token file unusable"
    if isinstance(exc, gx.Unauthenticated):
        return "token not accepted"
    if creating and isinstance(exc, gx.PermissionDenied):
        return "account may not make rooms"
    return None


class HostAccounts:
    def __init__(
        self,
        accounts: list[HostAccount],
        clock: Callable[[], datetime],
        *,
        retry_after: timedelta = RETRY_AFTER,
        on_change: Callable[[str, bool, str], None] = lambda name, usable, reason: None,
    ) -> None:
        if not accounts:
            raise SettingsError("MEET_TOKEN_FILE names no token file")
        names = [a.name for a in accounts]
        if len(set(names)) != len(names):
            raise SettingsError("MEET_TOKEN_FILE: two token files share a name; each account's file needs its own")
        self.all = accounts
        self.clock = clock
        self.retry_after = retry_after
        self.on_change = on_change
        failures = [exc for account in accounts if (exc := self._connect(account)) is not None]
        if len(failures) == len(accounts):
            raise failures[0]  # nothing to make rooms with: the first account's one-line reason

    def usable(self) -> list[HostAccount]:
        """The accounts to call now; one whose time to be tried again has
        come is reconnected first."""
        now = self.clock()
        for account in self.all:
            if account.set_aside_until is not None and account.set_aside_until <= now:
                self._connect(account)
        return [a for a in self.all if a.set_aside_until is None]

    def count_usable(self) -> int:
        """Accounts not set aside, as things stand (trying none again)."""
        return sum(1 for a in self.all if a.set_aside_until is None)

    def of_room(self, account_name: str) -> HostAccount:
        """The account that made a room; the first one for rooms recorded
        without one (made when there was a single account)."""
        for account in self.all:
            if account.name == account_name:
                return account
        return self.all[0]

    def set_aside(self, account: HostAccount, reason: str) -> None:
        account.set_aside_until = self.clock() + self.retry_after
        account.reason = reason
        others = sum(1 for a in self.all if a is not account and a.set_aside_until is None)
        log.error("Meet host account set aside" + ("; the others carry on" if others else "; no account is usable"),
                  account=account.name, reason=reason, accounts_usable=others,
                  retry_at=account.set_aside_until.isoformat(), fix=f"datemaker meet login --token <{account.name}.json>")
        self.on_change(account.name, False, reason)

    def check(self, account: HostAccount, exc: BaseException, *, creating: bool) -> bool:
        """Set the account aside when `exc` says it cannot work; True if so."""
        reason = broken(exc, creating=creating)
        if reason is None:
            return False
        self.set_aside(account, reason)
        return True

    def _connect(self, account: HostAccount) -> Exception | None:
        was_aside = account.set_aside_until is not None
        try:
            account.spaces, account.records = account.connect()
        except SettingsError as exc:
            self.set_aside(account, "token file unusable")
            log.error("Meet token file unusable", account=account.name, error=str(exc))  # names the path only
            return exc
        account.set_aside_until, account.reason = None, ""
        if was_aside:
            log.info("Meet host account usable again", account=account.name)
        self.on_change(account.name, True, "ok")
        return None
