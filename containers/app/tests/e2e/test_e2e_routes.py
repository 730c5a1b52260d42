"""Every route of the contract, called through nginx by every kind of caller.

No token and a garbage token get 401; a valid token of a uid with no MyMONIT user gets
403; a scientist gets what the route allows a scientist (own data, associated
experiments) and 403 otherwise; an admin gets everything. A refused call writes nothing
and its problem body holds no personal data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

import pytest
import requests

# pylint: disable-next=import-error  # beside this file
from world import IDENTITIES, World, assert_problem, unique
from my_monit.model import Experiment, Role, User, parse_timestamp

pytestmark = pytest.mark.e2e

ADMIN = frozenset({"admin"})
READERS = frozenset({"admin", "scientist"})  # an admin, or the associated scientist / the user
EVERYONE = frozenset({"admin", "scientist", "outsider"})


@dataclass(frozen=True)
class Prepared:
    """One call of a route: its path, its body, and what it acts on."""

    path: str
    body: Any = None
    target: Any = None
    personal: tuple[str, ...] = ()


def _nothing(world: World, prepared: Prepared) -> None:
    del world, prepared


@dataclass(frozen=True)
class Route:
    """A route of the contract, how to call it, and how to check its effect."""

    method: str
    template: str
    allowed: frozenset[str]
    success: int
    prepare: Callable[[World], Prepared]
    verify: Callable[[World, Prepared, requests.Response, str], None]
    unchanged: Callable[[World, Prepared], None] = field(default=_nothing)

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def _fresh_experiment(world: World, associate: bool = False) -> Experiment:
    experiment = world.storage.insert_experiment(Experiment(None, unique("experiment")))
    if associate:
        world.storage.insert_association(experiment.experiment_id, world.scientist.user_id)
    return experiment


# POST /users/


def _new_user(world: World) -> Prepared:
    del world
    body = {
        "user_id": unique("S"),
        "name": unique("Nina New"),
        "username": unique("firebase-uid"),
        "email": f"{unique('nina')}@e2e.example.org",
        "role": "SCIENTIST",
    }
    return Prepared("/users/", body, body["user_id"], (body["name"], body["email"]))


def _user_created(world: World, prepared: Prepared, response: requests.Response, _: str) -> None:
    assert response.json() == prepared.body
    assert world.user_json(prepared.target) == prepared.body


def _no_user(world: World, prepared: Prepared) -> None:
    assert world.storage.get_user(prepared.target) is None


# GET /users/


def _users(world: World) -> Prepared:
    del world
    return Prepared("/users/")


def _users_listed(world: World, _: Prepared, response: requests.Response, __: str) -> None:
    users = response.json()
    assert isinstance(users, list)
    listed = {user["user_id"]: user for user in users}
    for person in (world.admin, world.scientist, world.outsider):
        assert listed[person.user_id] == world.user_json(person.user_id)


# GET /users/me, GET and PUT /users/{user_id}


def _me(world: World) -> Prepared:
    del world
    return Prepared("/users/me")


def _me_shown(world: World, _: Prepared, response: requests.Response, who: str) -> None:
    assert response.json() == world.user_json(getattr(world, who).user_id)


def _the_scientist(world: World) -> Prepared:
    return Prepared(f"/users/{world.scientist.user_id}", target=world.scientist.user_id)


def _scientist_shown(world: World, prepared: Prepared, response: requests.Response,
                     _: str) -> None:
    assert response.json() == world.user_json(prepared.target)


def _rename_scientist(world: World) -> Prepared:
    name = unique("Sam Renamed")
    return Prepared(f"/users/{world.scientist.user_id}", {"name": name},
                    world.scientist.user_id, (name,))


def _scientist_renamed(world: World, prepared: Prepared, response: requests.Response,
                       _: str) -> None:
    stored = world.user_json(prepared.target)
    assert stored["name"] == prepared.body["name"]
    assert stored["role"] == "SCIENTIST" and stored["username"] == world.scientist.account.uid
    assert response.json() == stored


def _scientist_not_renamed(world: World, prepared: Prepared) -> None:
    assert world.user_json(prepared.target)["name"] != prepared.body["name"]


# DELETE /users/{user_id}


def _user_to_erase(world: World) -> Prepared:
    user = User(unique("GONE"), "Gary Gone", unique("uid"), f"{unique('g')}@e2e.example.org",
                Role.SCIENTIST)
    world.storage.insert_user(user)
    return Prepared(f"/users/{user.user_id}", target=user.user_id)


def _user_erased(world: World, prepared: Prepared, response: requests.Response, _: str) -> None:
    assert response.content == b""
    stored = world.storage.get_user(prepared.target)
    assert stored.erased and stored.name is None and stored.email is None
    assert stored.username is None


def _user_not_erased(world: World, prepared: Prepared) -> None:
    assert not world.storage.get_user(prepared.target).erased


# /experiments/


def _experiments(world: World) -> Prepared:
    del world
    return Prepared("/experiments/")


def _experiments_listed(world: World, _: Prepared, response: requests.Response,
                        who: str) -> None:
    if who == "admin":
        expected = world.storage.list_experiments(0, 10000)
    else:
        expected = world.storage.list_user_experiments(getattr(world, who).user_id, 0, 10000)
    assert response.json() == [
        {"experiment_id": e.experiment_id, "name": e.name} for e in expected
    ]
    ids = [experiment["experiment_id"] for experiment in response.json()]
    assert (world.experiment_id in ids) == (who != "outsider")


def _new_experiment(world: World) -> Prepared:
    del world
    name = unique("new-experiment")
    return Prepared("/experiments/", {"name": name}, name)


def _experiment_created(world: World, prepared: Prepared, response: requests.Response,
                        _: str) -> None:
    created = response.json()
    assert created["name"] == prepared.target and isinstance(created["experiment_id"], int)
    assert world.storage.get_experiment(created["experiment_id"]).name == prepared.target


def _no_experiment(world: World, prepared: Prepared) -> None:
    assert prepared.target not in world.storage.experiment_ids()


def _the_experiment(world: World) -> Prepared:
    return Prepared(f"/experiments/{world.experiment_id}")


def _experiment_shown(world: World, _: Prepared, response: requests.Response, __: str) -> None:
    assert response.json() == {"experiment_id": world.experiment_id, "name": world.experiment_name}


def _rename_experiment(world: World) -> Prepared:
    # Its own experiment, with the scientist associated: even they may not rename it.
    experiment = _fresh_experiment(world, associate=True)
    return Prepared(f"/experiments/{experiment.experiment_id}", {"name": unique("renamed")},
                    experiment)


def _experiment_renamed(world: World, prepared: Prepared, response: requests.Response,
                        _: str) -> None:
    experiment_id = prepared.target.experiment_id
    assert response.json() == {"experiment_id": experiment_id, "name": prepared.body["name"]}
    assert world.storage.get_experiment(experiment_id).name == prepared.body["name"]


def _experiment_not_renamed(world: World, prepared: Prepared) -> None:
    experiment = prepared.target
    assert world.storage.get_experiment(experiment.experiment_id).name == experiment.name


# /scientists-experiments/


def _associations(world: World) -> Prepared:
    del world
    return Prepared("/scientists-experiments/")


def _associations_listed(world: World, _: Prepared, response: requests.Response,
                         __: str) -> None:
    associations = response.json()
    users = associations[str(world.experiment_id)]["users"]
    assert world.user_json(world.scientist.user_id) in users
    assert world.outsider.user_id not in [user["user_id"] for user in users]


def _associate(world: World) -> Prepared:
    experiment = _fresh_experiment(world)
    path = f"/scientists-experiments/{experiment.experiment_id}/{world.scientist.user_id}"
    return Prepared(path, target=experiment.experiment_id)


def _associated(world: World, prepared: Prepared, response: requests.Response, _: str) -> None:
    assert world.storage.is_associated(prepared.target, world.scientist.user_id)
    assert response.json() == {"experiment_id": prepared.target,
                               "scientist_id": world.scientist.user_id}


def _not_associated(world: World, prepared: Prepared) -> None:
    assert not world.storage.is_associated(prepared.target, world.scientist.user_id)


def _dissociate(world: World) -> Prepared:
    experiment = _fresh_experiment(world, associate=True)
    path = f"/scientists-experiments/{experiment.experiment_id}/{world.scientist.user_id}"
    return Prepared(path, target=experiment.experiment_id)


def _dissociated(world: World, prepared: Prepared, response: requests.Response, _: str) -> None:
    assert response.content == b""
    _not_associated(world, prepared)


def _still_associated(world: World, prepared: Prepared) -> None:
    assert world.storage.is_associated(prepared.target, world.scientist.user_id)


# /measures/ and /measure-types/


def _measures(world: World) -> Prepared:
    return Prepared(f"/measures/{world.experiment_id}")


def _measures_listed(world: World, _: Prepared, response: requests.Response, __: str) -> None:
    measures = response.json()
    assert [_comparable(m) for m in measures] == [_comparable(m) for m in world.measures]
    assert "Link" not in response.headers


def _measures_export(world: World) -> Prepared:
    return Prepared(f"/measures/{world.experiment_id}/export")


def _measures_exported(world: World, _: Prepared, response: requests.Response, __: str) -> None:
    lines = response.text.splitlines()
    assert lines[0] == "timestamp,experiment,measure_type,value"
    exported = [dict(zip(lines[0].split(","), line.split(","))) for line in lines[1:]]
    for measure in exported:
        measure["value"] = float(measure["value"])
    assert [_comparable(m) for m in exported] == [_comparable(m) for m in world.measures]


def _comparable(measure: dict[str, Any]) -> tuple[Any, ...]:
    taken_at: datetime = parse_timestamp(measure["timestamp"])
    return (measure["experiment"], measure["measure_type"], taken_at, measure["value"])


def _measure_types(world: World) -> Prepared:
    del world
    return Prepared("/measure-types/")


def _measure_types_listed(world: World, _: Prepared, response: requests.Response,
                          __: str) -> None:
    types = response.json()
    assert {"name": "hertz", "symbol": "Hz", "quantity": "frequency"} in types
    assert len(types) == len(world.storage.measure_type_ids()) >= 22


def _new_measure_type(world: World) -> Prepared:
    del world
    body = {"name": unique("type"), "symbol": "e2e", "quantity": "end-to-end testing"}
    return Prepared("/measure-types/", body, body["name"])


def _measure_type_created(world: World, prepared: Prepared, response: requests.Response,
                          _: str) -> None:
    assert prepared.target in world.storage.measure_type_ids()
    assert response.json() == prepared.body


def _no_measure_type(world: World, prepared: Prepared) -> None:
    assert prepared.target not in world.storage.measure_type_ids()


ROUTES = [
    Route("POST", "/users/", ADMIN, 201, _new_user, _user_created, _no_user),
    Route("GET", "/users/", ADMIN, 200, _users, _users_listed),
    Route("GET", "/users/me", EVERYONE, 200, _me, _me_shown),
    Route("GET", "/users/{user_id}", READERS, 200, _the_scientist, _scientist_shown),
    Route("PUT", "/users/{user_id}", READERS, 200, _rename_scientist, _scientist_renamed,
          _scientist_not_renamed),
    Route("DELETE", "/users/{user_id}", ADMIN, 204, _user_to_erase, _user_erased,
          _user_not_erased),
    Route("GET", "/experiments/", EVERYONE, 200, _experiments, _experiments_listed),
    Route("POST", "/experiments/", ADMIN, 201, _new_experiment, _experiment_created,
          _no_experiment),
    Route("GET", "/experiments/{experiment_id}", READERS, 200, _the_experiment,
          _experiment_shown),
    Route("PUT", "/experiments/{experiment_id}", ADMIN, 200, _rename_experiment,
          _experiment_renamed, _experiment_not_renamed),
    Route("GET", "/scientists-experiments/", ADMIN, 200, _associations, _associations_listed),
    Route("POST", "/scientists-experiments/{experiment_id}/{scientist_id}", ADMIN, 201,
          _associate, _associated, _not_associated),
    Route("DELETE", "/scientists-experiments/{experiment_id}/{scientist_id}", ADMIN, 204,
          _dissociate, _dissociated, _still_associated),
    Route("GET", "/measures/{experiment_id}", READERS, 200, _measures, _measures_listed),
    Route("GET", "/measures/{experiment_id}/export", READERS, 200, _measures_export,
          _measures_exported),
    Route("GET", "/measure-types/", EVERYONE, 200, _measure_types, _measure_types_listed),
    Route("POST", "/measure-types/", ADMIN, 201, _new_measure_type, _measure_type_created,
          _no_measure_type),
]


def expected_status(route: Route, who: str) -> int:
    """What the contract says ``who`` gets from ``route``."""
    if who in ("anonymous", "garbage", "bad-jwt"):
        return 401
    if who in route.allowed:
        return route.success
    return 403


@pytest.mark.parametrize("who", IDENTITIES)
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_route_answers_each_caller_as_the_contract_says(
    api: Any, world: World, route: Route, who: str
) -> None:
    prepared = route.prepare(world)
    kwargs = {} if prepared.body is None else {"json": prepared.body}

    response = api.call(route.method, prepared.path, world.authorization(who), **kwargs)

    expected = expected_status(route, who)
    assert response.status_code == expected, f"{who}: {response.status_code} {response.text}"
    if expected == route.success:
        if response.content:
            media = "text/csv" if route.template.endswith("/export") else "application/json"
            assert response.headers["Content-Type"].startswith(media)
        route.verify(world, prepared, response, who)
    else:
        assert_problem(response, expected, world.personal_data() + list(prepared.personal))
        route.unchanged(world, prepared)


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_routes_answer_anyone(api: Any, path: str) -> None:
    response = api.call("GET", path)

    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/openapi.json", "/docs"])
def test_api_documents_are_public(api: Any, path: str) -> None:
    response = api.call("GET", path)

    assert response.status_code == 200
    if path == "/openapi.json":
        paths = response.json()["paths"]
        assert "/measures/{experiment_id}" in paths and "/users/me" in paths
