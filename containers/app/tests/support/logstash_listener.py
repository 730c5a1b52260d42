"""A stand-in for Logstash on loopback, and a check that captured text leaks no personal data.

``LogstashListener`` accepts the app's TCP connections and collects the JSON lines they
carry, as Logstash's ``json_lines`` input would. ``StalledListener`` accepts connections
but never reads from them, like a Logstash whose pipeline is blocked. ``find_leaks``
looks for test users' names, emails and Firebase uids in whatever a test captured.

Use from any test (``tests/`` is on ``sys.path`` under pytest)::

    from support.logstash_listener import LogstashListener, find_leaks

    with LogstashListener() as listener:
        ...  # run the app with LOGSTASH_HOST=127.0.0.1 LOGSTASH_PORT=listener.port
        events = listener.wait_for(lambda e: field(e, "event.action") == "users.get")
        assert find_leaks(listener.texts(), ["Marie Curie", "marie@example.org"]) == []
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import pytest

AUDIT_DATASET = "mymonit.audit"


def field(event: dict[str, Any], path: str, default: Any = None) -> Any:
    """Read a dotted ECS field (``"http.response.status_code"``) from a nested event."""
    value: Any = event
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return default
        value = value[part]
    return value


class LogstashListener:
    """Accept TCP connections on loopback and collect the JSON lines they carry."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = socket.create_server((host, port))
        self.host, self.port = self._server.getsockname()[:2]
        self._condition = threading.Condition()
        self._lines: list[str] = []
        self._events: list[dict[str, Any]] = []
        self._connections: list[socket.socket] = []
        self._closed = False
        self._acceptor = threading.Thread(target=self._accept, name="listener", daemon=True)

    def __enter__(self) -> LogstashListener:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> LogstashListener:
        """Start accepting connections."""
        self._acceptor.start()
        return self

    def stop(self) -> None:
        """Stop accepting, and close the connections it has."""
        self._closed = True
        _close(self._server)
        with self._condition:
            connections = list(self._connections)
        for connection in connections:
            _close(connection)
        self._acceptor.join(5)

    @property
    def connections(self) -> int:
        """How many connections were accepted so far."""
        with self._condition:
            return len(self._connections)

    def events(self) -> list[dict[str, Any]]:
        """Every JSON object received so far, in order of arrival."""
        with self._condition:
            return list(self._events)

    def audit_events(self) -> list[dict[str, Any]]:
        """The audit events received so far (``event.dataset`` is ``mymonit.audit``)."""
        return [event for event in self.events() if field(event, "event.dataset") == AUDIT_DATASET]

    def texts(self) -> list[str]:
        """Every line received so far, as text (for leak checks)."""
        with self._condition:
            return list(self._lines)

    def wait_for(
        self,
        predicate: Callable[[dict[str, Any]], bool] = lambda _: True,
        count: int = 1,
        timeout: float = 10.0,
    ) -> list[dict[str, Any]]:
        """Wait until ``count`` received events match ``predicate``; give the matches.

        Raises AssertionError, with how many matched, when the timeout passes first.
        """
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                matches = [event for event in self._events if predicate(event)]
                remaining = deadline - time.monotonic()
                if len(matches) >= count or remaining <= 0:
                    break
                self._condition.wait(remaining)
        assert len(matches) >= count, f"{len(matches)} of {count} events within {timeout} s"
        return matches

    def _accept(self) -> None:
        while not self._closed:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            with self._condition:
                self._connections.append(connection)
            threading.Thread(target=self._read, args=(connection,), daemon=True).start()

    def _read(self, connection: socket.socket) -> None:
        with connection, connection.makefile("rb") as stream:
            try:
                for raw in stream:
                    self._on_line(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
            except OSError:
                return

    def _on_line(self, line: str) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            event = {"_unparsed": line}
        with self._condition:
            self._lines.append(line)
            self._events.append(event if isinstance(event, dict) else {"_unparsed": line})
            self._condition.notify_all()


class StalledListener:
    """Accept TCP connections on loopback but never read: a Logstash that is stuck."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # A small receive window fills up at once, so the sender meets its send timeout.
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self._server.bind((host, 0))
        self._server.listen(64)
        self.host, self.port = self._server.getsockname()[:2]
        self._connections: list[socket.socket] = []
        self._closed = False
        self._acceptor = threading.Thread(target=self._accept, name="stalled", daemon=True)

    def __enter__(self) -> StalledListener:
        self._acceptor.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._closed = True
        _close(self._server)
        for connection in list(self._connections):
            _close(connection)
        self._acceptor.join(5)

    @property
    def connections(self) -> int:
        """How many connections were accepted so far."""
        return len(self._connections)

    def _accept(self) -> None:
        while not self._closed:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            self._connections.append(connection)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def free_port() -> int:
    """Give a loopback TCP port that nothing listens on (it was free a moment ago)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Leak:
    """Where a secret was found: which secret (by index, not repeated), in which text, where."""

    secret: int
    text: int
    offset: int
    form: str

    def __str__(self) -> str:
        return f"secret #{self.secret} ({self.form}) in text #{self.text} at offset {self.offset}"


def _forms(secret: str) -> Iterator[tuple[str, str]]:
    yield "as is", secret
    yield "JSON-escaped", json.dumps(secret)[1:-1]
    yield "URL-encoded", urllib.parse.quote(secret, safe="")
    yield "URL-encoded form", urllib.parse.quote_plus(secret)


def find_leaks(texts: Iterable[str], secrets: Iterable[str], min_length: int = 3) -> list[Leak]:
    """Find each secret in each text, ignoring case, also JSON-escaped and URL-encoded.

    Secrets shorter than ``min_length`` are skipped: they would match by chance. An empty
    list means nothing leaked; a Leak names the secret by index, so a failing assertion
    does not print it again.
    """
    forms = []
    for index, secret in enumerate(secrets):
        if len(secret) < min_length:
            continue
        needles: dict[str, str] = {}
        for form, text in _forms(secret):
            needles.setdefault(text.casefold(), form)
        forms.extend((index, form, needle) for needle, form in needles.items())
    leaks = []
    for text_index, text in enumerate(texts):
        folded = text.casefold()
        for secret_index, form, needle in forms:
            offset = folded.find(needle)
            if offset >= 0:
                leaks.append(Leak(secret_index, text_index, offset, form))
    return _unique(leaks)


def _unique(leaks: list[Leak]) -> list[Leak]:
    seen: set[tuple[int, int]] = set()
    unique = []
    for leak in leaks:
        if (leak.secret, leak.text) not in seen:
            seen.add((leak.secret, leak.text))
            unique.append(leak)
    return unique


@pytest.fixture
def logstash_listener() -> Iterator[LogstashListener]:
    """A started LogstashListener on a free loopback port, stopped after the test."""
    with LogstashListener() as listener:
        yield listener
