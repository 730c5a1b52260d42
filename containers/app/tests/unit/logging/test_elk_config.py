"""Offline checks of the ELK side: Logstash pipeline, index template, Filebeat, Kibana objects.

Logstash, Elasticsearch and Kibana cannot run here, so these tests parse what they would
read: the pipeline's syntax (with a small parser of Logstash's configuration language),
its grok patterns (translated to Python regular expressions) against sample log lines,
the nginx log format against the pipeline's JSON fields, Filebeat's YAML, and the Kibana
saved objects against the fields that the app really emits and the index template maps.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from my_monit.logging.audit import AUDIT_LOGGER, AuditEvent
from my_monit.logging.logstash import LogstashFormatter

ROOT = Path(__file__).resolve().parents[5]
LOGSTASH = ROOT / "containers" / "logstash"
PIPELINE = LOGSTASH / "pipeline" / "mymonit.conf"
TEMPLATE = LOGSTASH / "templates" / "mymonit.json"
NGINX_FORMAT = LOGSTASH / "nginx-log-format.conf"
FILEBEAT = ROOT / "containers" / "filebeat" / "filebeat.yml"
KIBANA = ROOT / "containers" / "kibana"
SAVED_OBJECTS = KIBANA / "saved_objects.ndjson"
STREAMS = {"audit", "app", "nginx", "mysql", "rabbitmq", "other"}
PLUGINS = {
    "input": {"tcp", "beats"},
    "filter": {"mutate", "json", "grok", "date", "ruby", "drop"},
    "output": {"elasticsearch"},
}


# --- A parser of Logstash's configuration language -------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+|\#[^\n]*)
  | (?P<string>"(?:\\.|[^\\"])*"|'(?:\\.|[^\\'])*')
  | (?P<regex>/(?:\\.|[^\\/\n])*/)
  | (?P<arrow>=>)
  | (?P<operator>==|!=|=~|!~|<=|>=|<|>|!)
  | (?P<punct>[{}\[\],])
  | (?P<word>[A-Za-z0-9_@.+-]+)
    """,
    re.VERBOSE,
)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        assert match, f"unexpected character at {position}: {text[position:position + 30]!r}"
        kind = match.lastgroup or ""
        if kind == "regex" and (not tokens or tokens[-1][1] not in ("=~", "!~")):
            # A slash is a regular expression only after a match operator.
            raise AssertionError(f"stray '/' at {position}")
        if kind != "space":
            tokens.append((kind, match.group()))
        position = match.end()
    return tokens


