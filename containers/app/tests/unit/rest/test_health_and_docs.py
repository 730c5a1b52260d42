"""Probes and documentation: no token needed, no audit event, nothing from a CDN."""

from __future__ import annotations

import re
from pathlib import Path
from unittest import mock

import pytest
from flask.testing import FlaskClient

from my_monit.errors import Unavailable
from my_monit.rest.api_reference import current_reference, render_reference, write_reference

from rest_doubles import RecordingAuditLog

REPOSITORY = Path(__file__).resolve().parents[5]
CONTRACT_ROUTES = {
    ("post", "/users/"),
    ("get", "/users/"),
    ("get", "/users/me"),
    ("get", "/users/{user_id}"),
    ("put", "/users/{user_id}"),
    ("delete", "/users/{user_id}"),
    ("get", "/experiments/"),
    ("post", "/experiments/"),
    ("get", "/experiments/{experiment_id}"),
    ("put", "/experiments/{experiment_id}"),
    ("get", "/scientists-experiments/"),
    ("post", "/scientists-experiments/{experiment_id}/{scientist_id}"),
    ("delete", "/scientists-experiments/{experiment_id}/{scientist_id}"),
    ("get", "/measures/{experiment_id}"),
    ("get", "/measures/{experiment_id}/export"),  # beyond the contract: the CSV export
    ("get", "/measure-types/"),
    ("post", "/measure-types/"),
    ("get", "/healthz"),
    ("get", "/readyz"),
}


def test_healthz_is_200_without_token_and_audited_without_actor(
    client: FlaskClient, audit: RecordingAuditLog
) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json == {"status": "ok"}
    (event,) = audit.events
    assert (event.action, event.actor_id) == ("health.live", None)


def test_readyz_is_200_when_the_database_answers(
    client: FlaskClient, storage: mock.Mock
) -> None:
    assert client.get("/readyz").status_code == 200
    storage.ping.assert_called_once_with()


def test_readyz_is_503_problem_when_the_database_does_not_answer(
    client: FlaskClient, storage: mock.Mock
) -> None:
    storage.ping.side_effect = Unavailable("database", "db.internal", "MySQL error 2003")

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"] == "5"
    assert "db.internal" not in response.get_data(as_text=True)


def test_openapi_document_lists_every_route_of_the_contract(client: FlaskClient) -> None:
    response = client.get("/openapi.json")

    assert response.status_code == 200
    document = response.json
    routes = {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "delete")
    }
    assert routes == CONTRACT_ROUTES
    assert document["components"]["securitySchemes"]["firebase"]["scheme"] == "bearer"
    assert document["paths"]["/healthz"]["get"]["security"] == []
    problem = document["components"]["responses"]["UNAUTHORIZED"]["content"]
    assert list(problem) == ["application/problem+json"]


def test_docs_page_loads_its_scripts_from_the_app_only(client: FlaskClient) -> None:
    page = client.get("/docs")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(source.startswith("/") for source in sources)
    assert "<script>" not in html  # no inline script: a strict CSP allows the page
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200, source
        assert len(asset.data) > 0
    assert 'data-spec-url="/openapi.json"' in html


def test_docs_assets_outside_the_package_are_404(client: FlaskClient) -> None:
    assert client.get("/docs/assets/../../../../etc/passwd").status_code == 404


def test_docs_api_html_is_up_to_date_with_the_code() -> None:
    path = REPOSITORY / "docs" / "api.html"

    assert path.read_text(encoding="utf-8") == current_reference(), (
        "docs/api.html is out of date: run 'mymonit docs' at the repository root"
    )


def test_reference_names_every_route_and_schema(client: FlaskClient) -> None:
    html = render_reference(client.get("/openapi.json").json)

    for _, path in CONTRACT_ROUTES:
        assert f'<span class="path">{path}</span>' in html
    assert 'id="schema-User"' in html
    assert "http://" not in html and "https://" not in html  # self-contained


@pytest.mark.parametrize("check", [True, False])
def test_write_reference_writes_or_checks(tmp_path: Path, check: bool) -> None:
    path = tmp_path / "docs" / "api.html"

    assert write_reference(path, check=check) is not check
    assert path.exists() is not check
    assert write_reference(path, check=True) is not check
