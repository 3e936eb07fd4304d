"""The fake Meet server as a process of its own, as benchmarks run it: it
writes a token file per account, the real client makes rooms with one, the
quotas bind on the clock the parent shares, and `/_stats` gives the figures."""

from __future__ import annotations

import json
import stat
from datetime import datetime

import pytest
from google.api_core.exceptions import TooManyRequests
from google.apps import meet_v2

from ..support.clock import T0
from ..support.fake_meet_accounts import meet_clients
from ..support.fake_meet_process import FakeMeetProcess

NEW_SPACE = meet_v2.CreateSpaceRequest(space=meet_v2.Space())


@pytest.mark.subprocess
@pytest.mark.slow
def test_the_server_runs_as_a_process_with_token_files_and_figures(tmp_path):
    # Scale 2: the quota minute lasts 30 real seconds, so the second create is surely within it,
    # and the server's clock must run at the scale it was given to agree with the parent's.
    with FakeMeetProcess(tmp_path, ["a", "b"], scale=2.0, start=T0, create_per_minute_per_account=1) as meet:
        tokens = {name: meet.token_file(name) for name in ("a", "b")}
        assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in tokens.values())
        a = json.loads(tokens["a"].read_text())
        assert a["token_uri"] == f"{meet.endpoint}/token"
        a_spaces, _ = meet_clients(meet.endpoint, a)
        b_spaces, _ = meet_clients(meet.endpoint, json.loads(tokens["b"].read_text()))
        assert a_spaces.create_space(request=NEW_SPACE, retry=None).name.startswith("spaces/")
        with pytest.raises(TooManyRequests):
            a_spaces.create_space(request=NEW_SPACE, retry=None)
        b_spaces.create_space(request=NEW_SPACE, retry=None)
        before = meet.clock()
        stats = meet.stats()
        after = meet.clock()
    assert meet.process.returncode == 0  # SIGTERM stops it cleanly
    assert {key: stats[key] for key in ("accepted_creates", "max_creates_in_any_minute", "rejected_by_quota", "calls")} == {
        "accepted_creates": {"a": 1, "b": 1},
        "max_creates_in_any_minute": {"project": 2, "accounts": {"a": 1, "b": 1}},
        "rejected_by_quota": {"create": 1},
        "calls": {"a": 2, "b": 1},
    }
    # One clock from the same start, anchor and scale: the server's instant lies between the parent's readings.
    assert before <= datetime.fromisoformat(stats["now"]) <= after
    assert T0 < before
