"""Google host accounts for the fake Meet server: each has an authorized-user
token (what `datemaker meet login` writes) whose refresh goes to the server's
own `POST /token`, form-encoded as google-auth sends it. The access tokens it
hands out tie every API request to its account. A revoked account fails as
Google fails it: its refresh answers 400 `invalid_grant`, its access tokens
401. A request with no `Authorization` header (AnonymousCredentials) is the
account named "anonymous"."""

from __future__ import annotations

import json
import secrets
from typing import Any

from google.apps import meet_v2
from google.oauth2.credentials import Credentials

from datemaker.adapters.meet.auth import SCOPES

ANONYMOUS = "anonymous"
CLIENT_ID = "fake-meet-client.apps.googleusercontent.com"
EXPIRES_IN = 3600


class Accounts:
    """The accounts of one fake server; its lock guards every call."""

    def __init__(self) -> None:
        self.client_secret = secrets.token_urlsafe(12)
        self.tokens: dict[str, dict[str, Any]] = {}  # account -> its token file's content
        self.revoked: set[str] = set()
        self.refreshes: list[tuple[str | None, int]] = []  # (account or None, status) of each token request
        self._by_refresh: dict[str, str] = {}
        self._by_access: dict[str, str] = {}

    def add(self, name: str, token_uri: str) -> dict[str, Any]:
        """The account's token, as `Credentials.to_json()` writes it: no
        access token yet, so the client refreshes before its first call."""
        if name == ANONYMOUS:
            raise ValueError(f"{ANONYMOUS!r} is the account of requests without credentials")
        if name not in self.tokens:
            refresh_token = f"1//fake-{secrets.token_urlsafe(16)}"
            self._by_refresh[refresh_token] = name
            credentials = Credentials(
                token=None,
                refresh_token=refresh_token,
                token_uri=token_uri,
                client_id=CLIENT_ID,
                client_secret=self.client_secret,
                scopes=list(SCOPES),
            )
            self.tokens[name] = json.loads(credentials.to_json())
        return dict(self.tokens[name])

    def revoke(self, name: str) -> None:
        if name not in self.tokens:
            raise KeyError(name)
        self.revoked.add(name)
        self._by_access = {token: account for token, account in self._by_access.items() if account != name}

    def refresh(self, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        """The token endpoint: a refresh-token grant answered as Google's is."""
        field = {key: values[0] for key, values in form.items() if values}
        account = self._by_refresh.get(field.get("refresh_token", ""))
        status, answer = self._grant(field, account)
        self.refreshes.append((account, status))
        return status, answer

    def _grant(self, field: dict[str, str], account: str | None) -> tuple[int, dict[str, Any]]:
        if field.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type."}
        if field.get("client_id") != CLIENT_ID or field.get("client_secret") != self.client_secret:
            return 401, {"error": "invalid_client", "error_description": "Unauthorized"}
        if account is None:
            return 400, {"error": "invalid_grant", "error_description": "Bad Request"}
        if account in self.revoked:
            return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
        access_token = f"ya29.fake-{secrets.token_urlsafe(24)}"
        self._by_access[access_token] = account
        return 200, {
            "access_token": access_token,
            "expires_in": EXPIRES_IN,
            "token_type": "Bearer",
            "scope": field.get("scope") or " ".join(SCOPES),
        }

    def account_for(self, authorization: str | None) -> str | None:
        """The account a request is made by; None when its token is not
        (or no longer) valid."""
        if not authorization:
            return ANONYMOUS
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self._by_access.get(token.strip())


def meet_clients(
    endpoint: str, token: dict[str, Any]
) -> tuple[meet_v2.SpacesServiceClient, meet_v2.ConferenceRecordsServiceClient]:
    """The real client library's two clients, REST, on `token`'s account.
    `from_authorized_user_info` always sets Google's token endpoint, whatever
    the token says (google-auth ignores a token file's `token_uri`), so the
    fake's is put back with `with_token_uri`."""
    credentials = Credentials.from_authorized_user_info(token, list(SCOPES)).with_token_uri(token["token_uri"])
    options = {"api_endpoint": endpoint}
    return (
        meet_v2.SpacesServiceClient(credentials=credentials, transport="rest", client_options=options),
        meet_v2.ConferenceRecordsServiceClient(credentials=credentials, transport="rest", client_options=options),
    )
