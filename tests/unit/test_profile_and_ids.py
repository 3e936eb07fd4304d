from __future__ import annotations

from datetime import date

import pytest

from datemaker.domain.ids import event_uuid
from datemaker.domain.profile import Profile


def test_profile_round_trips_through_its_record():
    profile = Profile(sex="M", birthday=date(1990, 2, 28), city="Kazan", rating=1.5, manual_score=1)
    assert Profile.from_record(profile.to_record()) == profile
    assert profile.to_record()["birthday"] == "1990-02-28"


@pytest.mark.parametrize("bad", [{"sex": "X"}, {"manual_score": 0}, {"manual_score": 4}])
def test_profile_refuses_values_outside_the_platforms_ranges(bad):
    with pytest.raises(ValueError):
        Profile(**bad)


def test_wire_ids_map_to_stable_distinct_uuids():
    assert event_uuid(1) == event_uuid(1)
    assert len({event_uuid(n) for n in range(1, 1001)}) == 1000


@pytest.mark.parametrize("bad", [0, -3, True, "7"])
def test_wire_ids_are_positive_integers(bad):
    with pytest.raises(ValueError):
        event_uuid(bad)


def test_a_profile_with_values_the_pairing_cannot_use_becomes_neutral():
    from datetime import date

    from datemaker.app.platform_profiles import profile_from_row

    odd = profile_from_row((1, "x", "1066-10-14", "", float("inf"), 9))
    assert (odd.sex, odd.birthday, odd.city, odd.rating, odd.manual_score) == (None, None, None, 0.0, 3)
    assert profile_from_row((2, "f", "not a date", "Kazan", float("nan"), None)).rating == 0.0
    fine = profile_from_row((3, "M", date(1995, 5, 5), "Kazan", 3.5, 2))
    assert (fine.sex, fine.birthday, fine.rating) == ("M", date(1995, 5, 5), 3.5)
