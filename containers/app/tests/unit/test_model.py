"""Unit tests of the model's validation and timestamp handling."""

from datetime import datetime, timedelta, timezone

import pytest

from my_monit.errors import InvalidArgument
from my_monit.model import (
    Experiment,
    Measure,
    MeasureType,
    Role,
    User,
    format_timestamp,
    parse_timestamp,
)


def make_user(**changes):
    fields = {
        "user_id": "S123",
        "name": "Jim Apple",
        "username": "firebase-uid-1",
        "email": "jim@example.org",
        "role": Role.SCIENTIST,
    }
    fields.update(changes)
    return User(**fields)


def test_user_valid_is_kept_as_given():
    user = make_user()
    assert (user.user_id, user.name, user.role) == ("S123", "Jim Apple", Role.SCIENTIST)
    assert not user.is_admin


def test_user_role_text_is_parsed():
    assert make_user(role="ADMIN").is_admin


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"user_id": ""}, "user_id"),
        ({"user_id": "x" * 31}, "user_id"),
        ({"user_id": "S 1"}, "user_id"),
        ({"user_id": "S1;DROP"}, "user_id"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"username": "u" * 129}, "username"),
        ({"username": None}, "username"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@" + "b" * 250 + ".org"}, "email"),
        ({"role": "ROOT"}, "role"),
    ],
)
def test_user_invalid_field_is_named(changes, field):
    with pytest.raises(InvalidArgument) as caught:
        make_user(**changes)
    assert caught.value.which == field


def test_user_limits_are_inclusive():
    user = make_user(user_id="a" * 30, name="n" * 100, username="u" * 128)
    assert len(user.user_id) == 30


def test_erased_user_needs_no_personal_data():
    user = User("S9", None, None, None, Role.SCIENTIST, erased=True)
    assert user.erased and user.name is None


def test_user_is_immutable():
    user = make_user()
    with pytest.raises(AttributeError):
        user.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, None, 5])
def test_experiment_invalid_name_is_refused(name):
    with pytest.raises(InvalidArgument):
        Experiment(None, name)


def test_measure_type_requires_every_field():
    with pytest.raises(InvalidArgument) as caught:
        MeasureType("hertz", "", "frequency")
    assert caught.value.which == "symbol"


def test_measure_converts_to_utc():
    zone = timezone(timedelta(hours=2))
    measure = Measure("e", "hertz", datetime(2022, 4, 6, 9, 0, tzinfo=zone), 1.5)
    assert measure.timestamp == datetime(2022, 4, 6, 7, 0, tzinfo=timezone.utc)
    assert measure.timestamp.utcoffset() == timedelta(0)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "1.5", True, None])
def test_measure_value_must_be_a_finite_number(value):
    with pytest.raises(InvalidArgument) as caught:
        Measure("e", "hertz", datetime(2022, 1, 1, tzinfo=timezone.utc), value)
    assert caught.value.which == "value"


def test_measure_naive_timestamp_is_refused():
    with pytest.raises(InvalidArgument):
        Measure("e", "hertz", datetime(2022, 1, 1), 1.0)


@pytest.mark.parametrize(
    "text, expected",
    [
        (1650000000, datetime(2022, 4, 15, 5, 20, tzinfo=timezone.utc)),
        (1650000000.25, datetime(2022, 4, 15, 5, 20, 0, 250000, tzinfo=timezone.utc)),
        ("1650000000", datetime(2022, 4, 15, 5, 20, tzinfo=timezone.utc)),
        ("2022-04-06T07:00:00Z", datetime(2022, 4, 6, 7, 0, tzinfo=timezone.utc)),
        ("2022-04-06T09:00:00.000001+02:00", datetime(2022, 4, 6, 7, 0, 0, 1, tzinfo=timezone.utc)),
    ],
)
def test_parse_timestamp_accepts_unix_and_iso(text, expected):
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    "text", ["2022-04-06T07:00:00", "yesterday", None, True, float("nan"), 1e20, [1]]
)
def test_parse_timestamp_refuses_the_rest(text):
    with pytest.raises(InvalidArgument):
        parse_timestamp(text)


def test_format_timestamp_keeps_microseconds():
    value = datetime(2022, 4, 6, 7, 0, 0, 5, tzinfo=timezone.utc)
    assert format_timestamp(value) == "2022-04-06T07:00:00.000005Z"
    assert format_timestamp(value.replace(tzinfo=None)) == "2022-04-06T07:00:00.000005Z"


def test_format_timestamp_converts_zones():
    zone = timezone(timedelta(hours=-5))
    assert format_timestamp(datetime(2022, 1, 1, 2, 0, tzinfo=zone)) == "2022-01-01T07:00:00.000000Z"
