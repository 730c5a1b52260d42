"""DocsResource: /docs, Swagger UI on the app's own OpenAPI document, with no CDN.

Swagger UI's files come from the flask-swagger-ui package and are served from here,
so the page works offline. It has no inline script (a strict Content-Security-Policy
with ``script-src 'self'`` allows it); Swagger UI itself needs ``style-src 'unsafe-inline'``
and ``img-src 'self' data:``.
"""

from __future__ import annotations

import os
from typing import Any

import flask_swagger_ui
from flask import Blueprint, Response, current_app, send_from_directory, url_for
from markupsafe import escape

from my_monit.rest.context import public

ASSETS = os.path.join(os.path.dirname(flask_swagger_ui.__file__), "dist")
ASSET_MAX_AGE = 86400
_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>MyMONIT API</title>
  <link rel="stylesheet" href="{assets}swagger-ui.css">
  <link rel="icon" type="image/png" href="{assets}favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui" data-spec-url="{spec}"></div>
  <script src="{assets}swagger-ui-bundle.js"></script>
  <script src="{init}"></script>
</body>
</html>
"""
_INIT = """window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    domNode: root,
    presets: [SwaggerUIBundle.presets.apis],
    deepLinking: true,
    persistAuthorization: false
  });
});
"""

resource = Blueprint("docs", __name__, url_prefix="/docs")


@resource.route("", methods=["GET"])
@public
def page() -> Response:
    """Serve the interactive documentation page."""
    html = _PAGE.format(
        assets=escape(url_for("docs.asset", filename="")),
        spec=escape(url_for("api-docs.openapi_json")),
        init=escape(url_for("docs.init_script")),
    )
    return current_app.response_class(html, mimetype="text/html")


@resource.route("/init.js", methods=["GET"])
@public
def init_script() -> Response:
    """Serve the script that starts Swagger UI on the page."""
    return current_app.response_class(_INIT, mimetype="text/javascript")


@resource.route("/assets/<path:filename>", methods=["GET"])
@public
def asset(filename: str) -> Any:
    """Serve one of Swagger UI's files (send_from_directory refuses paths outside it)."""
    return send_from_directory(ASSETS, filename, max_age=ASSET_MAX_AGE)
