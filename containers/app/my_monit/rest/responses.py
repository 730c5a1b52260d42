"""JSON responses, and pages of a list with a ``Link: <...>; rel="next"`` header."""

from __future__ import annotations

from typing import Any, Mapping

from flask import Response, current_app, request, url_for

# How list operations document their Link header in OpenAPI.
NEXT_LINK = {
    "Link": {
        "description": 'rel="next": the address of the next page, when more items follow',
        "schema": {"type": "string"},
    }
}


def respond(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """Answer with ``payload`` as JSON."""
    response = current_app.json.response(payload)
    response.status_code = status
    response.headers.extend(headers or {})
    return response


def no_content() -> Response:
    """Answer 204 with no body (and so no Content-Type)."""
    response = current_app.response_class(status=204)
    del response.headers["Content-Type"]
    return response


def respond_page(items: Any, next_parameters: Mapping[str, Any] | None) -> Response:
    """Answer with one page of a list (or map); ``next_parameters`` change the next query.

    The next page's address keeps this request's query (filters, limit) and is absolute,
    with the scheme and host the caller used (nginx forwards them).
    """
    if next_parameters is None:
        return respond(items)
    query = {**request.args.to_dict(), **next_parameters}
    link = url_for(request.endpoint or "", _external=True, **(request.view_args or {}), **query)
    return respond(items, headers={"Link": f'<{link}>; rel="next"'})
