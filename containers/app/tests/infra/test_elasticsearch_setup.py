"""containers/elasticsearch/setup.sh sends Elasticsearch the calls that Kibana and Logstash need.

A recording HTTP server on the loopback stands in for Elasticsearch: what is checked is what
the script sends (methods, paths, credentials, JSON bodies), not Elasticsearch itself.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .support import required_file


class _Recorder(BaseHTTPRequestHandler):
    calls: list[tuple[str, str, str, Any]] = []

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"null")
        self.calls.append((self.command, self.path, self.headers["Authorization"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    do_POST = do_PUT = _record  # noqa: N815 - http.server's naming

    def log_message(self, *_: object) -> None:
        """Keep the test's output quiet."""


def test_setup_sets_kibana_system_and_creates_a_writer_for_mymonit_indices() -> None:
    """kibana_system gets its password; logstash_writer may write mymonit-* only."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        environment = {
            **os.environ,
            "ELASTICSEARCH_URL": f"http://127.0.0.1:{server.server_address[1]}",
            "ELASTIC_PASSWORD": "elastic-secret",
            "KIBANA_SYSTEM_PASSWORD": "kibana-secret",
            "LOGSTASH_WRITER_PASSWORD": "writer-secret",
        }
        subprocess.run(
            ["bash", str(required_file("containers/elasticsearch/setup.sh"))],
            env=environment, check=True, capture_output=True, timeout=60,
        )
    finally:
        server.shutdown()
        server.server_close()
    calls = {(method, path): (auth, body) for method, path, auth, body in _Recorder.calls}
    expected_auth = "Basic " + base64.b64encode(b"elastic:elastic-secret").decode()
    assert all(auth == expected_auth for auth, _ in calls.values())
    assert calls[("POST", "/_security/user/kibana_system/_password")][1] == {
        "password": "kibana-secret"
    }
    role = calls[("PUT", "/_security/role/logstash_writer")][1]
    assert role["indices"] == [
        {
            "names": ["mymonit-*"],
            "privileges": ["create_index", "create_doc", "write", "manage", "auto_configure"],
        }
    ]
    user = calls[("PUT", "/_security/user/logstash_writer")][1]
    assert user["password"] == "writer-secret" and user["roles"] == ["logstash_writer"]


def test_setup_refuses_to_run_without_its_passwords() -> None:
    """A missing password stops the script before any call."""
    environment = {k: v for k, v in os.environ.items() if not k.endswith("_PASSWORD")}
    result = subprocess.run(
        ["bash", str(required_file("containers/elasticsearch/setup.sh"))],
        env={**environment, "ELASTICSEARCH_URL": "http://127.0.0.1:9"},
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode != 0 and "ELASTIC_PASSWORD" in result.stderr
