"""docs/api.html: a static, self-contained reference written from the OpenAPI document.

``mymonit docs`` writes it, and a test fails when it differs from what the code would
write, so the page cannot drift from the API.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator, Mapping

import jinja2
from markupsafe import Markup, escape

METHODS = ("get", "post", "put", "patch", "delete")
_CODE = re.compile(r"`([^`]+)`")

_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ info.title }} API {{ info.version }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem;
       padding: 0 1rem; color: #222; line-height: 1.45; }
code, .path { font-family: ui-monospace, monospace; }
h2 { border-bottom: 1px solid #ccc; margin-top: 2.5rem; }
h3 { margin-top: 2rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; width: 100%; }
th, td { border: 1px solid #ddd; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
.method { display: inline-block; min-width: 4.5rem; font-weight: bold; text-transform: uppercase; }
.get { color: #1a6; } .post { color: #27c; } .put { color: #b70; } .delete { color: #c33; }
.note { color: #555; }
</style>
</head>
<body>
<h1>{{ info.title }} API <small>{{ info.version }}</small></h1>
<p class="note">Generated from the OpenAPI document ({{ openapi }}) by <code>mymonit docs</code>;
served live at <code>/openapi.json</code>, interactive at <code>/docs</code>.</p>
{% for paragraph in paragraphs(info.description) %}<p>{{ paragraph }}</p>
{% endfor %}
<h2>Operations</h2>
<table>
<tr><th>method</th><th>path</th><th>summary</th></tr>
{% for op in operations %}<tr><td><span class="method {{ op.method }}">{{ op.method }}</span></td>
<td><a class="path" href="#{{ op.anchor }}">{{ op.path }}</a></td><td>{{ op.summary }}</td></tr>
{% endfor %}</table>
{% for op in operations %}
<h3 id="{{ op.anchor }}"><span class="method {{ op.method }}">{{ op.method }}</span>
<span class="path">{{ op.path }}</span></h3>
<p><strong>{{ op.summary }}</strong></p>
{% for paragraph in paragraphs(op.description) %}<p>{{ paragraph }}</p>
{% endfor %}<p class="note">
{{ "Needs a Bearer ID token." if op.secured else "No token needed." }}</p>
{% if op.parameters %}<table>
<tr><th>parameter</th><th>in</th><th>required</th><th>type</th><th>description</th></tr>
{% for p in op.parameters %}<tr><td><code>{{ p.name }}</code></td><td>{{ p.in }}</td>
<td>{{ "yes" if p.required else "no" }}</td><td>{{ describe_type(p.schema) }}</td>
<td>{{ p.description }}</td></tr>
{% endfor %}</table>
{% endif %}{% if op.body %}<p>Request body (<code>application/json</code>):
{{ describe_type(op.body) }}</p>
{% endif %}<table>
<tr><th>status</th><th>meaning</th><th>body</th></tr>
{% for status, response in op.responses %}<tr><td>{{ status }}</td>
<td>{{ response.description }}</td><td>{{ describe_content(response) }}</td></tr>
{% endfor %}</table>
{% endfor %}
<h2>Schemas</h2>
{% for name, schema in schemas %}
<h3 id="schema-{{ name }}">{{ name }}</h3>
{% if schema.description %}<p>{{ schema.description }}</p>{% endif %}
<table>
<tr><th>field</th><th>type</th><th>required</th><th>constraints</th><th>description</th></tr>
{% for field, prop in (schema.properties or {}).items() %}<tr><td><code>{{ field }}</code></td>
<td>{{ describe_type(prop) }}</td>
<td>{{ "yes" if field in (schema.required or []) else "no" }}</td>
<td>{{ constraints(prop) }}</td><td>{{ prop.description }}</td></tr>
{% endfor %}</table>
{% endfor %}
</body>
</html>
"""


def current_reference() -> str:
    """Write the reference of the API as the code defines it now."""
    # Imported here: building the app pulls in every resource, needed by this call only.
    from my_monit.config import Config  # pylint: disable=import-outside-toplevel
    from my_monit.container import create_container  # pylint: disable=import-outside-toplevel
    from my_monit.rest.listener import (  # pylint: disable=import-outside-toplevel
        create_app,
        openapi_document,
    )

    # The document does not depend on the settings: the defaults build it.
    app = create_app(create_container(Config.from_env({})))
    return render_reference(openapi_document(app))


