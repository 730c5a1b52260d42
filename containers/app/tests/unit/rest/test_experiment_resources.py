"""ExperimentResource and ExperimentAssociationResource with mocked services."""

from __future__ import annotations

from unittest import mock

import pytest
from flask.testing import FlaskClient

from my_monit.errors import Conflict, Forbidden, InvalidArgument, NotFound
from my_monit.model import Experiment
from my_monit.services import Page

from rest_doubles import ADMIN, SCIENTIST, RecordingAuditLog, bearer


def test_list_experiments_of_a_scientist_gives_a_page_with_next_link(
    client: FlaskClient, experiments: mock.Mock
) -> None:
    experiments.list_experiments.return_value = Page([Experiment(3, "a"), Experiment(7, "b")], 7)

    response = client.get("/experiments/?limit=2&after=1", headers=bearer("sam"))

    assert response.status_code == 200
    assert response.json == [{"experiment_id": 3, "name": "a"}, {"experiment_id": 7, "name": "b"}]
    assert response.headers["Link"] == (
        '<http://localhost/experiments/?limit=2&after=7>; rel="next"'
    )
    experiments.list_experiments.assert_called_once_with(SCIENTIST, 1, 2)


def test_list_experiments_link_follows_the_forwarded_scheme_and_host(
    client: FlaskClient, experiments: mock.Mock
) -> None:
    experiments.list_experiments.return_value = Page([Experiment(3, "a")], 3)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "mymonit.example:8443"}

    response = client.get("/experiments/?limit=1", headers={**bearer("admin"), **forwarded})

    assert response.headers["Link"].startswith("<https://mymonit.example:8443/experiments/?")


@pytest.mark.parametrize("query", ["limit=0", "limit=10001", "after=-1", "after=x", "limt=5"])
def test_list_experiments_bad_query_is_400_not_clamped(
    client: FlaskClient, experiments: mock.Mock, query: str
) -> None:
    response = client.get(f"/experiments/?{query}", headers=bearer("admin"))

    assert response.status_code == 400
    experiments.list_experiments.assert_not_called()


def test_list_experiments_limit_10000_is_accepted(
    client: FlaskClient, experiments: mock.Mock
) -> None:
    experiments.list_experiments.return_value = Page([], None)

    assert client.get("/experiments/?limit=10000", headers=bearer("admin")).status_code == 200
    experiments.list_experiments.assert_called_once_with(ADMIN, 0, 10000)


def test_create_experiment_is_201_with_location(
    client: FlaskClient, experiments: mock.Mock, audit: RecordingAuditLog
) -> None:
    experiments.create_experiment.return_value = Experiment(5, "device-vibrations")

    response = client.post(
        "/experiments/", json={"name": "device-vibrations"}, headers=bearer("admin")
    )

    assert response.status_code == 201
    assert response.json == {"experiment_id": 5, "name": "device-vibrations"}
    assert response.headers["Location"].endswith("/experiments/5")
    assert audit.events[-1].object_id == "5"
    assert audit.events[-1].changes == ("name",)


@pytest.mark.parametrize(
    "body", [{}, {"name": ""}, {"name": "x" * 101}, {"name": 5}, {"name": "a", "id": 1}, []]
)
def test_create_experiment_bad_body_is_400(
    client: FlaskClient, experiments: mock.Mock, body: object
) -> None:
    response = client.post("/experiments/", json=body, headers=bearer("admin"))

    assert response.status_code == 400
    experiments.create_experiment.assert_not_called()


def test_create_experiment_taken_name_is_409(client: FlaskClient, experiments: mock.Mock) -> None:
    experiments.create_experiment.side_effect = Conflict("experiment", "name", "is already taken")

    response = client.post("/experiments/", json={"name": "a"}, headers=bearer("admin"))

    assert response.status_code == 409


def test_get_experiment_of_another_scientist_is_403(
    client: FlaskClient, experiments: mock.Mock
) -> None:
    experiments.get_experiment.side_effect = Forbidden("read experiment", 4, "not associated")

    response = client.get("/experiments/4", headers=bearer("sam"))

    assert response.status_code == 403
    experiments.get_experiment.assert_called_once_with(SCIENTIST, 4)


