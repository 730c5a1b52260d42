"""ExceptionResource: the one place that turns errors into application/problem+json.

Domain errors carry no HTTP knowledge; here each kind gets its status. A body names
the entity and field at fault, never a submitted value, and never holds a stack trace.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any, Mapping

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from my_monit.errors import (
    Conflict,
    Forbidden,
    InvalidArgument,
    MyMonitError,
    NotFound,
    Unavailable,
)
from my_monit.rest.authenticator import Unauthenticated

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = "5"

_STATUS: dict[type[MyMonitError], int] = {
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    InvalidArgument: 400,
    Unavailable: 503,
}
# Short details for errors raised by routing and the HTTP layer, instead of Werkzeug's
# paragraphs meant for browsers.
_HTTP_DETAILS = {
    400: "the request is malformed",
    404: "no such resource",
    405: "this method is not allowed on this resource",
    413: "the request body is larger than the limit",
    415: "the request body must be application/json",
}
# webargs nests validation messages under the request part they came from.
_LOCATIONS = frozenset({"json", "query", "querystring", "form", "headers", "view_args", "files"})
# A field name is shown as sent only if it looks like one: an unknown key could be anything,
# an email address included.
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}|[0-9]{1,9}")


def problem(
    status: int,
    detail: str,
    errors: Mapping[str, list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Build an RFC 9457 problem response."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    request_id = g.get("request_id")
    if request_id:
        body["request_id"] = request_id
    if errors:
        body["errors"] = dict(errors)
    response = current_app.json.response(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    response.headers.extend(headers or {})
    return response


def field_errors(messages: object) -> dict[str, list[str]]:
    """Flatten webargs' validation messages into ``{"field": ["message", ...]}``."""
    errors: dict[str, list[str]] = {}

    def walk(node: object, path: tuple[str, ...]) -> None:
        if isinstance(node, Mapping):
            for key, child in node.items():
                walk(child, (*path, str(key)))
        elif isinstance(node, (list, tuple)):
            for item in node:
                walk(item, path)
        else:
            errors.setdefault(_field(path), []).append(str(node))

    walk(messages, ())
    return errors


def _field(path: tuple[str, ...]) -> str:
    location = path[0] if path and path[0] in _LOCATIONS else "json"
    parts = [part for part in path if part not in _LOCATIONS and part != "_schema"]
    if not parts:
        return "query" if location in ("query", "querystring") else "body"
    return ".".join(part if _FIELD_NAME.fullmatch(part) else "(unnamed)" for part in parts)


def _describe(errors: Mapping[str, list[str]]) -> str:
    return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())


class ExceptionResource:
    """Answer every error with a problem body; log what the caller must not see."""

    def register(self, app: Flask) -> None:
        """Install the handlers on ``app`` (HTTP errors come through the Api's handler)."""
        app.register_error_handler(MyMonitError, self.on_domain_error)
        app.register_error_handler(Exception, self.on_unexpected_error)

    def on_domain_error(self, error: MyMonitError) -> Response:
        """Map a domain error to its status: 400, 401, 403, 404, 409 or 503."""
        status = next(
            (code for kind, code in _STATUS.items() if isinstance(error, kind)), 500
        )
        if status == 503:
            log.warning("unavailable: %s", error.describe())
            return problem(
                status,
                f"{error.what} is unavailable; try again later",
                headers={"Retry-After": RETRY_AFTER_SECONDS},
            )
        if status == 401:
            log.info("refused sign-in: %s", error.reason)
            return problem(
                status, error.describe(), headers={"WWW-Authenticate": 'Bearer realm="mymonit"'}
            )
        if status == 500:
            return self.on_unexpected_error(error)
        return problem(status, error.describe())

    def on_http_error(self, error: HTTPException) -> Response:
        """Answer routing and protocol errors, and invalid input found by webargs."""
        status = error.code or 500
        headers = {
            key: value for key, value in error.get_headers() if key.lower() != "content-type"
        }
        data = getattr(error, "data", None) or {}
        headers.update(data.get("headers") or {})
        if "messages" in data:
            errors = field_errors(data["messages"])
            return problem(status, f"invalid input: {_describe(errors)}", errors, headers)
        return problem(status, _HTTP_DETAILS.get(status, HTTPStatus(status).phrase), None, headers)

    def on_unexpected_error(self, error: Exception) -> Response:
        """Log the traceback, and tell the caller only that something went wrong."""
        if isinstance(error, HTTPException):
            return self.on_http_error(error)
        log.error(
            "unexpected error in %s %s",
            request.method,
            request.url_rule.rule if request.url_rule else "(no route)",
            exc_info=error,
        )
        return problem(500, "an unexpected error occurred; it has been logged")
