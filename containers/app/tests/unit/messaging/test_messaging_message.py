"""Unit tests of measure message validation: every poison case and the accepted forms."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from my_monit.messaging.message import ParsedMeasure, Rejected, parse_body

GOOD = {"experiment": "device-vibrations", "measure": "hertz", "value": 1.5,
        "timestamp": 1650000000}


def _body(document) -> bytes:
    return json.dumps(document).encode()


def _with(**changes):
    return {**GOOD, **changes}


def _without(field):
    return {key: value for key, value in GOOD.items() if key != field}


def test_object_gives_one_typed_measure():
    (measure,) = parse_body(_body(GOOD))
    assert measure == ParsedMeasure("device-vibrations", "hertz", datetime(2022, 4, 15, 5, 20),
                                    1.5)


def test_array_gives_every_measure_in_order():
    measures = parse_body(_body([_with(value=i) for i in range(3)]))
    assert [m.value for m in measures] == [0.0, 1.0, 2.0]
    assert all(isinstance(m.value, float) for m in measures)


@pytest.mark.parametrize(
    "timestamp, expected",
    [
        (1650000000.123456, datetime(2022, 4, 15, 5, 20, 0, 123456)),
        ("2022-04-06T07:00:00Z", datetime(2022, 4, 6, 7, 0)),
        ("2022-04-06T09:00:00.000001+02:00", datetime(2022, 4, 6, 7, 0, 0, 1)),
        ("1650000000", datetime(2022, 4, 15, 5, 20)),
        (-1, datetime(1969, 12, 31, 23, 59, 59)),
    ],
)
def test_timestamps_become_naive_utc(timestamp, expected):
    assert parse_body(_body(_with(timestamp=timestamp)))[0].taken_at == expected


@pytest.mark.parametrize(
    "body, code",
    [
        (b"not json", "not_json"),
        (b"\xff\xfe\x00", "not_json"),
        (b"[" * 5000 + b"]" * 5000, "not_json"),
        (_body("a string"), "not_object"),
        (_body(42), "not_object"),
        (_body(None), "not_object"),
        (_body([]), "empty_array"),
        (_body([GOOD, "x"]), "not_object"),
        (_body(_without("experiment")), "missing_field"),
        (_body(_without("measure")), "missing_field"),
        (_body(_without("value")), "missing_field"),
        (_body(_without("timestamp")), "missing_field"),
        (_body(_with(experiment=3)), "wrong_type"),
        (_body(_with(measure=None)), "wrong_type"),
        (_body(_with(value="1.5")), "wrong_type"),
        (_body(_with(value=True)), "wrong_type"),
        (_body(_with(timestamp=[1])), "wrong_type"),
        (_body(_with(timestamp=True)), "wrong_type"),
        (b'{"experiment": "e", "measure": "hertz", "value": NaN, "timestamp": 1}', "not_finite"),
        (b'{"experiment": "e", "measure": "hertz", "value": 1e400, "timestamp": 1}',
         "not_finite"),
        (b'{"experiment": "e", "measure": "hertz", "value": -Infinity, "timestamp": 1}',
         "not_finite"),
        (_body(_with(value=10**400)), "not_finite"),
        (_body(_with(timestamp="yesterday")), "bad_timestamp"),
        (_body(_with(timestamp="2022-04-06T07:00:00")), "bad_timestamp"),
        (_body(_with(timestamp=1e300)), "bad_timestamp"),
        (_body(_with(timestamp=-40000000000)), "bad_timestamp"),
        (_body(_with(timestamp="0900-01-01T00:00:00Z")), "bad_timestamp"),
        # At the very edges of what a datetime holds: refused, never an overflow.
        (_body(_with(timestamp=253402300800)), "bad_timestamp"),
        (_body(_with(timestamp=253402300799.9999996)), "bad_timestamp"),
        (_body(_with(timestamp="9999-12-31T23:59:59-01:00")), "bad_timestamp"),
        (_body(_with(timestamp="0001-01-01T00:30:00+01:00")), "bad_timestamp"),
        (b'{"experiment": "e", "measure": "h", "value": 1, "timestamp": NaN}', "bad_timestamp"),
        (_body([GOOD, _without("value")]), "missing_field"),
    ],
)
def test_poison_is_rejected_with_its_reason(body, code):
    with pytest.raises(Rejected) as caught:
        parse_body(body)
    assert caught.value.code == code
    assert caught.value.header.startswith(f"{code}: ")


def test_reason_names_the_element_and_field_but_no_value():
    with pytest.raises(Rejected) as caught:
        parse_body(_body([GOOD, GOOD, _with(experiment={"secret": "alice@example.org"})]))
    assert caught.value.header == "wrong_type: element 2 field experiment must be a string"
    assert "alice" not in caught.value.header
