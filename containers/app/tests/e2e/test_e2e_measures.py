"""GET /measures/{experiment_id} through nginx: order, filters, limits and next links."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from world import Api, World, insert_measures, unique  # pylint: disable=import-error  # beside

from my_monit.model import Experiment, parse_timestamp

pytestmark = pytest.mark.e2e

START = datetime(2023, 1, 1, tzinfo=timezone.utc)


def _experiment(world: World, rows: list[tuple[str, datetime, float]]) -> int:
    """A new experiment of the associated scientist, holding ``rows``."""
    experiment = world.storage.insert_experiment(Experiment(None, unique("measured")))
    world.storage.insert_association(experiment.experiment_id, world.scientist.user_id)
    insert_measures(world.storage, experiment.experiment_id, rows)
    return experiment.experiment_id


def _values(response: requests.Response) -> list[float]:
    return [measure["value"] for measure in response.json()]


def _next(api: Api, response: requests.Response) -> str | None:
    """The next page's URL from the Link header, resolved like a client would."""
    link = response.links.get("next")
    if link is None:
        return None
    url = urljoin(response.url, link["url"])
    # The link leads back through this proxy, over HTTPS.
    assert urlsplit(url)[:2] == urlsplit(api.base_url)[:2], url
    return url


def _all_pages(api: Api, world: World, url: str) -> tuple[list[float], int]:
    values: list[float] = []
    pages = 0
    next_url: str | None = url
    while next_url is not None:
        response = api.call("GET", next_url, world.scientist.authorization)
        assert response.status_code == 200, response.text
        values += _values(response)
        pages += 1
        next_url = _next(api, response)
    return values, pages


def test_pages_follow_next_links_without_gaps_or_repeats(api: Api, world: World) -> None:
    # 25 measures, newest has the highest value; pairs share a timestamp, so a page
    # boundary falls between equal times.
    rows = [("hertz", START + timedelta(seconds=i // 2), float(i)) for i in range(25)]
    experiment_id = _experiment(world, rows)

    values, pages = _all_pages(api, world, f"/measures/{experiment_id}?limit=10")

    assert pages == 3
    times = sorted({(row[1], row[2]) for row in rows}, key=lambda r: (r[0], r[1]), reverse=True)
    assert values == [value for _, value in times]


def test_pages_are_stable_while_new_measures_arrive(api: Api, world: World) -> None:
    rows = [("volt", START + timedelta(minutes=i), float(i)) for i in range(20)]
    experiment_id = _experiment(world, rows)
    first = api.call("GET", f"/measures/{experiment_id}?limit=8", world.scientist.authorization)
    next_url = _next(api, first)
    assert next_url is not None

    newer = [("volt", START + timedelta(days=1, minutes=i), 1000.0 + i) for i in range(5)]
    insert_measures(world.storage, experiment_id, newer)
    rest, _ = _all_pages(api, world, next_url)

    assert _values(first) + rest == [float(i) for i in reversed(range(20))]


def test_default_page_is_1000_measures_with_a_next_link(api: Api, world: World) -> None:
    rows = [("hertz", START + timedelta(seconds=i), float(i)) for i in range(1001)]
    experiment_id = _experiment(world, rows)

    first = api.call("GET", f"/measures/{experiment_id}", world.scientist.authorization)
    last = api.call("GET", _next(api, first) or "", world.scientist.authorization)

    assert first.status_code == 200 and len(first.json()) == 1000
    assert _values(first)[0] == 1000.0 and _values(first)[-1] == 1.0
    assert _values(last) == [0.0] and "next" not in last.links
    largest = api.call("GET", f"/measures/{experiment_id}?limit=10000",
                       world.scientist.authorization)
    assert len(largest.json()) == 1001 and "next" not in largest.links


@pytest.mark.parametrize(
    "query,expected",
    [
        ({"from": "2023-01-01T00:00:01.5Z", "to": "2023-01-01T00:00:04.5Z"}, [4.0, 3.0, 2.0]),
        ({"from": str(START.timestamp() + 1.5), "to": str(START.timestamp() + 4.5)},
         [4.0, 3.0, 2.0]),
        ({"from": "2023-01-01T01:00:02.5+01:00"}, [5.0, 4.0, 3.0]),
        ({"type": "volt"}, [5.0, 3.0, 1.0]),
        ({"type": "volt", "to": "2023-01-01T00:00:02.5Z"}, [1.0]),
    ],
    ids=["ISO range", "unix range", "ISO with an offset", "type", "type and to"],
)
def test_filters_select_measures(
    api: Api, world: World, query: dict[str, str], expected: list[float]
) -> None:
    rows = [
        ("volt" if i % 2 else "hertz", START + timedelta(seconds=i), float(i)) for i in range(6)
    ]
    experiment_id = _experiment(world, rows)

    response = api.call("GET", f"/measures/{experiment_id}", world.scientist.authorization,
                        params=query)

    assert response.status_code == 200, response.text
    assert _values(response) == expected


def test_measures_keep_microseconds_and_values(api: Api, world: World) -> None:
    taken_at = datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=timezone.utc)
    experiment_id = _experiment(world, [("pascal", taken_at, 1.0e-300)])

    response = api.call("GET", f"/measures/{experiment_id}", world.scientist.authorization)

    (measure,) = response.json()
    assert parse_timestamp(measure["timestamp"]) == taken_at
    assert measure["timestamp"].endswith("Z")
    assert measure["value"] == 1.0e-300 and measure["measure_type"] == "pascal"


def test_measures_of_a_missing_experiment_are_not_found(api: Api, world: World) -> None:
    response = api.call("GET", "/measures/987654321", world.admin.authorization)

    assert response.status_code == 404
    problem: dict[str, Any] = response.json()
    assert problem["status"] == 404
