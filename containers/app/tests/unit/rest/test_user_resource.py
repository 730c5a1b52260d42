"""UserResource with a mocked UserService: status codes, bodies, validation, audit."""

from __future__ import annotations

import dataclasses
from unittest import mock

import pytest
from flask.testing import FlaskClient

from my_monit.errors import Conflict, Forbidden, NotFound
from my_monit.model import Role, User
from my_monit.services import Page

from rest_doubles import ADMIN, SCIENTIST, RecordingAuditLog, bearer

NEW_USER = {
    "user_id": "S2",
    "name": "Marie Curie",
    "username": "uid-marie",
    "email": "marie@example.org",
    "role": "SCIENTIST",
}
PERSONAL = ("Marie Curie", "uid-marie", "marie@example.org")


def _user(body: dict[str, str]) -> User:
    return User(body["user_id"], body["name"], body["username"], body["email"], Role(body["role"]))


def test_create_user_as_admin_is_201_with_the_user_and_its_location(
    client: FlaskClient, users: mock.Mock
) -> None:
    users.create_user.side_effect = lambda actor, user: user

    response = client.post("/users/", json=NEW_USER, headers=bearer("admin"))

    assert response.status_code == 201
    assert response.json == NEW_USER
    assert response.headers["Location"].endswith("/users/S2")
    users.create_user.assert_called_once_with(ADMIN, _user(NEW_USER))


def test_create_user_without_role_makes_a_scientist(client: FlaskClient, users: mock.Mock) -> None:
    users.create_user.side_effect = lambda actor, user: user
    body = {key: value for key, value in NEW_USER.items() if key != "role"}

    response = client.post("/users/", json=body, headers=bearer("admin"))

    assert response.status_code == 201
    assert response.json["role"] == "SCIENTIST"


def test_create_user_as_scientist_is_403_before_the_body_is_read(
    client: FlaskClient, users: mock.Mock
) -> None:
    response = client.post("/users/", json={"junk": 1}, headers=bearer("sam"))

    assert response.status_code == 403
    users.create_user.assert_not_called()


def test_create_user_taken_staff_id_is_409(client: FlaskClient, users: mock.Mock) -> None:
    users.create_user.side_effect = Conflict("user", "user_id", "is already taken")

    response = client.post("/users/", json=NEW_USER, headers=bearer("admin"))

    assert response.status_code == 409
    assert response.json["detail"] == "user user_id: is already taken"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"user_id": "has space"}, "user_id"),
        ({"user_id": "x" * 31}, "user_id"),
        ({"name": "x" * 101}, "name"),
        ({"name": "   "}, "name"),
        ({"name": 42}, "name"),
        ({"username": "u" * 129}, "username"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@b.c" + "x" * 250}, "email"),
        ({"role": "KING"}, "role"),
        ({"extra": "field"}, "extra"),
    ],
)
def test_create_user_invalid_field_is_400_naming_it(
    client: FlaskClient, users: mock.Mock, change: dict[str, object], field: str
) -> None:
    response = client.post("/users/", json={**NEW_USER, **change}, headers=bearer("admin"))

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"]
    assert field in response.json["detail"]
    users.create_user.assert_not_called()


@pytest.mark.parametrize("missing", ["user_id", "name", "username", "email"])
def test_create_user_missing_field_is_400(
    client: FlaskClient, users: mock.Mock, missing: str
) -> None:
    body = {key: value for key, value in NEW_USER.items() if key != missing}

    response = client.post("/users/", json=body, headers=bearer("admin"))

    assert response.status_code == 400
    assert list(response.json["errors"]) == [missing]


def test_create_user_invalid_input_echoes_no_submitted_value(client: FlaskClient) -> None:
    body = {
        "user_id": "Marie Curie",
        "name": "Marie Curie" * 20,
        "username": 7,
        "email": "marie@example.org@",
        "role": "uid-marie",
        "marie@example.org": "Marie Curie",
    }

    response = client.post("/users/", json=body, headers=bearer("admin"))

    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert not [value for value in (*PERSONAL, "marie@example.org@") if value in text]
    assert "(unnamed)" in response.json["errors"]


def test_list_users_gives_a_page_and_a_next_link(client: FlaskClient, users: mock.Mock) -> None:
    users.list_users.return_value = Page([ADMIN, SCIENTIST], "S1")

    response = client.get("/users/?limit=2", headers=bearer("admin"))

    assert response.status_code == 200
    assert [user["user_id"] for user in response.json] == ["A1", "S1"]
    assert response.headers["Link"] == '<http://localhost/users/?limit=2&after=S1>; rel="next"'
    users.list_users.assert_called_once_with(ADMIN, "", 2)


def test_list_users_last_page_has_no_link(client: FlaskClient, users: mock.Mock) -> None:
    users.list_users.return_value = Page([SCIENTIST], None)

    response = client.get("/users/?after=A1", headers=bearer("admin"))

    assert response.status_code == 200
    assert "Link" not in response.headers
    users.list_users.assert_called_once_with(ADMIN, "A1", 1000)


@pytest.mark.parametrize("query", ["limit=0", "limit=10001", "limit=abc", "after=a%20b", "x=1"])
def test_list_users_bad_query_is_400(client: FlaskClient, users: mock.Mock, query: str) -> None:
    response = client.get(f"/users/?{query}", headers=bearer("admin"))

    assert response.status_code == 400
    assert query.split("=")[0] in response.json["errors"]
    users.list_users.assert_not_called()


