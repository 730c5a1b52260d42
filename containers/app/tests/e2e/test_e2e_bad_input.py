"""Bad input through nginx: a 4xx problem body naming the field, nothing written, still serving."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator

import pytest

# pylint: disable-next=import-error  # beside this file
from world import Api, World, assert_names_field, assert_problem, unique

pytestmark = pytest.mark.e2e

# Invalid input is a 400 (the contract allows 422 as well; this app answers 400).
INVALID = (400,)
LONG_NAME = "Bartholomew " * 9  # 108 characters: over the 100 allowed, and personal data


@dataclass(frozen=True)
class BadBody:
    """A request body that must be refused, and the field its problem must name."""

    label: str
    method: str
    path: str
    body: Any
    field: str | None
    raw: bool = False


def _user(**changes: Any) -> dict[str, Any]:
    user = {
        "user_id": unique("B"),
        "name": "Bella Bad",
        "username": unique("bad-uid"),
        "email": f"{unique('bella')}@e2e.example.org",
        "role": "SCIENTIST",
    }
    user.update(changes)
    return {key: value for key, value in user.items() if value is not None}


BAD_BODIES = [
    BadBody("malformed JSON", "POST", "/users/", '{"user_id": "B1", "name": ', None, raw=True),
    BadBody("a JSON array", "POST", "/users/", [_user()], None),
    BadBody("an empty body", "POST", "/users/", "", None, raw=True),
    BadBody("user_id of a wrong type", "POST", "/users/", _user(user_id=5), "user_id"),
    BadBody("role of a wrong type", "POST", "/users/", _user(role=["ADMIN"]), "role"),
    BadBody("an unknown role", "POST", "/users/", _user(role="OWNER"), "role"),
    BadBody("a missing email", "POST", "/users/", _user(email=None), "email"),
    BadBody("a missing user_id", "POST", "/users/", _user(user_id=None), "user_id"),
    BadBody("an unknown field", "POST", "/users/", _user(is_root=True), "is_root"),
    BadBody("an over-long name", "POST", "/users/", _user(name=LONG_NAME), "name"),
    BadBody("an over-long username", "POST", "/users/", _user(username="u" * 129), "username"),
    BadBody("an over-long user_id", "POST", "/users/", _user(user_id="S" * 31), "user_id"),
    BadBody("a user_id with spaces", "POST", "/users/", _user(user_id="S 1"), "user_id"),
    BadBody("an email that is none", "POST", "/users/", _user(email="bella.example.org"),
            "email"),
    BadBody("an experiment name too long", "POST", "/experiments/", {"name": "e" * 101},
            "name"),
    BadBody("an experiment name of a wrong type", "POST", "/experiments/", {"name": 5}, "name"),
    BadBody("an experiment without a name", "POST", "/experiments/", {}, "name"),
    BadBody("an experiment with an unknown field", "POST", "/experiments/",
            {"name": "x", "owner": "me"}, "owner"),
    BadBody("a measure type symbol too long", "POST", "/measure-types/",
            {"name": "bad-type", "symbol": "s" * 17, "quantity": "q"}, "symbol"),
    BadBody("a measure type without a quantity", "POST", "/measure-types/",
            {"name": "bad-type", "symbol": "b"}, "quantity"),
]


def _snapshot(world: World) -> tuple[Any, ...]:
    storage = world.storage
    return (
        [user.user_id for user in storage.list_users("", 10000)],
        storage.list_experiments(0, 10000),
        sorted(storage.measure_type_ids()),
        storage.list_associations(0, 10000),
    )


@pytest.fixture
def unchanged(api: Api, world: World) -> Iterator[None]:
    """Check that the test wrote nothing, and that the server still serves."""
    before = _snapshot(world)
    yield
    assert _snapshot(world) == before
    assert api.call("GET", "/healthz").status_code == 200
    assert api.call("GET", "/users/me", world.admin.authorization).status_code == 200


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("bad", BAD_BODIES, ids=lambda bad: bad.label)
def test_bad_body_is_refused_with_a_problem_naming_the_field(
    api: Api, world: World, bad: BadBody
) -> None:
    data = bad.body if bad.raw else json.dumps(bad.body)
    headers = {"Content-Type": "application/json"}

    response = api.call(bad.method, bad.path, world.admin.authorization, data=data,
                         headers=headers)

    assert response.status_code in INVALID, response.text
    assert_problem(response, response.status_code, [LONG_NAME.strip(), "bella.example.org"])
    if bad.field is not None:
        assert_names_field(response, bad.field)


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    "body,field",
    [({"role": "ADMIN", "age": 3}, "age"), ({"name": 7}, "name"),
     ({"email": "no-at-sign"}, "email"), ({"name": ""}, "name"), ({"role": "KING"}, "role")],
    ids=["unknown field", "wrong type", "not an email", "empty name", "unknown role"],
)
def test_bad_user_change_is_refused(
    api: Api, world: World, body: dict[str, Any], field: str
) -> None:
    path = f"/users/{world.scientist.user_id}"

    response = api.call("PUT", path, world.admin.authorization, json=body)

    assert response.status_code in INVALID, response.text
    assert_problem(response, response.status_code, world.personal_data() + ["no-at-sign"])
    assert_names_field(response, field)


@pytest.mark.usefixtures("unchanged")
def test_body_that_is_not_json_is_refused(api: Api, world: World) -> None:
    response = api.call("POST", "/experiments/", world.admin.authorization,
                        data="name=plain", headers={"Content-Type": "text/plain"})

    assert response.status_code in (400, 415, 422), response.text
    assert_problem(response, response.status_code, [])


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/experiments/abc"),
        ("PUT", "/experiments/abc"),
        ("GET", "/measures/abc"),
        ("GET", "/measures/1.5"),
        ("POST", "/scientists-experiments/abc/SCI-1"),
        ("DELETE", "/scientists-experiments/abc/SCI-1"),
        ("GET", "/experiments/-1"),
        ("GET", "/no-such-route"),
    ],
)
def test_non_numeric_id_in_a_path_is_not_found(
    api: Api, world: World, method: str, path: str
) -> None:
    response = api.call(method, path, world.admin.authorization, json={"name": "x"})

    assert response.status_code == 404, response.text
    assert_problem(response, 404, [])


@pytest.mark.usefixtures("unchanged")
def test_id_too_large_for_the_database_is_not_found(api: Api, world: World) -> None:
    response = api.call("GET", "/experiments/99999999999999999999999", world.admin.authorization)

    assert response.status_code == 404, response.text
    assert_problem(response, 404, [])


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("size", [1024 * 1024 + 4096, 3 * 1024 * 1024],
                         ids=["over the app's limit", "over nginx's limit"])
def test_oversized_body_is_refused_with_413(api: Api, world: World, size: int) -> None:
    body = json.dumps(_user(name="x" * size))

    response = api.call("POST", "/users/", world.admin.authorization, data=body,
                        headers={"Content-Type": "application/json"})

    assert response.status_code == 413
    assert_problem(response, 413, [])


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    "query,field",
    [
        ({"from": "2022-04-07T00:00:00Z", "to": "2022-04-06T00:00:00Z"}, "from"),
        ({"from": "1649300000", "to": "1649200000"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2022-13-01T00:00:00Z"}, "to"),
        ({"limit": "0"}, "limit"),
        ({"limit": "10001"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "-5"}, "limit"),
    ],
    ids=["from after to", "from after to, unix", "from not a time", "to not a date",
         "limit 0", "limit over the maximum", "limit not a number", "limit negative"],
)
def test_bad_measure_query_is_refused(
    api: Api, world: World, query: dict[str, str], field: str
) -> None:
    response = api.call("GET", f"/measures/{world.experiment_id}",
                        world.scientist.authorization, params=query)

    assert response.status_code in INVALID, response.text
    assert_problem(response, response.status_code, [])
    assert_names_field(response, field)