@pytest.mark.parametrize(
    "path", ["/experiments/abc", "/experiments/-1", "/experiments/4294967296"]
)
def test_get_experiment_with_a_bad_id_is_404(
    client: FlaskClient, experiments: mock.Mock, path: str
) -> None:
    response = client.get(path, headers=bearer("admin"))

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    experiments.get_experiment.assert_not_called()


def test_update_experiment_renames_it(client: FlaskClient, experiments: mock.Mock) -> None:
    experiments.update_experiment.return_value = Experiment(4, "renamed")

    response = client.put("/experiments/4", json={"name": "renamed"}, headers=bearer("admin"))

    assert response.status_code == 200
    assert response.json == {"experiment_id": 4, "name": "renamed"}
    experiments.update_experiment.assert_called_once_with(ADMIN, 4, "renamed")


def test_update_experiment_with_another_id_in_the_body_is_400(
    client: FlaskClient, experiments: mock.Mock
) -> None:
    response = client.put(
        "/experiments/4", json={"experiment_id": 5, "name": "x"}, headers=bearer("admin")
    )

    assert response.status_code == 400
    experiments.update_experiment.assert_not_called()


def test_update_missing_experiment_is_404(client: FlaskClient, experiments: mock.Mock) -> None:
    experiments.update_experiment.side_effect = NotFound("experiment", 9)

    response = client.put("/experiments/9", json={"name": "x"}, headers=bearer("admin"))

    assert response.status_code == 404
    assert response.json["detail"] == "experiment 9 not found"


def test_list_associations_maps_experiment_ids_to_users(
    client: FlaskClient, experiments: mock.Mock
) -> None:
    experiments.list_associations.return_value = Page([(1, [SCIENTIST])], None)

    response = client.get("/scientists-experiments/", headers=bearer("admin"))

    assert response.status_code == 200
    assert response.json == {
        "1": {
            "users": [
                {
                    "user_id": "S1",
                    "name": "Sam Scientist",
                    "username": "uid-sam",
                    "email": "sam@example.org",
                    "role": "SCIENTIST",
                }
            ]
        }
    }


def test_associate_is_201(
    client: FlaskClient, experiments: mock.Mock, audit: RecordingAuditLog
) -> None:
    response = client.post("/scientists-experiments/1/S1", headers=bearer("admin"))

    assert response.status_code == 201
    assert response.json == {"experiment_id": 1, "scientist_id": "S1"}
    experiments.associate.assert_called_once_with(ADMIN, 1, "S1")
    assert audit.events[-1].object_id == "1/S1"


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidArgument("association", "A1", "the user is not a SCIENTIST"), 400),
        (NotFound("user", "S9"), 404),
        (Conflict("association", "scientist_id", "is already taken"), 409),
    ],
)
def test_associate_errors_map_to_status(
    client: FlaskClient, experiments: mock.Mock, error: Exception, status: int
) -> None:
    experiments.associate.side_effect = error

    response = client.post("/scientists-experiments/1/S9", headers=bearer("admin"))

    assert response.status_code == status


def test_dissociate_is_204(client: FlaskClient, experiments: mock.Mock) -> None:
    response = client.delete("/scientists-experiments/1/S1", headers=bearer("admin"))

    assert response.status_code == 204
    experiments.dissociate.assert_called_once_with(ADMIN, 1, "S1")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/scientists-experiments/"),
        ("post", "/scientists-experiments/1/S1"),
        ("delete", "/scientists-experiments/1/S1"),
        ("post", "/experiments/"),
        ("put", "/experiments/1"),
    ],
)
def test_admin_routes_refuse_a_scientist(
    client: FlaskClient, experiments: mock.Mock, method: str, path: str
) -> None:
    response = getattr(client, method)(path, json={"name": "x"}, headers=bearer("sam"))

    assert response.status_code == 403
    assert not [call for call in experiments.mock_calls if call[0] != "list_experiments"]