def test_list_users_as_scientist_is_403(client: FlaskClient) -> None:
    assert client.get("/users/", headers=bearer("sam")).status_code == 403


def test_me_gives_the_signed_in_user(client: FlaskClient) -> None:
    response = client.get("/users/me", headers=bearer("sam"))

    assert response.status_code == 200
    assert response.json == {
        "user_id": "S1",
        "name": "Sam Scientist",
        "username": "uid-sam",
        "email": "sam@example.org",
        "role": "SCIENTIST",
    }


def test_get_user_passes_the_staff_id(client: FlaskClient, users: mock.Mock) -> None:
    users.get_user.return_value = SCIENTIST

    response = client.get("/users/S1", headers=bearer("sam"))

    assert response.status_code == 200
    users.get_user.assert_called_once_with(SCIENTIST, "S1")


@pytest.mark.parametrize(
    ("error", "status"),
    [(NotFound("user", "S9"), 404), (Forbidden("read user", "A1", "only an admin"), 403)],
)
def test_get_user_errors_map_to_status(
    client: FlaskClient, users: mock.Mock, error: Exception, status: int
) -> None:
    users.get_user.side_effect = error

    assert client.get("/users/S9", headers=bearer("sam")).status_code == status


def test_get_user_with_an_email_in_the_path_is_404_without_echo(
    client: FlaskClient, users: mock.Mock, audit: RecordingAuditLog
) -> None:
    response = client.get("/users/marie@example.org", headers=bearer("admin"))

    assert response.status_code == 404
    assert "marie" not in response.get_data(as_text=True)
    users.get_user.assert_not_called()
    assert audit.events[-1].path is None


def test_update_user_changes_given_fields_and_audits_their_names(
    client: FlaskClient, users: mock.Mock, audit: RecordingAuditLog
) -> None:
    changed = dataclasses.replace(SCIENTIST, name="Sam Renamed")
    users.get_user.return_value = SCIENTIST
    users.update_user.return_value = changed

    response = client.put("/users/S1", json={"name": "Sam Renamed"}, headers=bearer("sam"))

    assert response.status_code == 200
    assert response.json["name"] == "Sam Renamed"
    users.update_user.assert_called_once_with(SCIENTIST, "S1", {"name": "Sam Renamed"})
    assert audit.events[-1].changes == ("name",)
    assert "Sam Renamed" not in repr(audit.events[-1].to_ecs())


def test_update_user_with_the_same_staff_id_in_the_body_is_accepted(
    client: FlaskClient, users: mock.Mock
) -> None:
    users.get_user.return_value = SCIENTIST
    users.update_user.return_value = SCIENTIST

    response = client.put("/users/S1", json={"user_id": "S1"}, headers=bearer("admin"))

    assert response.status_code == 200
    users.update_user.assert_called_once_with(ADMIN, "S1", {})


def test_update_user_with_another_staff_id_in_the_body_is_400(
    client: FlaskClient, users: mock.Mock
) -> None:
    response = client.put("/users/S1", json={"user_id": "S2"}, headers=bearer("admin"))

    assert response.status_code == 400
    assert "user_id" in response.json["detail"]
    users.update_user.assert_not_called()


def test_update_user_role_by_the_user_is_403(client: FlaskClient, users: mock.Mock) -> None:
    users.get_user.return_value = SCIENTIST
    users.update_user.side_effect = Forbidden("update user", "S1", "may not change role")

    response = client.put("/users/S1", json={"role": "ADMIN"}, headers=bearer("sam"))

    assert response.status_code == 403
    assert response.json["detail"] == "update user S1: may not change role"


def test_erase_user_is_204_without_body(
    client: FlaskClient, users: mock.Mock, audit: RecordingAuditLog
) -> None:
    response = client.delete("/users/S1", headers=bearer("admin"))

    assert response.status_code == 204
    assert response.data == b""
    users.erase_user.assert_called_once_with(ADMIN, "S1")
    assert audit.events[-1].action == "user.erase"
    assert audit.events[-1].object_id == "S1"


def test_erase_user_as_scientist_is_403(client: FlaskClient, users: mock.Mock) -> None:
    assert client.delete("/users/S1", headers=bearer("sam")).status_code == 403
    users.erase_user.assert_not_called()


def test_update_of_another_user_by_a_scientist_is_403_before_the_body_is_read(
    client: FlaskClient, users: mock.Mock
) -> None:
    response = client.put("/users/A1", json={"name": 5}, headers=bearer("sam"))

    assert response.status_code == 403
    users.update_user.assert_not_called()


def test_query_parameter_on_a_route_that_takes_none_is_400_without_echoing_it(
    client: FlaskClient, users: mock.Mock
) -> None:
    users.get_user.return_value = SCIENTIST

    response = client.get("/users/me?marie@example.org=1", headers=bearer("sam"))

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert "marie" not in response.get_data(as_text=True)
    users.get_user.assert_not_called()


def test_query_parameter_given_twice_is_400_naming_it(
    client: FlaskClient, users: mock.Mock
) -> None:
    response = client.get("/users/?limit=1&limit=2", headers=bearer("admin"))

    assert response.status_code == 400
    assert "limit" in response.json["detail"]
    users.list_users.assert_not_called()


def test_query_parameter_is_checked_only_after_sign_in(client: FlaskClient) -> None:
    assert client.get("/users/me?x=1").status_code == 401
