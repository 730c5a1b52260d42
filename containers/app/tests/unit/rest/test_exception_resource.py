"""ExceptionResource: every error is application/problem+json, with nothing to leak."""

from __future__ import annotations

import logging
from unittest import mock

import flask_smorest
import pytest
from flask import Flask
from flask.testing import FlaskClient

from my_monit.errors import Unavailable
from my_monit.rest.exception_resource import field_errors

from rest_doubles import bearer


def test_unexpected_error_is_a_generic_500_and_its_traceback_is_logged(
    client: FlaskClient, users: mock.Mock, caplog: pytest.LogCaptureFixture
) -> None:
    users.get_user.side_effect = RuntimeError("secret detail of marie@example.org")

    with caplog.at_level(logging.ERROR, logger="my_monit.rest.exception_resource"):
        response = client.get("/users/S1", headers=bearer("admin"))

    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert response.json["detail"] == "an unexpected error occurred; it has been logged"
    assert "secret" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    record = caplog.records[-1]
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError
    assert "/users/<staff_id:user_id>" in record.getMessage()


def test_unavailable_database_is_503_with_retry_after(
    client: FlaskClient, users: mock.Mock
) -> None:
    users.list_users.side_effect = Unavailable("database", "pool", "no connection free in time")

    response = client.get("/users/", headers=bearer("admin"))

    assert response.status_code == 503
    assert response.json["detail"] == "database is unavailable; try again later"
    assert response.headers["Retry-After"] == "5"


def test_malformed_json_is_400_naming_the_body(client: FlaskClient) -> None:
    response = client.post(
        "/experiments/", data="{not json", content_type="application/json", headers=bearer("admin")
    )

    assert response.status_code == 400
    assert response.json["errors"] == {"body": ["Invalid JSON body."]}


def test_body_in_another_format_is_415(client: FlaskClient) -> None:
    response = client.post(
        "/experiments/", data="name=a", content_type="text/plain", headers=bearer("admin")
    )

    assert response.status_code == 415
    assert response.mimetype == "application/problem+json"


def test_oversized_body_is_413(client: FlaskClient, experiments: mock.Mock) -> None:
    body = '{"name": "' + "x" * (1024 * 1024) + '"}'

    response = client.post(
        "/experiments/", data=body, content_type="application/json", headers=bearer("admin")
    )

    assert response.status_code == 413
    assert response.json["detail"] == "the request body is larger than the limit"
    experiments.create_experiment.assert_not_called()


def test_wrong_method_is_405_with_allow_header(client: FlaskClient) -> None:
    response = client.patch("/users/S1", headers=bearer("admin"))

    assert response.status_code == 405
    assert "PUT" in response.headers["Allow"]
    assert response.mimetype == "application/problem+json"


def test_unknown_path_is_404_problem_without_sign_in(client: FlaskClient) -> None:
    response = client.get("/nothing-here")

    assert response.status_code == 404
    assert response.json["title"] == "Not Found"
    assert response.json["request_id"] == response.headers["X-Request-ID"]


def test_missing_trailing_slash_redirects_to_the_route(client: FlaskClient) -> None:
    response = client.get("/users", headers=bearer("admin"))

    assert response.status_code == 308
    assert response.headers["Location"].endswith("/users/")


def test_field_errors_flatten_locations_and_nesting() -> None:
    messages = {
        "json": {"name": ["too long"], "_schema": ["Invalid input type."], "a": {"b": ["bad"]}},
        "query": {"limit": ["must be between 1 and 10000"]},
    }

    assert field_errors(messages) == {
        "name": ["too long"],
        "body": ["Invalid input type."],
        "a.b": ["bad"],
        "limit": ["must be between 1 and 10000"],
    }


def test_field_errors_hide_keys_that_are_no_field_names() -> None:
    unknown = ["Unknown field."]
    messages = {"json": {"marie@example.org": unknown, "Marie Curie": unknown}}

    assert field_errors(messages) == {"(unnamed)": ["Unknown field.", "Unknown field."]}


def test_field_errors_of_a_whole_query_name_the_query() -> None:
    assert field_errors({"query": ["bad"]}) == {"query": ["bad"]}


def test_flask_smorest_422_is_converted_to_a_problem(app: Flask) -> None:
    @app.route("/unprocessable")
    def unprocessable() -> None:
        flask_smorest.abort(422, messages={"json": {"name": ["bad"]}})

    response = app.test_client().get("/unprocessable", headers=bearer("admin"))

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.json["errors"] == {"name": ["bad"]}
    assert set(response.json) >= {"type", "title", "status", "detail"}
