"""Integration tests of the Kibana loader script against a stand-in Kibana on loopback.

The script is run as Compose would run it (sh and curl); the stand-in answers 503 to the
first status requests, as Kibana does while it starts, and records the import request.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Iterator

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not (shutil.which("sh") and shutil.which("curl")), reason="the loader needs sh and curl"
    ),
]

KIBANA = Path(__file__).resolve().parents[4] / "containers" / "kibana"
LOADER = KIBANA / "load-saved-objects.sh"


class FakeKibana(http.server.ThreadingHTTPServer):
    """Answer /api/status and /api/saved_objects/_import like Kibana 8 does."""

    def __init__(self, unavailable: int, import_answer: dict) -> None:
        super().__init__(("127.0.0.1", 0), _KibanaHandler)
        self.unavailable = unavailable
        self.import_answer = import_answer
        self.status_calls = 0
        self.imports: list[tuple[dict[str, str], bytes, str]] = []


class _KibanaHandler(http.server.BaseHTTPRequestHandler):
    server: FakeKibana

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.server.status_calls += 1
        if self.server.status_calls <= self.server.unavailable:
            self._answer(503, {"status": {"overall": {"level": "unavailable"}}})
        else:
            self._answer(200, {"status": {"overall": {"level": "available"}}})

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.imports.append((dict(self.headers), body, self.path))
        self._answer(200, self.server.import_answer)

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: object) -> None:
        """Keep the test output quiet."""


@contextlib.contextmanager
def _kibana(unavailable: int = 2, answer: dict | None = None) -> Iterator[FakeKibana]:
    server = FakeKibana(unavailable, answer or {"success": True, "successCount": 7})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(name="kibana")
def fixture_kibana() -> Iterator[FakeKibana]:
    with _kibana() as server:
        yield server


def _load(server: FakeKibana, **environ: str) -> subprocess.CompletedProcess[str]:
    sh = shutil.which("sh") or "sh"
    env = {
        "PATH": "/usr/bin:/bin",
        "KIBANA_URL": f"http://127.0.0.1:{server.server_address[1]}",
        "KIBANA_POLL_SECONDS": "1",
        "KIBANA_WAIT_SECONDS": "20",
        **environ,
    }
    return subprocess.run(  # nosec B603 - a fixed script of the repository
        [sh, str(LOADER)], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_waits_for_kibana_then_imports_the_saved_objects(kibana):
    result = _load(kibana)
    assert result.returncode == 0, result.stderr
    assert kibana.status_calls == 3
    ((headers, body, path),) = kibana.imports
    assert path == "/api/saved_objects/_import?overwrite=true"
    assert headers["kbn-xsrf"] == "true" and "Authorization" not in headers
    assert headers["Content-Type"].startswith("multipart/form-data")
    assert (KIBANA / "saved_objects.ndjson").read_bytes() in body
    assert "imported 7 saved objects" in result.stderr


def test_sends_credentials_when_given(kibana):
    result = _load(kibana, KIBANA_USERNAME="loader", KIBANA_PASSWORD="s3cret")
    assert result.returncode == 0, result.stderr
    ((headers, _, _),) = kibana.imports
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"loader:s3cret").decode()


def test_fails_when_the_import_is_refused():
    with _kibana(0, {"success": False, "errors": [{"id": "x"}]}) as server:
        result = _load(server)
        assert result.returncode == 1 and "import failed" in result.stderr


def test_gives_up_when_kibana_never_becomes_available():
    with _kibana(unavailable=1000) as server:
        result = _load(server, KIBANA_WAIT_SECONDS="2")
        assert result.returncode == 1 and "not available after 2 s" in result.stderr
        assert not server.imports