class _Parser:
    """Parse sections, plugins, conditionals and values; collect every plugin it meets."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.position = 0
        self.plugins: list[tuple[str, str, dict[str, Any]]] = []
        self.conditions: list[str] = []

    def peek(self) -> str | None:
        return self.tokens[self.position][1] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        assert self.position < len(self.tokens), "unexpected end of the pipeline"
        token = self.tokens[self.position]
        assert expected is None or token[1] == expected, f"expected {expected!r}, got {token}"
        self.position += 1
        return token

    def parse(self) -> _Parser:
        while self.peek() is not None:
            section = self.take()[1]
            assert section in PLUGINS, f"unknown section {section}"
            self.take("{")
            self.block(section)
            self.take("}")
        return self

    def block(self, section: str) -> None:
        while self.peek() not in ("}", None):
            if self.peek() == "if":
                self.conditional(section)
            else:
                name = self.take()[1]
                self.take("{")
                self.plugins.append((section, name, self.attributes()))
                self.take("}")

    def conditional(self, section: str) -> None:
        self.take("if")
        self.condition()
        self.branch(section)
        while self.peek() == "else":
            self.take("else")
            if self.peek() == "if":
                self.take("if")
                self.condition()
            self.branch(section)

    def condition(self) -> None:
        parts = []
        while self.peek() != "{":
            parts.append(self.take()[1])
        assert parts, "empty condition"
        self.conditions.append(" ".join(parts))

    def branch(self, section: str) -> None:
        self.take("{")
        self.block(section)
        self.take("}")

    def attributes(self) -> dict[str, Any]:
        attributes: dict[str, Any] = {}
        while self.peek() != "}":
            key = self.value()
            self.take("=>")
            attributes[key] = self.value()
        return attributes

    def value(self) -> Any:
        kind, text = self.take()
        if kind == "string":
            return text[1:-1]
        if text == "[":
            items = []
            while self.peek() != "]":
                items.append(self.value())
                if self.peek() == ",":
                    self.take(",")
            self.take("]")
            return items
        if text == "{":
            mapping = self.attributes()
            self.take("}")
            return mapping
        assert kind == "word", f"unexpected {text!r}"
        return text


@pytest.fixture(scope="module", name="pipeline")
def fixture_pipeline() -> _Parser:
    return _Parser(PIPELINE.read_text()).parse()


def _plugin(pipeline: _Parser, plugin_id: str) -> dict[str, Any]:
    (attributes,) = [a for _, _, a in pipeline.plugins if a.get("id") == plugin_id]
    return attributes


# --- Grok, translated to Python -------------------------------------------------------

# Python equivalents of the logstash-patterns-core patterns that the pipeline uses.
_GROK_BASE = {
    "WORD": r"\b\w+\b",
    "NOTSPACE": r"\S+",
    "DATA": r".*?",
    "GREEDYDATA": r".*",
    "INT": r"[+-]?[0-9]+",
    "NUMBER": r"[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)",
    "IPORHOST": r"(?:[0-9A-Za-z][0-9A-Za-z.-]*|[0-9A-Fa-f:.]+)",
    "HTTPDATE": r"\d{2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}",
    "TIMESTAMP_ISO8601": (
        r"\d{4}-\d{2}-\d{2}[T ]\d{2}:?\d{2}(?::?\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?"
    ),
}
_REFERENCE = re.compile(r"%\{(\w+)(?::([^:}]+))?(?::(int|float))?\}")


def _grok(pattern: str, definitions: dict[str, str]) -> tuple[re.Pattern[str], dict[str, str]]:
    """Expand %{NAME:field} references into a Python regex; map its groups to field names."""
    names: dict[str, str] = {}

    def expand(text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            name, target = match.group(1), match.group(2)
            assert name in definitions or name in _GROK_BASE, f"unknown grok pattern {name}"
            body = expand(definitions.get(name) or _GROK_BASE[name])
            if not target:
                return f"(?:{body})"
            group = f"g{len(names)}"
            names[group] = target
            return f"(?P<{group}>{body})"

        return _REFERENCE.sub(replace, text)

    # Ruby's ^ and $ match at every line, as Python's do under re.MULTILINE.
    return re.compile(expand(pattern), re.MULTILINE), names


def _grok_fields(plugin: dict[str, Any], line: str) -> dict[str, str]:
    """Apply a grok filter's patterns to ``line``, as break_on_match would; give the fields."""
    patterns = next(iter(plugin["match"].values()))
    patterns = patterns if isinstance(patterns, list) else [patterns]
    definitions = plugin.get("pattern_definitions", {})
    fields: dict[str, str] = {}
    for pattern in patterns:
        regex, names = _grok(pattern, definitions)
        match = regex.search(line)
        if match:
            fields.update({names[g]: v for g, v in match.groupdict().items() if v is not None})
            if plugin.get("break_on_match", "true") != "false":
                break
    return fields


# --- The pipeline ----------------------------------------------------------------------


def test_the_pipeline_parses_and_uses_known_plugins_with_unique_ids(pipeline):
    assert {section for section, _, _ in pipeline.plugins} == set(PLUGINS)
    for section, name, _ in pipeline.plugins:
        assert name in PLUGINS[section], f"{section} plugin {name}"
    ids = [attributes.get("id") for _, _, attributes in pipeline.plugins]
    assert None not in ids and len(ids) == len(set(ids))


def test_the_pipeline_listens_where_the_app_and_filebeat_send(pipeline):
    assert _plugin(pipeline, "app_events")["port"] == "5959"
    assert _plugin(pipeline, "app_events")["codec"] == "json_lines"
    assert _plugin(pipeline, "filebeat")["port"] == "5044"
    output = yaml.safe_load(FILEBEAT.read_text())["output.logstash"]["hosts"][0]
    assert output.rstrip("}").endswith(":5044")