def write_reference(path: Path, check: bool = False) -> bool:
    """Write the reference to ``path``; with ``check``, only tell whether it is up to date."""
    text = current_reference()
    if check:
        return path.is_file() and path.read_text(encoding="utf-8") == text
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def render_reference(document: Mapping[str, Any]) -> str:
    """Write the OpenAPI ``document`` as one self-contained HTML page."""
    environment = jinja2.Environment(autoescape=True)
    environment.globals.update(
        paragraphs=_paragraphs,
        describe_type=lambda schema: _describe_type(document, schema),
        describe_content=lambda response: _describe_content(document, response),
        constraints=_constraints,
    )
    template = environment.from_string(_TEMPLATE)
    return template.render(
        info=document["info"],
        openapi=document["openapi"],
        operations=list(_operations(document)),
        schemas=sorted(document.get("components", {}).get("schemas", {}).items()),
    )


def _operations(document: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    default_security = document.get("security", [])
    for path, item in document["paths"].items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            yield {
                "method": method,
                "path": path,
                "anchor": f"{method}-{re.sub(r'[^a-z0-9]+', '-', path.lower()).strip('-')}",
                "summary": operation.get("summary", ""),
                "description": operation.get("description", ""),
                "secured": bool(operation.get("security", default_security)),
                "parameters": [
                    {"description": "", "required": False, **parameter}
                    for parameter in item.get("parameters", []) + operation.get("parameters", [])
                ],
                "body": body["schema"] if body else None,
                "responses": [
                    (status, _resolve(document, response))
                    for status, response in sorted(operation.get("responses", {}).items())
                ],
            }


def _paragraphs(text: str | None) -> list[Markup]:
    paragraphs = [part.strip() for part in (text or "").split("\n\n") if part.strip()]
    # Each paragraph is escaped before the <code> tags go in.
    coded = [_CODE.sub(r"<code>\1</code>", str(escape(part))) for part in paragraphs]
    # Every part was escaped above (bandit B704).
    return [Markup(part) for part in coded]  # nosec B704


def _resolve(document: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        *_, kind, name = node["$ref"].split("/")
        node = document["components"][kind][name]
    return node


def _schema_link(reference: str) -> Markup:
    name = reference.rsplit("/", 1)[-1]
    return Markup('<a href="#schema-{0}">{0}</a>').format(name)


def _describe_type(document: Mapping[str, Any], schema: Mapping[str, Any] | None) -> Markup:
    if not schema:
        return Markup("")
    if "$ref" in schema:
        return _schema_link(schema["$ref"])
    kind = schema.get("type", "any")
    if kind == "array":
        return Markup("array of {}").format(_describe_type(document, schema.get("items")))
    if kind == "object" and isinstance(schema.get("additionalProperties"), Mapping):
        values = _describe_type(document, schema["additionalProperties"])
        return Markup("object of {}").format(values)
    return Markup("{}").format(f"{kind} ({schema['format']})" if "format" in schema else kind)


def _describe_content(document: Mapping[str, Any], response: Mapping[str, Any]) -> Markup:
    parts = []
    for media_type, content in response.get("content", {}).items():
        parts.append(
            Markup("<code>{}</code>: {}").format(
                media_type, _describe_type(document, content.get("schema"))
            )
        )
    return Markup("<br>").join(parts)


def _constraints(schema: Mapping[str, Any]) -> str:
    words = []
    if "enum" in schema:
        words.append("one of " + ", ".join(str(value) for value in schema["enum"]))
    for key, label in (
        ("minLength", "at least {} characters"),
        ("maxLength", "at most {} characters"),
        ("minimum", "at least {}"),
        ("maximum", "at most {}"),
        ("pattern", "matches {}"),
        ("default", "default {}"),
    ):
        if key in schema:
            words.append(label.format(schema[key]))
    if schema.get("readOnly"):
        words.append("read-only")
    return "; ".join(words)
