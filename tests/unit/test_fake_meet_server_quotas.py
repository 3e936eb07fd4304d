"""The fake Meet server stands for several Google host accounts with Google's
per-minute quotas, through the real client library: an account makes ten
rooms a minute, the project a hundred, over a sliding minute of the server's
clock; a revoked account's refresh fails; one account cannot end or read the
calls of another's room."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
from google.api_core.exceptions import Forbidden, TooManyRequests
from google.apps import meet_v2
from google.auth.credentials import AnonymousCredentials
from google.auth.exceptions import RefreshError

from datemaker.adapters.meet.auth import SCOPES

from ..support.clock import T0, FakeClock
from ..support.fake_meet_accounts import meet_clients
from ..support.fake_meet_process import ScaledClock
from ..support.fake_meet_server import FakeMeetServer

NEW_SPACE = meet_v2.CreateSpaceRequest(space=meet_v2.Space())


def create(client: meet_v2.SpacesServiceClient) -> str:
    return client.create_space(request=NEW_SPACE, retry=None).name


def rooms_made(client: meet_v2.SpacesServiceClient, count: int) -> int:
    """How many of `count` creates were accepted."""
    made = 0
    for _ in range(count):
        try:
            create(client)
            made += 1
        except TooManyRequests:
            pass
    return made


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_an_account_makes_ten_rooms_a_minute_and_another_is_not_held_up(clock):
    with FakeMeetServer(clock=clock, quotas=True) as server:
        a, _ = meet_clients(server.endpoint, server.add_account("a"))
        b, _ = meet_clients(server.endpoint, server.add_account("b"))
        assert rooms_made(a, 10) == 10
        with pytest.raises(TooManyRequests, match="per minute per user"):
            create(a)
        assert rooms_made(b, 1) == 1
        clock.advance(seconds=59.9)
        assert rooms_made(a, 1) == 0  # still within the minute of the first ten
        clock.advance(seconds=0.1)
        assert rooms_made(a, 1) == 1
        assert [who for who, _ in server.accepted_creates] == ["a"] * 10 + ["b", "a"]
        assert server.rejected_by_quota["create"] == 2
        assert server.max_creates_in_any_minute("a") == 10 and server.max_creates_in_any_minute("b") == 1
        assert server.max_creates_in_any_minute() == 11


def test_the_minute_slides_and_a_refused_call_takes_no_slot(clock):
    with FakeMeetServer(clock=clock, quotas=True) as server:
        a, _ = meet_clients(server.endpoint, server.add_account("a"))
        assert rooms_made(a, 6) == 6
        clock.advance(seconds=30)
        assert rooms_made(a, 4) == 4
        clock.advance(seconds=10)
        assert rooms_made(a, 5) == 0
        clock.advance(seconds=20)  # the first six are a minute old; the four of 0:30 are not
        assert rooms_made(a, 7) == 6
        assert server.max_creates_in_any_minute("a") == 10
        assert server.rejected_by_quota["create"] == 6


def test_the_project_cap_binds_over_all_accounts(clock):
    with FakeMeetServer(clock=clock, quotas=True, create_per_minute_per_project=3) as server:
        a, _ = meet_clients(server.endpoint, server.add_account("a"))
        b, _ = meet_clients(server.endpoint, server.add_account("b"))
        assert rooms_made(a, 2) == 2 and rooms_made(b, 1) == 1
        with pytest.raises(TooManyRequests, match="per minute per project"):
            create(b)
        assert rooms_made(a, 1) == 0
        clock.advance(seconds=60)
        assert rooms_made(b, 1) == 1
        assert server.max_creates_in_any_minute() == 3
        assert server.stats()["max_creates_in_any_minute"] == {"project": 3, "accounts": {"a": 2, "b": 1}}


def test_reads_and_writes_have_their_own_limits(clock):
    with FakeMeetServer(clock=clock, quotas=True, read_per_minute_per_account=2, write_per_minute_per_account=1) as server:
        spaces, _ = meet_clients(server.endpoint, server.add_account("a"))
        name = create(spaces)
        for _ in range(2):
            spaces.get_space(name=name, retry=None)
        with pytest.raises(TooManyRequests):
            spaces.get_space(name=name, retry=None)
        server.join(name, "Ann", clock())
        spaces.end_active_conference(name=name, retry=None)
        with pytest.raises(TooManyRequests):
            spaces.end_active_conference(name=name, retry=None)
        assert dict(server.rejected_by_quota) == {"get": 1, "end": 1}
        assert len(server.accepted_creates) == 1  # a create draws on neither


def test_without_quotas_nothing_is_refused_but_creates_are_still_counted(clock):
    with FakeMeetServer(clock=clock) as server:
        a, _ = meet_clients(server.endpoint, server.add_account("a"))
        assert rooms_made(a, 12) == 12
        assert server.max_creates_in_any_minute("a") == 12 and not server.rejected_by_quota


def test_requests_are_tied_to_their_account_and_rooms_to_their_maker(clock):
    with FakeMeetServer(clock=clock) as server:
        a, _ = meet_clients(server.endpoint, server.add_account("a"))
        options = {"api_endpoint": server.endpoint}
        anonymous = meet_v2.SpacesServiceClient(credentials=AnonymousCredentials(), transport="rest", client_options=options)
        mine, theirs = create(a), create(anonymous)
        assert server.creator == {mine: "a", theirs: "anonymous"}
        assert [who for who, _ in server.account_calls] == ["a", "anonymous"]
        assert server.accounts.refreshes == [("a", 200)]
        assert all("_" not in key for key in server.spaces[mine])  # nothing private in the answers


def test_a_revoked_account_fails_its_refresh_through_the_client(clock):
    with FakeMeetServer(clock=clock) as server:
        token = server.add_account("a")
        spaces, _ = meet_clients(server.endpoint, token)
        name = create(spaces)
        server.revoke("a")
        with pytest.raises(RefreshError, match="invalid_grant"):
            spaces.get_space(name=name, retry=None)  # its access token answers 401; the refresh, 400
        with pytest.raises(RefreshError, match="expired or revoked"):
            create(meet_clients(server.endpoint, token)[0])
        assert server.account_calls[-1][0] is None
        assert [status for _, status in server.accounts.refreshes] == [200, 400, 400]
        assert server.created == [name]


def test_the_token_endpoint_answers_as_googles_does(clock):
    with FakeMeetServer(clock=clock) as server:
        token = server.add_account("a")
        form = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"],
                "client_id": token["client_id"], "client_secret": token["client_secret"]}

        def post(**changes: str) -> tuple[int, dict]:
            data = urllib.parse.urlencode({**form, **changes}).encode()
            try:
                with urllib.request.urlopen(token["token_uri"], data=data, timeout=10) as answer:
                    return answer.status, json.load(answer)
            except urllib.error.HTTPError as error:
                return error.code, json.load(error)

        status, answer = post()
        assert status == 200 and answer["token_type"] == "Bearer" and answer["expires_in"] == 3600
        assert answer["scope"].split() == list(SCOPES) and answer["access_token"]
        assert post(scope=SCOPES[0])[1]["scope"] == SCOPES[0]
        assert post(client_secret="wrong") == (401, {"error": "invalid_client", "error_description": "Unauthorized"})
        assert post(refresh_token="unknown")[0] == 400
        assert token["token_uri"] == f"{server.endpoint}/token" and token["scopes"] == list(SCOPES)
        assert "token" not in token  # no access token yet: the client refreshes first


def test_one_account_cannot_end_or_read_the_calls_of_anothers_room(clock):
    with FakeMeetServer(clock=clock) as server:
        a_spaces, a_records = meet_clients(server.endpoint, server.add_account("a"))
        b_spaces, b_records = meet_clients(server.endpoint, server.add_account("b"))
        name = create(a_spaces)
        participant = server.join(name, "Ann", clock())
        record = participant.split("/participants/")[0]
        with pytest.raises(Forbidden):
            b_spaces.end_active_conference(name=name, retry=None)
        wanted = meet_v2.ListConferenceRecordsRequest(filter=f'space.name = "{name}"')
        with pytest.raises(Forbidden):
            list(b_records.list_conference_records(request=wanted, retry=None))
        with pytest.raises(Forbidden):
            list(b_records.list_participants(parent=record, retry=None))
        with pytest.raises(Forbidden):
            list(b_records.list_participant_sessions(parent=participant, retry=None))
        assert list(b_records.list_conference_records(retry=None)) == []  # unfiltered: only b's own rooms
        assert server.ended == [] and server.end_calls == [name]
        assert [r.name for r in a_records.list_conference_records(request=wanted, retry=None)] == [record]
        a_spaces.end_active_conference(name=name, retry=None)
        assert server.ended == [name]


def test_the_scaled_clock_runs_scale_times_faster_from_its_anchor():
    wall = [1000.0]
    clock = ScaledClock(T0, anchor=1000.0, scale=240, wall=lambda: wall[0])
    assert clock() == T0
    wall[0] = 1000.25
    assert clock() == T0 + timedelta(seconds=60)  # a quota minute in a quarter of a second