def test_the_pipeline_keeps_its_input_marker_out_of_the_inputs_own_metadata(pipeline):
    # With ECS compatibility v8 the tcp and beats inputs own [@metadata][input][...]: a value
    # added at [@metadata][input] itself becomes an array that no conditional matches.
    settings = yaml.safe_load((LOGSTASH / "config" / "logstash.yml").read_text())
    assert settings["pipeline.ecs_compatibility"] == "v8"
    code = "".join(text for _, text in _tokens(PIPELINE.read_text()))
    assert not re.search(r"\[@metadata\]\[input\](?!\[)", code)
    markers = {
        _plugin(pipeline, plugin_id)["add_field"]["[@metadata][mymonit_input]"]
        for plugin_id in ("app_events", "filebeat")
    }
    assert markers == {"app", "beats"}
    conditions = " ".join(pipeline.conditions)
    for marker in markers:
        assert f'[ @metadata ] [ mymonit_input ] == "{marker}"' in conditions


def test_every_filebeat_input_has_a_branch_in_the_pipeline(pipeline):
    inputs = yaml.safe_load(FILEBEAT.read_text())["filebeat.inputs"]
    ids = [item["id"] for item in inputs]
    assert len(ids) == len(set(ids))
    kinds = {item["fields"]["mymonit_log"] for item in inputs}
    conditions = " ".join(pipeline.conditions)
    handled = set(re.findall(r'\[ fields \] \[ mymonit_log \] == "([^"]+)"', conditions))
    assert kinds == handled


@pytest.mark.parametrize(
    ("input_id", "first", "continuation"),
    [
        ("nginx-error", "2024/01/15 10:23:45 [error] 29#29: *1 x", "  upstream: ..."),
        ("mysql-error", "2024-01-15 10:23:45 0 [Note] x", "Version: '10.11.6'"),
        ("mysql-error", "2024-01-15T10:23:45.123456Z 0 [System] x", "\tat ..."),
        ("mysql-slowlog", "# User@Host: app[app] @  [172.18.0.5]", "# Query_time: 2.0"),
        ("rabbitmq", "2024-01-15 10:23:45.123456+00:00 [info] <0.1.0> x", "  crash report"),
    ],
)
def test_filebeat_multiline_patterns_start_an_event_at_each_entry(input_id, first, continuation):
    inputs = yaml.safe_load(FILEBEAT.read_text())["filebeat.inputs"]
    (entry,) = [item for item in inputs if item["id"] == input_id]
    multiline = entry["parsers"][0]["multiline"]
    assert multiline["negate"] is True and multiline["match"] == "after"
    starts = re.compile(multiline["pattern"])
    assert starts.search(first) and not starts.search(continuation)


def test_the_output_writes_daily_indices_per_stream(pipeline):
    output = _plugin(pipeline, "elasticsearch")
    assert output["index"] == "mymonit-%{[@metadata][stream]}-%{+YYYY.MM.dd}"
    assert output["template"].endswith("/templates/mymonit.json")
    streams = set(re.findall(r'"\[@metadata\]\[stream\]" => "(\w+)"', PIPELINE.read_text()))
    assert streams == STREAMS


NGINX_COMBINED = (
    '172.18.0.1 - - [15/Jan/2024:10:23:45 +0000] "GET /measures/3?limit=10 HTTP/1.1" 200 5123 '
    '"-" "curl/8.5.0"'
)


@pytest.mark.parametrize(
    ("line", "request_time"),
    [(NGINX_COMBINED + " 0.004", "0.004"), (NGINX_COMBINED, None)],
)
def test_grok_parses_the_combined_nginx_format(pipeline, line, request_time):
    fields = _grok_fields(_plugin(pipeline, "nginx_combined"), line)
    assert fields["[http][request][method]"] == "GET"
    assert fields["[url][path]"] == "/measures/3" and fields["[@metadata][query]"] == "limit=10"
    assert fields["[http][response][status_code]"] == "200"
    assert fields["[http][response][body][bytes]"] == "5123"
    assert fields.get("[@metadata][request_time]") == request_time
    assert fields["[user_agent][original]"] == "curl/8.5.0"


def test_grok_parses_nginx_error_lines(pipeline):
    line = (
        "2024/01/15 10:23:45 [error] 29#29: *1 connect() failed (111: Connection refused) "
        'while connecting to upstream, client: 172.18.0.1, request: "GET / HTTP/1.1"'
    )
    fields = _grok_fields(_plugin(pipeline, "nginx_error"), line)
    assert fields["[@metadata][time]"] == "2024/01/15 10:23:45"
    assert fields["[log][level]"] == "error" and fields["[process][pid]"] == "29"
    assert fields["[nginx][error][connection_id]"] == "1"


