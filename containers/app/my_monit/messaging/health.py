"""The consumer's counters, and the HTTP endpoint that shows its health and metrics."""

from __future__ import annotations

import json
import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Mapping

log = logging.getLogger(__name__)

# name -> (Prometheus metric, type, help)
_METRICS = {
    "consumed": ("mymonit_messages_consumed_total", "counter", "Messages delivered by RabbitMQ."),
    "stored": ("mymonit_measures_stored_total", "counter", "Measures committed."),
    "stored_messages": (
        "mymonit_messages_stored_total", "counter", "Messages whose measures were committed."
    ),
    "dead_lettered": (
        "mymonit_messages_dead_lettered_total", "counter", "Messages sent to the dead queue."
    ),
    "duplicates": (
        "mymonit_messages_duplicate_total", "counter", "Messages whose id was stored before."
    ),
    "batches": ("mymonit_batches_total", "counter", "Batches committed."),
    "reconnects": ("mymonit_broker_reconnects_total", "counter", "Broker connections lost."),
    "message_ids_pruned": (
        "mymonit_message_ids_pruned_total", "counter", "Consumed message ids deleted after a week."
    ),
    "database_retries": (
        "mymonit_database_retries_total", "counter", "Batches retried as the database failed."
    ),
}
Readiness = Callable[[], Mapping[str, bool]]


class Metrics:
    """Counters shared by the consumer's threads, read by the metrics endpoint."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(_METRICS, 0)

    def add(self, **counts: int) -> None:
        """Add to some counters, e.g. ``add(stored=1000, batches=1)``."""
        with self._lock:
            for name, count in counts.items():
                self._counts[name] += count

    def snapshot(self) -> dict[str, int]:
        """Give every counter's value."""
        with self._lock:
            return dict(self._counts)

    def exposition(self, gauges: Mapping[str, bool]) -> str:
        """Write the counters and the readiness checks in Prometheus' text format."""
        lines = []
        for name, value in self.snapshot().items():
            metric, kind, text = _METRICS[name]
            lines += [f"# HELP {metric} {text}", f"# TYPE {metric} {kind}", f"{metric} {value}"]
        lines += [
            "# HELP mymonit_consumer_check Readiness checks of the consumer (1 = passing).",
            "# TYPE mymonit_consumer_check gauge",
        ]
        lines += [f'mymonit_consumer_check{{check="{k}"}} {int(v)}' for k, v in gauges.items()]
        return "\n".join(lines) + "\n"


class HealthServer:
    """Serve /healthz, /readyz and /metrics from a background thread."""

    # All interfaces by default: probes and scrapers come from outside the container.
    def __init__(self, port: int, metrics: Metrics, readiness: Readiness,
                 host: str = "0.0.0.0") -> None:  # nosec B104
        self._server = ThreadingHTTPServer((host, port), _handler(metrics, readiness))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="health", daemon=True
        )

    @property
    def port(self) -> int:
        """Give the port the server listens on (useful when asked for port 0)."""
        return self._server.server_address[1]

    def start(self) -> None:
        """Start serving in the background."""
        self._thread.start()
        log.info("health and metrics on port %d", self.port)

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()


def _handler(metrics: Metrics, readiness: Readiness) -> type[BaseHTTPRequestHandler]:
    class HealthHandler(BaseHTTPRequestHandler):
        """Answer the three endpoints; anything else is a 404."""

        def do_GET(self) -> None:  # pylint: disable=invalid-name  # http.server's naming
            """Answer one GET."""
            if self.path == "/healthz":
                self._send(HTTPStatus.OK, "application/json", {"status": "alive"})
            elif self.path == "/readyz":
                checks = dict(readiness())
                ready = all(checks.values())
                status = HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE
                body = {"status": "ready" if ready else "not ready", "checks": checks}
                self._send(status, "application/json", body)
            elif self.path == "/metrics":
                text = metrics.exposition(readiness())
                self._send(HTTPStatus.OK, "text/plain; version=0.0.4", text)
            else:
                self._send(HTTPStatus.NOT_FOUND, "application/json", {"status": "not found"})

        def _send(self, status: HTTPStatus, content_type: str, body: object) -> None:
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: object) -> None:
            """Keep probes out of the info log."""
            log.debug("health request for %s", self.path)

    return HealthHandler
