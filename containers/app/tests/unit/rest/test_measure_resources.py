"""MeasureResource and MeasureTypeResource with mocked services."""

from __future__ import annotations

import urllib.parse
from datetime import datetime, timezone
from unittest import mock

import pytest
from flask.testing import FlaskClient

from my_monit.errors import Conflict, Forbidden
from my_monit.model import MeasureType
from my_monit.rest.schemas import decode_cursor, encode_cursor
from my_monit.services import Page
from my_monit.storage import MeasureCursor, MeasureRow

from rest_doubles import ADMIN, SCIENTIST, bearer

MOMENT = datetime(2022, 4, 6, 7, 0, 0, 123456, tzinfo=timezone.utc)
ROW = MeasureRow(41, "device-vibrations", "hertz", MOMENT.replace(tzinfo=None), 100.0)


def test_list_measures_gives_measures_with_utc_microsecond_timestamps(
    client: FlaskClient, measures: mock.Mock
) -> None:
    measures.list_measures.return_value = Page([ROW], None)

    response = client.get("/measures/1", headers=bearer("sam"))

    assert response.status_code == 200
    assert response.json == [
        {
            "experiment": "device-vibrations",
            "measure_type": "hertz",
            "timestamp": "2022-04-06T07:00:00.123456Z",
            "value": 100.0,
        }
    ]
    assert "Link" not in response.headers
    measures.list_measures.assert_called_once_with(
        SCIENTIST, 1, since=None, until=None, measure_type=None, limit=1000, before=None
    )


def test_list_measures_passes_filters_in_both_time_formats(
    client: FlaskClient, measures: mock.Mock
) -> None:
    measures.list_measures.return_value = Page([], None)
    query = "from=2022-04-06T09:00:00%2B02:00&to=1649235600.5&type=hertz&limit=10"

    response = client.get(f"/measures/1?{query}", headers=bearer("admin"))

    assert response.status_code == 200
    call = measures.list_measures.call_args
    assert call.kwargs["since"] == datetime(2022, 4, 6, 7, tzinfo=timezone.utc)
    assert call.kwargs["until"] == datetime(2022, 4, 6, 9, 0, 0, 500000, tzinfo=timezone.utc)
    assert call.kwargs["measure_type"] == "hertz"
    assert call.kwargs["limit"] == 10


def test_list_measures_next_link_carries_filters_and_a_cursor_that_reads_back(
    client: FlaskClient, measures: mock.Mock
) -> None:
    measures.list_measures.return_value = Page([ROW], MeasureCursor(ROW.timestamp, 41))

    response = client.get("/measures/1?limit=1&type=hertz", headers=bearer("admin"))

    link = response.headers["Link"]
    assert link.endswith('>; rel="next"')
    url = urllib.parse.urlsplit(link[1 : link.index(">")])
    assert url.path == "/measures/1"
    query = urllib.parse.parse_qs(url.query)
    assert query["limit"] == ["1"] and query["type"] == ["hertz"]
    assert decode_cursor(query["before"][0]) == MeasureCursor(MOMENT, 41)

    client.get(f"/measures/1?{url.query}", headers=bearer("admin"))
    assert measures.list_measures.call_args.kwargs["before"] == MeasureCursor(MOMENT, 41)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2022-04-07T00:00:00Z&to=2022-04-06T00:00:00Z", "from"),
        ("from=yesterday", "from"),
        ("to=2022-04-06T07:00:00", "to"),
        ("limit=0", "limit"),
        ("limit=10001", "limit"),
        ("before=not-a-cursor", "before"),
        ("type=" + "x" * 65, "type"),
        ("colour=red", "colour"),
    ],
)
def test_list_measures_bad_query_is_400_naming_the_field(
    client: FlaskClient, measures: mock.Mock, query: str, field: str
) -> None:
    response = client.get(f"/measures/1?{query}", headers=bearer("admin"))

    assert response.status_code == 400
    assert field in response.json["errors"]
    measures.list_measures.assert_not_called()


def test_list_measures_of_an_experiment_not_associated_is_403(
    client: FlaskClient, measures: mock.Mock
) -> None:
    measures.list_measures.side_effect = Forbidden("read experiment", 2, "not associated")

    assert client.get("/measures/2", headers=bearer("sam")).status_code == 403