@pytest.mark.parametrize(
    ("line", "level", "code"),
    [
        ("2024-01-15 10:23:45 0 [Note] Starting MariaDB 10.11.6 as process 1", "Note", None),
        (
            "2024-01-15T10:23:45.123456Z 0 [System] [MY-010116] [Server] mysqld starting",
            "System",
            "MY-010116",
        ),
        (
            "2024-01-15 10:24:00 8 [Warning] Access denied for user 'x'@'172.18.0.5'",
            "Warning",
            None,
        ),
    ],
)
def test_grok_parses_mariadb_and_mysql_error_lines(pipeline, line, level, code):
    fields = _grok_fields(_plugin(pipeline, "mysql_error"), line)
    assert fields["[log][level]"] == level and fields.get("[mysql][error][code]") == code
    assert fields["[mysql][thread_id]"] in ("0", "8")


SLOW_ENTRY = """# User@Host: mymonit[mymonit] @  [172.18.0.5]
# Thread_id: 8  Schema: my_monit  QC_hit: No
# Query_time: 2.000220  Lock_time: 0.000104  Rows_sent: 1  Rows_examined: 40210
# Rows_affected: 0  Bytes_sent: 63
SET timestamp=1705314225;
INSERT INTO users (user_id, name, email) VALUES ('S1', 'Marie Curie', "marie@example.org");
# Time: 240115 10:23:50
"""


def _gsub(pipeline: _Parser, plugin_id: str, field_name: str, text: str) -> str:
    rules = _plugin(pipeline, plugin_id)["gsub"]
    for target, pattern, replacement in zip(rules[::3], rules[1::3], rules[2::3]):
        if target == field_name:
            # Ruby's \1 in a replacement is Python's \1 too; ^ and $ match at lines.
            text = re.sub(pattern, replacement, text, flags=re.MULTILINE)
    return text


def test_grok_parses_a_slow_query_entry_and_masks_its_values(pipeline):
    entry = _gsub(pipeline, "mysql_slowlog_trailer", "message", SLOW_ENTRY)
    assert "# Time:" not in entry
    fields = _grok_fields(_plugin(pipeline, "mysql_slowlog"), entry)
    assert fields["[mysql][slowlog][user]"] == "mymonit"
    assert fields["[mysql][slowlog][ip]"] == "172.18.0.5"
    assert fields["[mysql][slowlog][query_time]"] == "2.000220"
    assert fields["[mysql][slowlog][rows_examined]"] == "40210"
    assert fields["[@metadata][epoch]"] == "1705314225"
    query = _gsub(pipeline, "mysql_slowlog_literals", "[mysql][slowlog][query]",
                  fields["[mysql][slowlog][query]"])
    assert query.startswith("INSERT INTO users (user_id, name, email) VALUES (?, ?, ?);")
    assert "Marie" not in query and "marie@" not in query


def test_grok_parses_rabbitmq_lines_and_trims_their_microseconds(pipeline):
    line = (
        "2024-01-15 10:23:45.123456+00:00 [info] <0.684.0> accepting AMQP connection "
        "<0.684.0> (172.18.0.5:45678 -> 172.18.0.3:5672)"
    )
    fields = _grok_fields(_plugin(pipeline, "rabbitmq"), line)
    assert fields["[log][level]"] == "info" and fields["[process][thread][name]"] == "0.684.0"
    time = fields["[@metadata][time]"]
    time = _gsub(pipeline, "rabbitmq_milliseconds", "[@metadata][time]", time)
    assert time == "2024-01-15 10:23:45.123+00:00"


# --- The nginx log format --------------------------------------------------------------

_NGINX_SAMPLE = {
    "time_iso8601": "2024-01-15T10:23:45+00:00",
    "request_id": "4f9c1e0d8a7b6c5d4e3f2a1b0c9d8e7f",
    "remote_addr": "172.18.0.1",
    "request_method": "GET",
    "uri": '/users/a"b\\c',
    "status": "403",
    "body_bytes_sent": "97",
    "request_time": "0.004",
    "upstream_response_time": "0.003, 0.001",
    "ssl_protocol": "TLSv1.3",
    "http_user_agent": 'Mozilla/5.0 (X11) "quoted"',
}


def _nginx_format(text: str) -> str | None:
    """Give the mymonit_json format of an nginx configuration, its strings joined as nginx does."""
    match = re.search(r"log_format\s+mymonit_json\s+escape=json\s+((?:'[^']*'\s*)+);", text)
    return "".join(re.findall(r"'([^']*)'", match.group(1))) if match else None


