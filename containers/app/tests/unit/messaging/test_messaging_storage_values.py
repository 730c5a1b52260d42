"""Unit tests of how Storage writes measure rows into a multi-row INSERT (no value gets out)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from my_monit.errors import InvalidArgument
from my_monit.storage.storage import _measure_values  # pylint: disable=protected-access


def test_rows_become_a_values_list():
    rows = [(1, 3, datetime(2022, 4, 6, 7, 0, 0, 123456), 1.5), (2, 4, datetime(2022, 4, 6), 7)]
    assert _measure_values(rows) == (
        "(1,3,'2022-04-06 07:00:00.123456',1.5),(2,4,'2022-04-06 00:00:00',7.0)")


def test_aware_times_are_written_in_utc_and_checked_text_passes():
    paris = timezone(timedelta(hours=2))
    rows = [(1, 1, datetime(2022, 4, 6, 9, 0, tzinfo=paris), 1e300),
            (1, 1, "2022-04-06T07:00:00.5", -0.0)]
    assert _measure_values(rows) == (
        "(1,1,'2022-04-06 07:00:00',1e+300),(1,1,'2022-04-06T07:00:00.5',-0.0)")


@pytest.mark.parametrize("taken_at", ["2022-04-06 07:00:00'); DROP TABLE measures; --",
                                      "yesterday", 1650000000, None])
def test_anything_but_a_time_is_refused(taken_at):
    with pytest.raises(InvalidArgument):
        _measure_values([(1, 1, taken_at, 1.0)])


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "1); DROP TABLE measures"])
def test_anything_but_a_finite_number_is_refused(value):
    with pytest.raises((InvalidArgument, ValueError)):
        _measure_values([(1, 1, datetime(2022, 4, 6), value)])


def test_ids_must_be_integers():
    with pytest.raises(ValueError):
        _measure_values([("1) OR (1", 1, datetime(2022, 4, 6), 1.0)])