def test_list_measures_with_a_non_numeric_id_is_404(client: FlaskClient) -> None:
    assert client.get("/measures/one", headers=bearer("admin")).status_code == 404


def test_cursor_round_trip_keeps_microseconds() -> None:
    cursor = MeasureCursor(MOMENT, 123456789)

    assert decode_cursor(encode_cursor(cursor)) == cursor


@pytest.mark.parametrize("token", ["", "%%%", "YWJj", "x" * 300, 5])
def test_decode_cursor_refuses_what_it_did_not_write(token: object) -> None:
    with pytest.raises(ValueError):
        decode_cursor(token)


def test_list_measure_types_for_a_scientist(client: FlaskClient, measures: mock.Mock) -> None:
    hertz = MeasureType("hertz", "Hz", "frequency")
    measures.list_measure_types.return_value = Page([hertz], None)

    response = client.get("/measure-types/", headers=bearer("sam"))

    assert response.status_code == 200
    assert response.json == [{"name": "hertz", "symbol": "Hz", "quantity": "frequency"}]


def test_create_measure_type_is_201(client: FlaskClient, measures: mock.Mock) -> None:
    measures.create_measure_type.side_effect = lambda actor, measure_type: measure_type
    body = {"name": "gauss", "symbol": "G", "quantity": "magnetic flux density"}

    response = client.post("/measure-types/", json=body, headers=bearer("admin"))

    assert response.status_code == 201
    assert response.json == body
    measures.create_measure_type.assert_called_once_with(
        ADMIN, MeasureType("gauss", "G", "magnetic flux density")
    )


@pytest.mark.parametrize(
    "change", [{"symbol": "x" * 17}, {"name": ""}, {"quantity": None}, {"unit": "G"}]
)
def test_create_measure_type_bad_body_is_400(
    client: FlaskClient, measures: mock.Mock, change: dict[str, object]
) -> None:
    body = {"name": "gauss", "symbol": "G", "quantity": "magnetic flux density", **change}

    response = client.post("/measure-types/", json=body, headers=bearer("admin"))

    assert response.status_code == 400
    measures.create_measure_type.assert_not_called()


def test_create_measure_type_taken_name_is_409(client: FlaskClient, measures: mock.Mock) -> None:
    measures.create_measure_type.side_effect = Conflict("measure_type", "name", "is already taken")
    body = {"name": "hertz", "symbol": "Hz", "quantity": "frequency"}

    assert client.post("/measure-types/", json=body, headers=bearer("admin")).status_code == 409


def test_create_measure_type_as_scientist_is_403(client: FlaskClient) -> None:
    body = {"name": "gauss", "symbol": "G", "quantity": "magnetic flux density"}

    assert client.post("/measure-types/", json=body, headers=bearer("sam")).status_code == 403


def test_export_streams_csv_with_a_header_and_every_row(
    client: FlaskClient, measures: mock.Mock
) -> None:
    older = ROW._replace(measure_id=40, value=99.5, experiment="vibrations, lab 2")
    measures.export_measures.return_value = iter([ROW, older])

    response = client.get("/measures/1/export?type=hertz", headers=bearer("sam"))

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="experiment-1-measures.csv"' in response.headers["Content-Disposition"]
    assert response.get_data(as_text=True).splitlines() == [
        "timestamp,experiment,measure_type,value",
        "2022-04-06T07:00:00.123456Z,device-vibrations,hertz,100.0",
        '2022-04-06T07:00:00.123456Z,"vibrations, lab 2",hertz,99.5',
    ]
    assert measures.export_measures.call_args.kwargs["measure_type"] == "hertz"


def test_export_refused_by_the_service_is_a_problem_not_a_file(
    client: FlaskClient, measures: mock.Mock
) -> None:
    measures.export_measures.side_effect = Forbidden("read measures", 1, "not associated")

    response = client.get("/measures/1/export", headers=bearer("sam"))

    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"


def test_export_with_from_after_to_is_400(client: FlaskClient, measures: mock.Mock) -> None:
    response = client.get("/measures/1/export?from=20&to=10", headers=bearer("sam"))

    assert response.status_code == 400
    assert "from" in response.get_data(as_text=True)
    measures.export_measures.assert_not_called()
