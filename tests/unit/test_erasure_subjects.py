"""The erase destroys the keys the sealing made: both name a person's and an
event's rooms' key subjects the same way."""

from datemaker.adapters.privacy.personal_fields import room, user
from datemaker.app.erasure import room_subject, user_subject
from datemaker.domain.ids import event_uuid


def test_the_erase_names_the_subjects_the_sealing_uses():
    assert user_subject(42) == user(42) == "user:42"
    assert room_subject(17) == room(event_uuid(17))
