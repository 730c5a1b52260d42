"""Audit: every REST call through nginx gives one event on (the stand-in for) Logstash."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import requests

from world import Api, World, unique  # pylint: disable=import-error  # beside this file

from support.logstash_listener import find_leaks
from support.personal_data import PersonalData, lines_of

pytestmark = pytest.mark.e2e


def _calls(api: Api, world: World) -> list[tuple[requests.Response, str | None]]:
    """Call every route once as the admin, and some as refused callers."""
    admin = world.admin.authorization
    user = {"user_id": unique("A"), "name": "Audrey Audited", "username": unique("uid"),
            "email": f"{unique('audrey')}@e2e.example.org", "role": "SCIENTIST"}
    experiment = f"/experiments/{world.experiment_id}"
    association = f"/scientists-experiments/{world.experiment_id}/{user['user_id']}"
    admin_calls = [
        ("POST", "/users/", user),
        ("GET", "/users/", None),
        ("GET", "/users/me", None),
        ("GET", f"/users/{user['user_id']}", None),
        ("PUT", f"/users/{user['user_id']}", {"name": "Audrey A."}),
        ("GET", "/experiments/", None),
        ("POST", "/experiments/", {"name": unique("audited")}),
        ("GET", experiment, None),
        ("PUT", experiment, {"name": world.experiment_name}),
        ("POST", association, None),
        ("GET", "/scientists-experiments/", None),
        ("DELETE", association, None),
        ("GET", f"/measures/{world.experiment_id}", None),
        ("GET", "/measure-types/", None),
        ("POST", "/measure-types/", {"name": unique("t"), "symbol": "t", "quantity": "q"}),
        ("DELETE", f"/users/{user['user_id']}", None),
    ]
    calls = [(api.call(method, path, admin, json=body), world.admin.user_id)
             for method, path, body in admin_calls]
    calls.append((api.call("GET", "/users/", world.scientist.authorization),
                  world.scientist.user_id))
    calls.append((api.call("GET", experiment, world.outsider.authorization),
                  world.outsider.user_id))
    calls.append((api.call("GET", "/experiments/", world.authorization("stranger")), None))
    calls.append((api.call("GET", "/experiments/", None), None))
    calls.append((api.call("POST", "/users/", admin, data="{", headers={
        "Content-Type": "application/json"}), world.admin.user_id))
    return calls


def _is_audit(event: dict[str, Any]) -> bool:
    return (event.get("event", {}).get("dataset") == "mymonit.audit"
            or event.get("log", {}).get("logger") == "my_monit.audit")


def _request_id(event: dict[str, Any]) -> str | None:
    """The request id: ECS's http.request.id, else MyMONIT's own field."""
    request_id = event.get("http", {}).get("request", {}).get("id")
    return request_id or event.get("mymonit", {}).get("request_id")


def _audit_events(world: World, request_ids: set[str], seconds: float = 10.0) -> list[Any]:
    """Wait until an audit event of each request id has arrived; give all audit events."""
    deadline = time.monotonic() + seconds
    while True:
        events = [event for event in world.stack.logstash.events() if _is_audit(event)]
        seen = {_request_id(event) for event in events}
        if request_ids <= seen or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


def test_every_call_gives_one_audit_event_with_its_outcome(api: Api, world: World) -> None:
    calls = _calls(api, world)
    by_id = {response.headers["X-Request-ID"]: (response, actor) for response, actor in calls}

    events = _audit_events(world, set(by_id))

    assert len(by_id) == len(calls), "nginx gave each call its own request id"
    for request_id, (response, actor) in by_id.items():
        mine = [event for event in events if _request_id(event) == request_id]
        call = f"{response.request.method} {response.request.path_url}"
        assert len(mine) == 1, f"{call}: {len(mine)} audit events"
        event = mine[0]
        status = response.status_code
        assert event["http"]["response"]["status_code"] == status, call
        assert event["http"]["request"]["method"] == response.request.method
        assert event["url"]["path"] == response.request.path_url.split("?")[0]
        assert event["event"]["outcome"] == ("success" if status < 400 else "failure"), call
        assert event["event"]["action"], call
        assert isinstance(event["event"]["duration"], int)
        assert event.get("mymonit", {}).get("source") == "rest"
        assert event.get("user", {}).get("id") == actor, call
        if status in (401, 403):
            assert "denied" in event["event"]["type"], call
        route = event["mymonit"]["route"]
        assert re.fullmatch(r"(/[\w.-]*|/\{\w+\})+", route), f"{call}: route {route}"
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(route))
        assert re.fullmatch(pattern, event["url"]["path"]), f"{call}: route {route}"
    routes = {event["mymonit"].get("route") for event in events}
    assert {"/experiments/{experiment_id}", "/users/{user_id}"} <= routes


def test_docs_and_probes_are_audited_without_an_actor(api: Api, world: World) -> None:
    calls = [api.call("GET", path, world.admin.authorization)
             for path in ("/openapi.json", "/docs", "/healthz", "/readyz")]
    by_id = {response.headers["X-Request-ID"]: response for response in calls}

    events = _audit_events(world, set(by_id))

    actions = {}
    for event in events:
        if _request_id(event) in by_id:
            actions[by_id[_request_id(event)].request.path_url] = event
    assert {path: event["event"]["action"] for path, event in actions.items()} == {
        "/openapi.json": "openapi.read", "/docs": "docs.read",
        "/healthz": "health.live", "/readyz": "health.ready",
    }
    assert all("user" not in event for event in actions.values())


def test_the_administrator_made_on_the_command_line_is_audited(world: World) -> None:
    events = [event for event in world.stack.logstash.events()
              if event.get("event", {}).get("action") == "user.create_admin"]

    assert len(events) == 1, "mymonit users create-admin sent its event before it exited"
    event = events[0]
    assert (event["event"]["outcome"], event["mymonit"]["source"]) == ("success", "cli")
    assert event["mymonit"]["object"] == {"type": "user", "id": world.admin.user_id}
    assert "user" not in event


def test_nothing_sent_to_logstash_holds_personal_data(
    api: Api, world: World, personal_data: PersonalData
) -> None:
    # Calls that carry personal data in, and in error bodies' way out. The whole session's
    # data is checked again, in the console log too, after the last test (conftest.py).
    api.call("GET", "/users/me", world.scientist.authorization)
    api.call("GET", "/users/", world.authorization("stranger"))
    api.call("POST", "/users/", world.admin.authorization, json={
        "user_id": unique("P"), "name": "Penelope Private", "username": world.stranger.uid,
        "email": world.scientist.account.email, "role": "SCIENTIST"})
    time.sleep(1.0)

    lines = lines_of(world.stack.logstash.lines)
    secrets = personal_data.values()

    assert lines, "the stand-in Logstash received nothing"
    assert {"Penelope Private", *world.personal_data()} <= set(secrets)
    assert find_leaks(lines, secrets) == [], "personal data sent to Logstash"