def _render_nginx(body: str) -> str:
    # escape=json: nginx escapes quotes, backslashes and control characters of each value.
    return re.sub(r"\$(\w+)", lambda m: json.dumps(_NGINX_SAMPLE[m.group(1)])[1:-1], body)


def test_the_nginx_json_format_renders_valid_json_with_the_pipelines_fields(pipeline):
    line = _render_nginx(_nginx_format(NGINX_FORMAT.read_text()) or "")
    event = json.loads(line)
    assert event["status"] == 403 and event["request_time"] == 0.004
    assert event["uri"] == '/users/a"b\\c'
    renamed = _plugin(pipeline, "nginx_json_fields")["rename"]
    sources = {key.removeprefix("[@metadata][nginx][").rstrip("]") for key in renamed}
    assert sources == set(event)
    targets = set(renamed.values())
    for wanted in ("[http][request][method]", "[url][path]", "[http][response][status_code]",
                   "[http][response][body][bytes]", "[@metadata][request_time]"):
        assert wanted in targets
    assert re.search(r"^\s*\{", line)
    tls = _grok_fields(_plugin(pipeline, "nginx_tls"), "TLSv1.3")
    assert tls == {"[tls][version_protocol]": "TLS", "[tls][version]": "1.3"}


def test_nginx_conf_uses_the_format_that_the_pipeline_parses():
    nginx_conf = ROOT / "containers" / "nginx" / "nginx.conf"
    theirs = _nginx_format(nginx_conf.read_text()) if nginx_conf.exists() else None
    if theirs is None:
        pytest.skip("nginx.conf does not define log_format mymonit_json")
    assert theirs == _nginx_format(NGINX_FORMAT.read_text())


# --- What the app emits, the template and Kibana --------------------------------------

SAMPLE_EVENTS = [
    AuditEvent("measures.list", "success", "rest", "r1", actor_id="S1", object_type="experiment",
               object_id="3", method="GET", path="/measures/3", route="/measures/{experiment_id}",
               status_code=200, duration_ns=1000),
    AuditEvent("experiments.get", "failure", "rest", "r2", actor_id="S1", method="GET",
               path="/experiments/7", status_code=403),
    AuditEvent("users.update", "success", "rest", "r3", actor_id="A1", object_type="user",
               object_id="S1", method="PUT", path="/users/S1", status_code=200,
               changes=("email",)),
    AuditEvent("measures.consume", "success", "amqp", "b1", object_type="measures", stored=9,
               dead_lettered=1, reasons=("not JSON",), duration_ns=5000, details={"queue": "q"}),
]


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _flatten(item, f"{prefix}{key}.")
    else:
        yield prefix[:-1], value


def _emitted() -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for event in SAMPLE_EVENTS:
        record = logging.LogRecord(AUDIT_LOGGER, logging.INFO, __file__, 1, "audit", None, None)
        record.ecs = event.to_ecs()
        fields.update(_flatten(json.loads(LogstashFormatter().format(record))))
    return fields


def _mapping(template: dict[str, Any], name: str) -> dict[str, Any] | None:
    node: dict[str, Any] = {"properties": template["template"]["mappings"]["properties"]}
    for part in name.split("."):
        node = node.get("properties", {}).get(part)
        if node is None:
            return None
    return node


@pytest.fixture(scope="module", name="template")
def fixture_template() -> dict[str, Any]:
    return json.loads(TEMPLATE.read_text())


def test_the_template_covers_every_index_and_types_the_audit_fields(template):
    for stream in STREAMS:
        assert any(fnmatch.fnmatch(f"mymonit-{stream}-2024.01.15", p)
                   for p in template["index_patterns"])
    emitted = _emitted()
    numbers = {"event.duration", "http.response.status_code", "mymonit.batch.stored",
               "mymonit.batch.dead_lettered"}
    for name in numbers:
        assert isinstance(emitted[name], int), name
        assert _mapping(template, name) == {"type": "long"}, name
    for name in ("user.id", "event.action", "event.outcome", "event.type", "mymonit.request_id"):
        assert _mapping(template, name)["type"] == "keyword", name
    assert _mapping(template, "mymonit.details")["type"] == "flattened"
    mappings = template["template"]["mappings"]
    dynamic = [next(iter(rule.values())) for rule in mappings["dynamic_templates"]]
    assert dynamic[-1] == {"match_mapping_type": "string",
                           "mapping": {"type": "keyword", "ignore_above": 1024}}


