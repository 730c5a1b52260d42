"""The REST app on the real database, through Flask's test client.

Every part is the production one: tokens are signed with a key made here and verified
by firebase-admin against its certificate, served on loopback (FIREBASE_CERTS_URL);
services, storage and MariaDB are real; audit events go through the real Logstash
handler to a stand-in Logstash on loopback.
"""

from __future__ import annotations

# pytest passes fixtures by name: arguments share the names of the fixture functions.
# pylint: disable=redefined-outer-name

import dataclasses
import functools
import logging
import urllib.parse
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import pytest
from flask.testing import FlaskClient

from my_monit.config import Config
from my_monit.container import Container, create_container
from my_monit.logging.audit import AUDIT_LOGGER
from my_monit.logging.logstash import LogstashConfiguration, LogstashHandler
from my_monit.model import Role, User
from my_monit.rest.listener import create_app
from support.logstash_listener import LogstashListener, field, find_leaks
from support.token_signing import PROJECT, CertificateServer, SigningKey

pytestmark = pytest.mark.integration

ADMIN = User("A1", "Ada Admin", "uid-ada", "ada@example.org", Role.ADMIN)
SCIENTIST = {
    "user_id": "S123",
    "name": "Marie Curie",
    "username": "uid-marie",
    "email": "marie@example.org",
    "role": "SCIENTIST",
}
OUTSIDER = {
    "user_id": "S456",
    "name": "Pierre Curie",
    "username": "uid-pierre",
    "email": "pierre@example.org",
    "role": "SCIENTIST",
}
# Firebase uids of the callers; ghost has a Firebase account but no MyMONIT user.
UIDS = {"ada": "uid-ada", "marie": "uid-marie", "pierre": "uid-pierre", "ghost": "uid-ghost"}
T0 = datetime(2022, 4, 6, 7, 0, 0, 250000, tzinfo=timezone.utc)
HERTZ = 3  # measure type id of hertz in the schema's list
KEY = SigningKey()


@functools.cache
def bearer(who: str) -> dict[str, str]:
    """Give the Authorization header of ada, marie, pierre or ghost: a signed ID token."""
    return {"Authorization": f"Bearer {KEY.sign(UIDS[who])}"}


@pytest.fixture(scope="module")
def certificates() -> Iterator[CertificateServer]:
    """Google's certificate endpoint on loopback, serving the certificate of KEY."""
    with CertificateServer(KEY) as server:
        yield server


@pytest.fixture
def container(
    clean_database: Config, certificates: CertificateServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Container]:
    """The app's container on the test database, verifying tokens signed by KEY; one admin."""
    # The SDK reads this variable itself: without it, tokens go the production path.
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST", raising=False)
    config = dataclasses.replace(
        clean_database, firebase_project_id=PROJECT, firebase_certs_url=certificates.url
    )
    built = create_container(config)
    built.user_service().create_admin(ADMIN)
    yield built
    built.storage_connector().close()


@pytest.fixture
def logstash() -> Iterator[LogstashListener]:
    """A stand-in Logstash receiving the audit events through the app's Logstash handler."""
    with LogstashListener() as listener:
        handler = LogstashHandler(LogstashConfiguration("127.0.0.1", listener.port))
        audit = logging.getLogger(AUDIT_LOGGER)
        level = audit.level
        audit.setLevel(logging.INFO)  # as configure_logging sets it in the app
        audit.addHandler(handler)
        try:
            yield listener
        finally:
            audit.removeHandler(handler)
            audit.setLevel(level)
            handler.flush(5.0)
            handler.close()


@pytest.fixture
def client(container: Container) -> FlaskClient:
    """A test client of the app built from the container."""
    return create_app(container).test_client()


@pytest.fixture
def world(client: FlaskClient, container: Container) -> dict[str, Any]:
    """The design's sequence: a scientist and an outsider, an experiment, an association."""
    for user in (SCIENTIST, OUTSIDER):
        assert client.post("/users/", json=user, headers=bearer("ada")).status_code == 201
    created = client.post(
        "/experiments/", json={"name": "device-vibrations"}, headers=bearer("ada")
    )
    experiment_id = created.json["experiment_id"]
    other = client.post("/experiments/", json={"name": "magnet-quench"}, headers=bearer("ada"))
    path = f"/scientists-experiments/{experiment_id}/S123"
    assert client.post(path, headers=bearer("ada")).status_code == 201
    rows = [(experiment_id, HERTZ, T0 + timedelta(seconds=i), float(i)) for i in range(25)]
    container.storage().insert_measures(rows)
    return {"experiment": experiment_id, "other": other.json["experiment_id"]}


