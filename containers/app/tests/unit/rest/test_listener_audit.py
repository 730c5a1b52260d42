"""RestListener: one audit event per call, with the request id, actor and outcome."""

from __future__ import annotations

from unittest import mock

import pytest
from flask.testing import FlaskClient

from my_monit.errors import Conflict
from my_monit.model import Experiment
from my_monit.rest.listener import route_template
from my_monit.services import Page

from rest_doubles import SCIENTIST, FakeVerifier, RecordingAuditLog, bearer


def test_each_call_has_one_audit_event_with_ecs_fields(
    client: FlaskClient, experiments: mock.Mock, audit: RecordingAuditLog
) -> None:
    experiments.get_experiment.return_value = Experiment(4, "a")

    response = client.get("/experiments/4", headers={**bearer("sam"), "X-Request-ID": "req-42"})

    assert response.headers["X-Request-ID"] == "req-42"
    assert len(audit.events) == 1
    event = audit.events[0]
    assert (event.action, event.outcome, event.source) == ("experiment.read", "success", "rest")
    assert (event.actor_id, event.object_type, event.object_id) == ("S1", "experiment", "4")
    assert (event.method, event.path, event.route) == (
        "GET",
        "/experiments/4",
        "/experiments/{experiment_id}",
    )
    assert event.status_code == 200 and event.request_id == "req-42"
    assert event.duration_ns is not None and event.duration_ns > 0
    assert event.event_types == ("access",)


@pytest.mark.parametrize("sent", ["", "has space", "x" * 129, "<script>"])
def test_an_insane_request_id_is_replaced(client: FlaskClient, sent: str) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": sent})

    assert response.headers["X-Request-ID"] != sent
    assert len(response.headers["X-Request-ID"]) == 32


def test_missing_token_is_audited_as_denied_without_actor(
    client: FlaskClient, audit: RecordingAuditLog
) -> None:
    response = client.get("/experiments/")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    event = audit.events[-1]
    assert (event.outcome, event.actor_id, event.status_code) == ("failure", None, 401)
    assert event.event_types == ("access", "denied")


def test_garbage_token_is_401(client: FlaskClient, verifier: FakeVerifier) -> None:
    response = client.get("/experiments/", headers={"Authorization": "Bearer what.ever.this"})

    assert response.status_code == 401
    assert verifier.calls == 1


def test_valid_token_without_user_is_403_denied(
    client: FlaskClient, audit: RecordingAuditLog
) -> None:
    response = client.get("/users/me", headers=bearer("nobody"))

    assert response.status_code == 403
    assert response.json["detail"] == "sign-in: no MyMONIT user for this account"
    assert audit.events[-1].event_types == ("access", "denied")


def test_failed_change_records_no_changed_fields(
    client: FlaskClient, experiments: mock.Mock, audit: RecordingAuditLog
) -> None:
    experiments.create_experiment.side_effect = Conflict("experiment", "name", "is taken")

    client.post("/experiments/", json={"name": "a"}, headers=bearer("admin"))

    event = audit.events[-1]
    assert (event.action, event.outcome, event.changes) == ("experiment.create", "failure", ())
    assert event.event_types == ("creation",)


def test_unexpected_error_is_audited_as_error(
    client: FlaskClient, experiments: mock.Mock, audit: RecordingAuditLog
) -> None:
    experiments.list_experiments.side_effect = RuntimeError("boom")

    client.get("/experiments/", headers=bearer("admin"))

    assert audit.events[-1].event_types == ("access", "error")
    assert audit.events[-1].status_code == 500


def test_list_reads_record_how_many_items_were_read(
    client: FlaskClient, experiments: mock.Mock, audit: RecordingAuditLog
) -> None:
    experiments.list_experiments.return_value = Page([Experiment(1, "a")], None)

    client.get("/experiments/", headers=bearer("sam"))

    assert audit.events[-1].details == {"count": 1}
    assert audit.events[-1].actor_id == SCIENTIST.user_id


def test_unrouted_request_is_audited_without_its_path(
    client: FlaskClient, audit: RecordingAuditLog
) -> None:
    client.get("/marie@example.org")

    event = audit.events[-1]
    assert (event.action, event.path, event.route, event.status_code) == (
        "request.unrouted",
        None,
        None,
        404,
    )


def test_health_probes_are_public_and_audited_without_actor(
    client: FlaskClient, audit: RecordingAuditLog
) -> None:
    for path in ("/healthz", "/readyz"):
        assert client.get(path).status_code == 200, path

    assert [event.action for event in audit.events] == ["health.live", "health.ready"]
    assert all(event.actor_id is None and event.outcome == "success" for event in audit.events)


@pytest.mark.parametrize(
    ("path", "action", "route"),
    [
        ("/openapi.json", "openapi.read", "/openapi.json"),
        ("/docs", "docs.read", "/docs"),
        ("/docs/init.js", "docs.read", "/docs/init.js"),
        ("/docs/assets/swagger-ui.css", "docs.read", "/docs/assets/{filename}"),
    ],
)
def test_docs_and_openapi_are_public_and_audited_without_actor(
    client: FlaskClient, verifier: FakeVerifier, audit: RecordingAuditLog,
    path: str, action: str, route: str,
) -> None:
    response = client.get(path, headers=bearer("admin"))

    assert response.status_code == 200
    assert verifier.calls == 0, "a public view signs no one in"
    (event,) = audit.events
    assert (event.action, event.outcome, event.actor_id) == (action, "success", None)
    assert (event.path, event.route, event.status_code) == (path, route, 200)
    assert event.event_types == ("access",)


@pytest.mark.parametrize(
    ("rule", "template"),
    [
        ("/experiments/<int(max=4294967295):experiment_id>", "/experiments/{experiment_id}"),
        ("/users/<user_id>", "/users/{user_id}"),
        ("/scientists-experiments/<int:experiment_id>/<string(length=30):user_id>",
         "/scientists-experiments/{experiment_id}/{user_id}"),
        ("/docs/assets/<path:filename>", "/docs/assets/{filename}"),
        ("/experiments/", "/experiments/"),
    ],
)
def test_route_templates_are_written_as_in_openapi(rule: str, template: str) -> None:
    assert route_template(rule) == template


def test_every_route_of_the_app_becomes_an_openapi_template(client: FlaskClient) -> None:
    for rule in client.application.url_map.iter_rules():
        template = route_template(rule.rule)
        assert "<" not in template and ">" not in template and ":" not in template, rule.rule
