"""The OpenAPI side of the app: flask-smorest's Api and Blueprint, set up for MyMONIT.

Input errors are 400 problems (not flask-smorest's 422 JSON), unknown query parameters
are refused like unknown body fields, and every secured operation documents its 401,
403 and 500 problems.
"""

from __future__ import annotations

import copy
import http
from typing import Any

import flask
from apispec import BasePlugin
from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import HTTPException, UnsupportedMediaType
from werkzeug.routing import BaseConverter

from my_monit.model import STAFF_ID_PATTERN
from my_monit.rest.exception_resource import PROBLEM_JSON, ExceptionResource
from my_monit.rest.schemas import AssociatedUsersSchema, ProblemSchema

API_TITLE = "MyMONIT"
API_VERSION = "1.0.0"
OPENAPI_VERSION = "3.0.3"
SECURITY_SCHEME = "firebase"
API_DESCRIPTION = """\
Measures of CERN experiments, their experiments, users and measure types.

Every route but the health probes and these docs needs `Authorization: Bearer <ID token>`,
a Firebase ID token whose uid is the `username` of a MyMONIT user. 401: no usable token;
403: no MyMONIT user for it, or a role or association that does not allow the call.

Errors are `application/problem+json` (RFC 9457). Lists are bounded by `limit` (default
1000, at most 10000); when more rows match, a `Link: <...>; rel="next"` header gives the
next page. Every call gets an `X-Request-ID` (the caller's, if it sent a sane one).
"""


class StaffIdConverter(BaseConverter):
    """A staff id in a path; anything else is a 404 before any code runs."""

    regex = STAFF_ID_PATTERN.pattern


class RestParser(FlaskParser):
    """webargs' Flask parser: 400 for invalid input, unknown query parameters refused."""

    DEFAULT_VALIDATION_STATUS = 400
    # None: the schema's own setting (RAISE) applies to query strings as to bodies.
    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": None,
        "querystring": None,
    }

    def _raw_load_json(self, req: flask.Request) -> Any:
        # A body in another format is refused, rather than read as "no fields given".
        has_body = req.content_length or req.headers.get("Transfer-Encoding")
        if has_body and not is_json_request(req):
            raise UnsupportedMediaType()
        return super()._raw_load_json(req)


class ResourceBlueprint(Blueprint):  # pylint: disable=too-many-ancestors  # flask-smorest's
    """A flask-smorest Blueprint parsing with :class:`RestParser`."""

    ARGUMENTS_PARSER = RestParser()


class ProblemResponsesPlugin(BasePlugin):
    """Document the 401, 403 and 500 problems of every operation that needs a token."""

    def operation_helper(
        self, path: str | None = None, operations: dict | None = None, **kwargs: Any
    ) -> None:
        for operation in (operations or {}).values():
            responses = operation.setdefault("responses", {})
            if operation.get("security") != []:
                responses.setdefault("401", "UNAUTHORIZED")
                responses.setdefault("403", "FORBIDDEN")
            responses.setdefault("500", "INTERNAL_SERVER_ERROR")


class RestApi(Api):
    """flask-smorest's Api, answering errors as problems and documenting them so."""

    ERROR_SCHEMA = ProblemSchema

    def __init__(self, app: flask.Flask, exception_resource: ExceptionResource) -> None:
        self._exception_resource = exception_resource
        app.url_map.converters["staff_id"] = StaffIdConverter
        super().__init__(
            app,
            spec_kwargs={
                "extra_plugins": [ProblemResponsesPlugin()],
                "info": {"description": API_DESCRIPTION},
                "security": [{SECURITY_SCHEME: []}],
            },
        )
        self.register_converter(StaffIdConverter, _staff_id_parameter)
        self.spec.components.security_scheme(
            SECURITY_SCHEME,
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "a Firebase ID token",
            },
        )
        # Referenced by hand: apispec does not resolve schemas in "additionalProperties".
        self.spec.components.schema("AssociatedUsers", schema=AssociatedUsersSchema)

    def handle_http_exception(self, error: HTTPException) -> flask.Response:
        """Answer an HTTP error (webargs' invalid input included) with a problem body."""
        return self._exception_resource.on_http_error(error)

    def document(self) -> dict[str, Any]:
        """Give the OpenAPI document as a dict (a copy: callers may change it)."""
        return copy.deepcopy(self.spec.to_dict())

    def _openapi_json(self) -> flask.Response:
        return flask.current_app.json.response(self.spec.to_dict())

    def _register_responses(self) -> None:
        # As flask-smorest's, but error bodies are application/problem+json.
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, default, lazy=True)


def _staff_id_parameter(_: BaseConverter) -> dict[str, Any]:
    return {"type": "string", "pattern": STAFF_ID_PATTERN.pattern, "maxLength": 30}