def _count(container: Container, table: str) -> int:
    with container.storage_connector().transaction() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")  # nosec B608 - fixed table names
        return int(cursor.fetchone()[0])


def test_design_sequence_scientist_reads_the_measures_of_their_experiment(
    client: FlaskClient, world: dict[str, Any]
) -> None:
    response = client.get(f"/measures/{world['experiment']}?limit=3", headers=bearer("marie"))

    assert response.status_code == 200
    assert response.json == [
        {
            "experiment": "device-vibrations",
            "measure_type": "hertz",
            "timestamp": (T0 + timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "value": float(second),
        }
        for second in (24, 23, 22)
    ]
    assert 'rel="next"' in response.headers["Link"]


def test_admin_reads_users_experiments_and_associations(
    client: FlaskClient, world: dict[str, Any]
) -> None:
    users = client.get("/users/", headers=bearer("ada")).json
    experiments = client.get("/experiments/", headers=bearer("ada")).json
    associations = client.get("/scientists-experiments/", headers=bearer("ada")).json

    assert [user["user_id"] for user in users] == ["A1", "S123", "S456"]
    assert [experiment["name"] for experiment in experiments] == [
        "device-vibrations",
        "magnet-quench",
    ]
    assert associations == {str(world["experiment"]): {"users": [SCIENTIST]}}


ROUTES = [
    ("get", "/users/me", None),
    ("get", "/users/S123", None),
    ("put", "/users/S123", {"name": "Marie S. Curie"}),
    ("get", "/experiments/", None),
    ("get", "/experiments/{experiment}", None),
    ("get", "/measures/{experiment}", None),
    ("get", "/measure-types/", None),
    ("get", "/users/", None),
    ("post", "/users/", {**OUTSIDER, "user_id": "S789", "username": "u", "email": "x@y.org"}),
    ("delete", "/users/S456", None),
    ("post", "/experiments/", {"name": "new-experiment"}),
    ("put", "/experiments/{experiment}", {"name": "renamed"}),
    ("get", "/scientists-experiments/", None),
    ("post", "/scientists-experiments/{other}/S123", None),
    ("delete", "/scientists-experiments/{experiment}/S123", None),
    ("post", "/measure-types/", {"name": "gauss", "symbol": "G", "quantity": "flux density"}),
    ("get", "/measures/{experiment}/export", None),
]
# What each caller gets: the associated scientist reads their own things only.
EXPECTED = {
    "ada": [200, 200, 200, 200, 200, 200, 200, 200, 201, 204, 201, 200, 200, 201, 204, 201, 200],
    "marie": [200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200],
    "pierre": [200, 403, 403, 200, 403, 403, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403,
               403],
    "ghost": [403] * len(ROUTES),
    "garbage": [401] * len(ROUTES),
    "none": [401] * len(ROUTES),
}


@pytest.mark.parametrize("who", list(EXPECTED))
def test_every_route_answers_each_caller_as_the_contract_says(
    client: FlaskClient, world: dict[str, Any], who: str
) -> None:
    unsigned = {"none": {}, "garbage": {"Authorization": "Bearer not.a.token"}}
    headers = unsigned[who] if who in unsigned else bearer(who)
    statuses = []
    for method, path, body in ROUTES:
        response = getattr(client, method)(path.format(**world), json=body, headers=headers)
        statuses.append(response.status_code)

    assert statuses == EXPECTED[who]


def test_scientist_of_another_experiment_reads_no_measures(
    client: FlaskClient, world: dict[str, Any]
) -> None:
    response = client.get(f"/measures/{world['experiment']}", headers=bearer("pierre"))

    assert response.status_code == 403
    assert "Marie" not in response.get_data(as_text=True)


def test_measure_pages_stay_stable_while_new_measures_arrive(
    client: FlaskClient, world: dict[str, Any], container: Container
) -> None:
    first = client.get(f"/measures/{world['experiment']}?limit=10", headers=bearer("marie"))
    later = T0 + timedelta(hours=1)
    newer = [(world["experiment"], HERTZ, later + timedelta(seconds=i), 1.0) for i in range(5)]
    container.storage().insert_measures(newer)

    seen = [row["value"] for row in first.json]
    link = first.headers["Link"]
    while link:
        url = urllib.parse.urlsplit(link[1 : link.index(">")])
        page = client.get(f"{url.path}?{url.query}", headers=bearer("marie"))
        seen += [row["value"] for row in page.json]
        link = page.headers.get("Link")

    assert seen == [float(second) for second in range(24, -1, -1)]


def test_measures_filtered_by_time_and_type(client: FlaskClient, world: dict[str, Any]) -> None:
    since = int((T0 + timedelta(seconds=10)).timestamp())
    until = (T0 + timedelta(seconds=12)).isoformat()
    query = urllib.parse.urlencode({"from": since, "to": until, "type": "hertz"})

    response = client.get(f"/measures/{world['experiment']}?{query}", headers=bearer("ada"))

    assert [row["value"] for row in response.json] == [12.0, 11.0, 10.0]
    other_type = client.get(f"/measures/{world['experiment']}?type=volt", headers=bearer("ada"))
    assert other_type.json == []


def test_export_streams_every_matching_measure_as_csv_across_chunks(
    client: FlaskClient, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chunks of 4 rows: the 25 measures take seven queries, each on a pooled connection.
    monkeypatch.setattr("my_monit.services.measures_service.EXPORT_CHUNK", 4)
    since = (T0 + timedelta(seconds=3)).isoformat()

    response = client.get(
        f"/measures/{world['experiment']}/export?from={urllib.parse.quote(since)}",
        headers=bearer("marie"),
    )

    lines = response.get_data(as_text=True).splitlines()
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert lines[0] == "timestamp,experiment,measure_type,value"
    assert [float(line.rsplit(",", 1)[1]) for line in lines[1:]] == [
        float(second) for second in range(24, 2, -1)
    ]
    assert lines[1] == (
        (T0 + timedelta(seconds=24)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        + ",device-vibrations,hertz,24.0"
    )


@pytest.mark.usefixtures("world")
def test_user_updates_own_name_but_not_own_role(
    client: FlaskClient
) -> None:
    renamed = client.put("/users/S123", json={"name": "Maria"}, headers=bearer("marie"))
    promoted = client.put("/users/S123", json={"role": "ADMIN"}, headers=bearer("marie"))

    assert renamed.status_code == 200
    assert renamed.json == {**SCIENTIST, "name": "Maria"}
    assert promoted.status_code == 403
    assert client.get("/users/me", headers=bearer("marie")).json["role"] == "SCIENTIST"


@pytest.mark.usefixtures("world")
def test_admin_changes_a_username_and_the_old_uid_can_no_longer_sign_in(
    client: FlaskClient
) -> None:
    response = client.put("/users/S456", json={"username": "uid-pierre-2"}, headers=bearer("ada"))

    assert response.status_code == 200
    assert client.get("/users/me", headers=bearer("pierre")).status_code == 403


@pytest.mark.usefixtures("world")
def test_erasure_removes_personal_data_and_sign_in_and_blocks_the_staff_id(
    client: FlaskClient
) -> None:
    assert client.get("/users/me", headers=bearer("marie")).status_code == 200

    assert client.delete("/users/S123", headers=bearer("ada")).status_code == 204

    assert client.get("/users/me", headers=bearer("marie")).status_code == 403
    assert client.get("/users/S123", headers=bearer("ada")).status_code == 404
    assert client.get("/scientists-experiments/", headers=bearer("ada")).json == {}
    again = client.post("/users/", json={**SCIENTIST, "username": "u2"}, headers=bearer("ada"))
    assert again.status_code == 409


def test_duplicates_are_409(client: FlaskClient, world: dict[str, Any]) -> None:
    same_email = {**SCIENTIST, "user_id": "S999", "username": "uid-other"}
    same_name = {"name": "device-vibrations"}
    association = f"/scientists-experiments/{world['experiment']}/S123"

    assert client.post("/users/", json=same_email, headers=bearer("ada")).status_code == 409
    assert client.post("/experiments/", json=same_name, headers=bearer("ada")).status_code == 409
    assert client.post(association, headers=bearer("ada")).status_code == 409


def test_associating_an_admin_is_400_and_a_missing_user_404(
    client: FlaskClient, world: dict[str, Any]
) -> None:
    admin = client.post(f"/scientists-experiments/{world['experiment']}/A1", headers=bearer("ada"))
    missing = client.post(
        f"/scientists-experiments/{world['experiment']}/S000", headers=bearer("ada")
    )

    assert admin.status_code == 400
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("post", "/users/", {"data": "{", "content_type": "application/json"}),
        ("post", "/users/", {"json": {**SCIENTIST, "user_id": "S9", "role": 7}}),
        ("post", "/users/", {"json": {"user_id": "S9"}}),
        ("post", "/users/", {"json": {**SCIENTIST, "user_id": "S9", "admin": True}}),
        ("post", "/users/", {"json": {**SCIENTIST, "user_id": "S9", "name": "n" * 101}}),
        ("post", "/users/", {"data": "x" * (1024 * 1024 + 1), "content_type": "application/json"}),
        ("post", "/experiments/", {"json": {"name": "e" * 101}}),
        ("put", "/users/S123", {"json": {"email": "marie-at-example.org"}}),
        ("get", "/measures/{experiment}?from=2022-02-01T00:00:00Z&to=2022-01-01T00:00:00Z", {}),
        ("get", "/experiments/?limit=10001", {}),
        ("get", "/experiments/one", {}),
    ],
)
def test_bad_input_is_a_4xx_problem_writes_nothing_and_the_app_keeps_serving(
    client: FlaskClient,
    world: dict[str, Any],
    container: Container,
    method: str,
    path: str,
    kwargs: dict[str, Any],
) -> None:
    before = {table: _count(container, table) for table in ("users", "experiments")}
    marie = client.get("/users/S123", headers=bearer("ada")).json

    response = getattr(client, method)(path.format(**world), headers=bearer("ada"), **kwargs)

    assert 400 <= response.status_code < 500
    assert response.mimetype == "application/problem+json"
    assert "marie@example.org" not in response.get_data(as_text=True)
    assert {table: _count(container, table) for table in before} == before
    assert client.get("/users/S123", headers=bearer("ada")).json == marie
    assert client.get("/healthz").status_code == 200


def test_each_call_is_audited_with_the_actor_staff_id_and_no_personal_data(
    client: FlaskClient, world: dict[str, Any], logstash: LogstashListener
) -> None:
    client.put("/users/S123", json={"email": "curie@example.org"}, headers=bearer("ada"))
    client.get(f"/measures/{world['experiment']}", headers=bearer("pierre"))

    update, denied = logstash.wait_for(
        lambda event: field(event, "event.dataset") == "mymonit.audit", count=2
    )
    assert (field(update, "event.action"), field(update, "user.id")) == ("user.update", "A1")
    assert field(update, "mymonit.changes") == ["email"]
    assert (field(denied, "event.action"), field(denied, "user.id")) == ("measures.read", "S456")
    assert field(denied, "event.outcome") == "failure"
    assert "denied" in field(denied, "event.type")
    secrets = ["curie@example.org", "Marie Curie", "uid-marie", "uid-pierre", "uid-ada"]
    assert find_leaks(logstash.texts(), secrets) == []


def test_readyz_is_200_on_the_real_database(client: FlaskClient) -> None:
    assert client.get("/readyz").json == {"status": "ready"}


def _follow(client: FlaskClient, path: str, who: str) -> list[Any]:
    """Read every page of a list by its Link headers; give the pages' bodies."""
    pages = []
    while path:
        response = client.get(path, headers=bearer(who))
        assert response.status_code == 200
        pages.append(response.json)
        link = response.headers.get("Link")
        path = ""
        if link:
            url = urllib.parse.urlsplit(link[1 : link.index(">")])
            path = f"{url.path}?{url.query}"
    return pages


def test_measure_types_come_page_by_page_with_next_links(
    client: FlaskClient, world: dict[str, Any]
) -> None:
    del world
    pages = _follow(client, "/measure-types/?limit=5", "marie")

    names = [measure_type["name"] for page in pages for measure_type in page]
    assert len(pages) == 5 and [len(page) for page in pages] == [5, 5, 5, 5, 2]
    assert names == sorted(names) and len(set(names)) == 22


def test_associations_come_page_by_page_by_experiment(
    client: FlaskClient, world: dict[str, Any]
) -> None:
    path = f"/scientists-experiments/{world['other']}/S123"
    assert client.post(path, headers=bearer("ada")).status_code == 201

    pages = _follow(client, "/scientists-experiments/?limit=1", "ada")

    assert pages == [
        {str(world["experiment"]): {"users": [SCIENTIST]}},
        {str(world["other"]): {"users": [SCIENTIST]}},
    ]
    too_many = client.get("/scientists-experiments/?limit=10001", headers=bearer("ada"))
    assert too_many.status_code == 400
