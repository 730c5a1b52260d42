"""RestListener: the Flask app of the REST API, built from the container by ``create_app``.

Each request is signed in before its view runs (unless the view is public) and audited
once answered, whatever the outcome: one AuditEvent per call. Public views (the health
probes and the docs) are audited too, without an actor.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import TYPE_CHECKING, Any, Callable

from flask import Flask, Response, current_app, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from my_monit.errors import InvalidArgument
from my_monit.logging.audit import AuditEvent, AuditLog
from my_monit.rest import (
    docs_resource,
    experiment_association_resource,
    experiment_resource,
    health_resource,
    measure_resource,
    measure_type_resource,
    user_resource,
)
from my_monit.rest.context import EXTENSION, AuditNote, container
from my_monit.rest.exception_resource import ExceptionResource
from my_monit.rest.openapi import API_TITLE, API_VERSION, OPENAPI_VERSION, RestApi

if TYPE_CHECKING:
    from my_monit.container import Container

API_EXTENSION = "my_monit.api"
# The OpenAPI document is flask-smorest's own view; it needs no token either.
PUBLIC_ENDPOINTS = frozenset({"api-docs.openapi_json"})
# Audit actions of the public views that name none of their own.
_PUBLIC_ACTIONS = {
    "health.healthz": "health.live",
    "health.readyz": "health.ready",
    "api-docs.openapi_json": "openapi.read",
    "docs.page": "docs.read",
    "docs.init_script": "docs.read",
    "docs.asset": "docs.read",
}
# A variable part of a Flask rule, "<converter(arguments):name>" or "<name>".
_RULE_VARIABLE = re.compile(r"<(?:[^<>]*:)?([^<>:]+)>")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_EVENT_TYPES = {
    "GET": "access",
    "HEAD": "access",
    "POST": "creation",
    "PUT": "change",
    "DELETE": "deletion",
}


class RestListener:
    """Sign each request in, and audit it once answered."""

    def __init__(self, audit_log: AuditLog) -> None:
        self._audit_log = audit_log

    def on_request(self) -> None:
        """Give the request an id, and sign its caller in unless the view is public."""
        g.started_ns = time.perf_counter_ns()
        g.request_id = _request_id(request.headers.get("X-Request-ID"))
        g.public = _is_public()
        if request.url_rule is None or g.public:
            return
        authenticator = container().authenticator()
        g.actor = authenticator.authenticate(request.headers.get("Authorization"))
        _check_query_parameters()

    def on_response(self, response: Response) -> Response:
        """Echo the request id, and record the call's audit event."""
        response.headers["X-Request-ID"] = g.request_id
        self._audit_log.record(self._event(response.status_code))
        return response

    @staticmethod
    def _event(status: int) -> AuditEvent:
        view = _view()  # None when no route matched: the defaults below apply
        rule = request.url_rule
        note: AuditNote = g.get("audit_note") or AuditNote()
        actor = g.get("actor")
        success = status < 400
        return AuditEvent(
            action=_action(view),
            outcome="success" if success else "failure",
            source="rest",
            request_id=g.request_id,
            actor_id=actor.user_id if actor is not None else None,
            object_type=getattr(view, "audit_object_type", None),
            object_id=note.object_id or _object_id(request.view_args),
            event_types=_event_types(request.method, status),
            method=request.method,
            # An unrouted path is not recorded: it could hold anything, personal data too.
            path=request.path if rule is not None else None,
            route=route_template(rule.rule) if rule is not None else None,
            status_code=status,
            duration_ns=time.perf_counter_ns() - g.started_ns,
            changes=note.changes if success else (),
            details=note.details,
        )


def create_app(container: Container) -> Flask:  # pylint: disable=redefined-outer-name
    """Build the REST app: resources, error handling, OpenAPI docs, sign-in and audit."""
    configuration = container.rest_configuration()
    app = Flask(__name__, static_folder=None)
    app.config.update(
        MAX_CONTENT_LENGTH=configuration.max_body_bytes,
        API_TITLE=API_TITLE,
        API_VERSION=API_VERSION,
        OPENAPI_VERSION=OPENAPI_VERSION,
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = container

    exception_resource = ExceptionResource()
    exception_resource.register(app)
    api = RestApi(app, exception_resource)
    for module in (
        user_resource,
        experiment_resource,
        experiment_association_resource,
        measure_resource,
        measure_type_resource,
        health_resource,
    ):
        api.register_blueprint(module.resource)
    app.register_blueprint(docs_resource.resource)
    app.extensions[API_EXTENSION] = api

    listener = RestListener(container.audit_log())
    app.before_request(listener.on_request)
    app.after_request(listener.on_response)
    # nginx forwards the scheme and host the caller used: Link headers point back there.
    app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
        app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1
    )
    return app


def openapi_document(app: Flask) -> dict[str, Any]:
    """Give the OpenAPI document of an app built by :func:`create_app`."""
    api: RestApi = app.extensions[API_EXTENSION]
    return api.document()


def _view() -> Callable[..., Any] | None:
    if request.url_rule is None or request.endpoint is None:
        return None
    return current_app.view_functions.get(request.endpoint)


def _check_query_parameters() -> None:
    """Refuse a query that the view would not read: unknown, or a parameter given twice.

    A view that takes query parameters has a schema that refuses unknown ones itself; a
    view without one would ignore them silently, and a repeated parameter would be read
    by its first value only. A name is echoed only when the schema declares it, since an
    unknown one is whatever the caller typed.
    """
    if not request.args:
        return
    declared = _query_fields(_view())
    for name in request.args:
        if len(request.args.getlist(name)) > 1:
            raise InvalidArgument("query", name if declared and name in declared else None,
                                  "a parameter is given more than once")
    if declared is None:
        raise InvalidArgument("query", None, "this route takes no query parameters")


def _query_fields(view: Callable[..., Any] | None) -> frozenset[str] | None:
    """Give the query parameters a view's schema declares, or None when it takes none."""
    arguments = (getattr(view, "_apidoc", None) or {}).get("arguments") or {}
    schemas = [parameter["schema"] for parameter in arguments.get("parameters", ())
               if parameter.get("in") == "query"]
    if not schemas:
        return None
    return frozenset(name for schema in schemas for name in schema.fields)


def route_template(rule: str) -> str:
    """Write a Flask rule as an OpenAPI path template: ``<int:id>`` becomes ``{id}``."""
    return _RULE_VARIABLE.sub(r"{\1}", rule)


def _action(view: Callable[..., Any] | None) -> str:
    endpoint = request.endpoint
    if endpoint is None:
        return "request.unrouted"
    return getattr(view, "audit_action", None) or _PUBLIC_ACTIONS.get(endpoint, endpoint)


def _is_public() -> bool:
    """Tell whether the matched view needs no token (probes, docs).

    A request that matched no route is not public: it is audited. It is not signed in
    either, as its 404 or 405 comes before any view runs.
    """
    view = _view()
    return view is not None and (
        request.endpoint in PUBLIC_ENDPOINTS or getattr(view, "public", False)
    )


def _request_id(sent: str | None) -> str:
    if sent and _REQUEST_ID.fullmatch(sent):
        return sent
    return uuid.uuid4().hex


def _object_id(view_args: dict[str, Any] | None) -> str | None:
    if not view_args:
        return None
    return "/".join(str(value) for value in view_args.values())


def _event_types(method: str, status: int) -> tuple[str, ...]:
    types = [_EVENT_TYPES.get(method, "info")]
    if status in (401, 403):
        types.append("denied")
    if status >= 500:
        types.append("error")
    return tuple(types)