@pytest.fixture(scope="module", name="saved_objects")
def fixture_saved_objects() -> list[dict[str, Any]]:
    lines = [line for line in SAVED_OBJECTS.read_text().splitlines() if line.strip()]
    return [json.loads(line) for line in lines]


def test_saved_objects_are_unique_and_their_references_resolve(saved_objects):
    keys = [(o["type"], o["id"]) for o in saved_objects]
    assert len(keys) == len(set(keys))
    assert {o["type"] for o in saved_objects} == {"index-pattern", "search", "visualization",
                                                   "dashboard"}
    for saved in saved_objects:
        for reference in saved["references"]:
            assert (reference["type"], reference["id"]) in keys, reference
        meta = saved["attributes"].get("kibanaSavedObjectMeta", {})
        source = json.loads(meta.get("searchSourceJSON", "{}"))
        if "indexRefName" in source:
            assert source["indexRefName"] in {r["name"] for r in saved["references"]}


def test_data_views_match_the_daily_indices(saved_objects):
    titles = {
        o["id"]: o["attributes"]["title"] for o in saved_objects if o["type"] == "index-pattern"
    }
    assert fnmatch.fnmatch("mymonit-audit-2024.01.15", titles["mymonit-audit"])
    assert not fnmatch.fnmatch("mymonit-nginx-2024.01.15", titles["mymonit-audit"])
    assert all(fnmatch.fnmatch(f"mymonit-{s}-2024.01.15", titles["mymonit-logs"]) for s in STREAMS)


def _referenced_fields(saved: dict[str, Any]) -> tuple[set[str], set[str]]:
    """Give (fields aggregated on, fields read or queried) by one saved object."""
    attributes = saved["attributes"]
    aggregated: set[str] = set()
    read = set(attributes.get("columns", []))
    if "visState" in attributes:
        for agg in json.loads(attributes["visState"])["aggs"]:
            if "field" in agg.get("params", {}):
                aggregated.add(agg["params"]["field"])
    meta = attributes.get("kibanaSavedObjectMeta", {})
    query = json.loads(meta.get("searchSourceJSON", "{}")).get("query", {}).get("query", "")
    read |= set(re.findall(r"([\w.@]+)\s*:", query))
    return aggregated, read


def test_saved_objects_use_only_fields_the_app_emits_and_can_aggregate(saved_objects, template):
    emitted = _emitted()
    for saved in saved_objects:
        aggregated, read = _referenced_fields(saved)
        for name in aggregated | read:
            assert name in emitted, f"{saved['id']} uses {name}, which the app never sends"
        for name in aggregated:
            mapping = _mapping(template, name)
            assert mapping and mapping["type"] in {"keyword", "long", "date"}, name


def test_the_dashboard_shows_calls_per_user_denials_and_dead_letters(saved_objects):
    objects = {o["id"]: o for o in saved_objects}
    (dashboard,) = [o for o in saved_objects if o["type"] == "dashboard"]
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    names = {reference["name"]: reference["id"] for reference in dashboard["references"]}
    shown = [objects[names[panel["panelRefName"]]] for panel in panels]
    uses = [_referenced_fields(o) for o in shown]
    assert any("user.id" in aggregated for aggregated, _ in uses)
    assert any("mymonit.batch.dead_lettered" in aggregated for aggregated, _ in uses)
    queries = [
        json.loads(o["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"]["query"]
        for o in shown
    ]
    assert 'event.type : "denied"' in queries


def test_configuration_files_parse_and_dockerfiles_copy_what_exists():
    for path in (LOGSTASH / "config" / "logstash.yml", LOGSTASH / "config" / "pipelines.yml"):
        assert yaml.safe_load(path.read_text())
    pipelines = yaml.safe_load((LOGSTASH / "config" / "pipelines.yml").read_text())
    assert pipelines[0]["path.config"].endswith("/pipeline/mymonit.conf")
    for dockerfile in (LOGSTASH / "Dockerfile", ROOT / "containers" / "filebeat" / "Dockerfile"):
        for line in dockerfile.read_text().splitlines():
            if line.startswith("COPY"):
                sources = [w for w in line.split()[1:-1] if not w.startswith("--")]
                assert all((dockerfile.parent / s).exists() for s in sources), line
    loader = KIBANA / "load-saved-objects.sh"
    assert loader.stat().st_mode & 0o111 and "saved_objects.ndjson" in loader.read_text()
