"""A recorded dict is read once; an equal but different dict is read anew."""

from __future__ import annotations

from datemaker.domain.parsed_records import parsed, remember


def test_a_record_is_parsed_once_and_an_equal_copy_again():
    calls = []

    def parse(record):
        calls.append(record)
        return tuple(sorted(record.items()))

    record = {"a": 1}
    assert parsed(record, parse) == (("a", 1),)
    assert parsed(record, parse) == (("a", 1),)
    assert parsed(dict(record), parse) == (("a", 1),)
    assert len(calls) == 2


def test_a_remembered_record_is_not_parsed():
    record = remember({"b": 2}, "known")
    assert parsed(record, lambda r: "parsed") == "known"
