"""The Logstash sink: JSON events over TCP, sent by a background thread that never blocks.

python-logstash formats the events, but its own TCP handler writes from the thread that
logs, so a slow or absent Logstash would stall requests and acks. Here the logging
thread only renders the record (inside the logging context) and puts the line into a
bounded queue. One sender thread per process writes batches to Logstash with a send
timeout, reconnects with capped back-off, and counts the events it had to drop while
the queue was full, reporting them as a warning.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import select
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from logstash import LogstashFormatterVersion1

from my_monit.logging.audit import AUDIT_DATASET, AUDIT_LOGGER
from my_monit.logging.facets import is_logging
from my_monit.logging.masking import (
    MASKED_ATTRIBUTE,
    MaskingFilter,
    render_exception,
    scrub,
    scrub_values,
)

APP_DATASET = "mymonit.app"
ECS_VERSION = "8.11.0"
# How often the idle sender wakes up to notice a close.
_POLL_SECONDS = 0.2
# Attributes of every LogRecord; anything else a caller passed with ``extra=`` is a label.
_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "ecs",
    MASKED_ATTRIBUTE,
}

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LogstashConfiguration:  # pylint: disable=too-many-instance-attributes  # tuning knobs
    """Where Logstash listens, and how much to buffer and wait while it does not answer."""

    host: str
    port: int = 5959
    queue_size: int = 10_000
    batch_bytes: int = 256 * 1024
    connect_timeout: float = 2.0
    send_timeout: float = 5.0
    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    report_interval: float = 10.0
    close_timeout: float = 1.0
    # After the first event of a batch, the sender waits this long for more to join it:
    # under load it wakes and writes a few times a second, not once per event.
    linger: float = 0.05


class Connection(Protocol):
    """What the sender needs from a connection to Logstash."""

    def send(self, data: bytes) -> None:
        """Write all of ``data`` or raise OSError."""

    def closed_by_peer(self) -> bool:
        """Tell whether Logstash has closed its end."""

    def close(self) -> None:
        """Release the connection."""


class LogstashConnection:
    """One TCP connection to Logstash, with timeouts on connecting and on sending."""

    def __init__(self, sock: socket.socket) -> None:
        self._socket = sock

    @classmethod
    def open(cls, configuration: LogstashConfiguration) -> LogstashConnection:
        """Connect to Logstash; raise OSError when it does not accept in time."""
        sock = socket.create_connection(
            (configuration.host, configuration.port), timeout=configuration.connect_timeout
        )
        # A Logstash that accepts but never reads must not hold the sender for ever.
        sock.settimeout(configuration.send_timeout)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        return cls(sock)

    def send(self, data: bytes) -> None:
        """Write all of ``data`` within the send timeout, or raise OSError."""
        self._socket.sendall(data)

    def closed_by_peer(self) -> bool:
        """Tell whether Logstash closed its end: it never writes, so readable means closed."""
        poller = select.poll()
        poller.register(self._socket, select.POLLIN)
        if not poller.poll(0):
            return False
        try:
            return not self._socket.recv(1, socket.MSG_PEEK)
        except OSError:
            return True

    def close(self) -> None:
        """Close the socket, ignoring errors of a connection that is already gone."""
        with contextlib.suppress(OSError):
            self._socket.close()


Connector = Callable[[LogstashConfiguration], Connection]


def _timestamp(record: logging.LogRecord) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


def _merge(target: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


class LogstashFormatter(LogstashFormatterVersion1):
    """Format a record as a Logstash event (python-logstash's schema 1) with ECS names.

    Audit records carry their fields in ``record.ecs``; they are merged at the top level.
    Anything else passed with ``extra=`` becomes a string in ``labels``.
    """

    def __init__(self, service: str = "mymonit") -> None:
        super().__init__(message_type="mymonit", tags=None, fqdn=False)
        self.service = service

    @is_logging
    def format(self, record: logging.LogRecord) -> bytes:  # type: ignore[override]
        event = self._event(record)
        if record.exc_info or record.exc_text:
            event["error"] = self._error(record)
        labels = {
            key: scrub(str(value))
            for key, value in record.__dict__.items()
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_")
        }
        if labels:
            event["labels"] = labels
        ecs = getattr(record, "ecs", None)
        if isinstance(ecs, dict):
            _merge(event, scrub_values(ecs))
        return self.serialize(event)

    def _event(self, record: logging.LogRecord) -> dict[str, Any]:
        message = record.getMessage()
        if not getattr(record, MASKED_ATTRIBUTE, False):
            message = scrub(message)
        return {
            "@timestamp": _timestamp(record),
            "@version": "1",
            "message": message,
            "type": self.message_type,
            "tags": list(self.tags),
            "ecs": {"version": ECS_VERSION},
            "event": {"dataset": AUDIT_DATASET if record.name == AUDIT_LOGGER else APP_DATASET},
            "service": {"name": self.service},
            "host": {"hostname": self.host},
            "log": {
                "level": record.levelname,
                "logger": record.name,
                "origin": {
                    "file": {"name": record.filename, "line": record.lineno},
                    "function": record.funcName,
                },
            },
            "process": {"pid": record.process, "thread": {"name": record.threadName}},
        }

    @staticmethod
    def _error(record: logging.LogRecord) -> dict[str, Any]:
        error: dict[str, Any] = {"stack_trace": render_exception(record)}
        exception = record.exc_info[1] if record.exc_info else None
        if exception is not None:
            kind = type(exception)
            error["type"] = f"{kind.__module__}.{kind.__qualname__}"
            try:
                error["message"] = scrub(str(exception))
            # An exception whose __str__ fails still gets its type and traceback logged.
            except Exception:  # pylint: disable=broad-exception-caught
                error["message"] = "(unprintable exception)"
        return error


class DeliveryCounts:
    """Events queued, sent and dropped by one handler; shared by callers and the sender."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.queued = 0
        self.sent = 0
        self.refused = 0
        self.lost = 0
        self._unreported = 0
        self._reported_at = time.monotonic()

    @property
    def dropped(self) -> int:
        """Events that will never reach Logstash: refused by a full queue, or lost at close."""
        return self.refused + self.lost

    @property
    def pending(self) -> int:
        """Events queued but neither sent nor given up yet."""
        with self._lock:
            return self.queued - self.sent - self.lost

    def on_queued(self) -> None:
        """Count one event put into the queue."""
        with self._lock:
            self.queued += 1

    def on_refused(self) -> None:
        """Count one event that did not fit into the full queue."""
        with self._lock:
            self.refused += 1
            self._unreported += 1

    def on_lost(self, count: int) -> None:
        """Count queued events given up when the handler closed."""
        with self._lock:
            self.lost += count
            self._unreported += count

    def on_sent(self, count: int) -> None:
        """Count events that Logstash has taken."""
        with self._lock:
            self.sent += count

    def take_unreported(self, interval: float) -> tuple[int, float] | None:
        """Give the drops not reported yet and the seconds they span, at most once per interval."""
        now = time.monotonic()
        with self._lock:
            if not self._unreported or now - self._reported_at < interval:
                return None
            count, since = self._unreported, self._reported_at
            self._unreported, self._reported_at = 0, now
        return count, now - since


class LogstashSender:  # pylint: disable=too-many-instance-attributes  # one sender's state
    """Own the queue of one process and the thread that writes its lines to Logstash."""

    def __init__(self, configuration: LogstashConfiguration, connector: Connector) -> None:
        self._configuration = configuration
        self._connector = connector
        self._lines: queue.Queue[bytes] = queue.Queue(configuration.queue_size)
        self.counts = DeliveryCounts()
        self.pid = os.getpid()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection: Connection | None = None
        self._failures = 0

    def offer(self, line: bytes) -> None:
        """Queue ``line`` without waiting; count it as dropped if the queue is full or closed."""
        if self._closing.is_set():
            self.counts.on_refused()
            return
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self.run, name="logstash-sender", daemon=True)
            self._thread.start()
        try:
            self._lines.put_nowait(line)
        except queue.Full:
            self.counts.on_refused()
            return
        self.counts.on_queued()

    def flush(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for queued lines to go out; tell whether they did."""
        deadline = time.monotonic() + timeout
        while self.counts.pending > 0:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self) -> None:
        """Stop the thread, giving queued lines ``close_timeout`` seconds to go out."""
        self._closing.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and self.pid == os.getpid():
            # A wedged send may outlive this wait: the thread is a daemon and ends with us.
            thread.join(self._configuration.close_timeout)

    def run(self) -> None:
        """Send until closed, then give what is left a short time to go out."""
        try:
            while not self._closing.is_set():
                batch = self._take(_POLL_SECONDS)
                if batch and not self._deliver(batch):
                    self.counts.on_lost(len(batch))
                self._report_drops(self._configuration.report_interval)
            self._drain(time.monotonic() + self._configuration.close_timeout)
            self._report_drops(0)
        finally:
            self._disconnect()

    def _take(self, timeout: float) -> list[bytes]:
        try:
            batch = [self._lines.get(timeout=timeout)]
        except queue.Empty:
            return []
        # Wait for more to join only when none is waiting yet: with a backlog, a linger per
        # batch would cap the rate at one batch per linger, and the queue would overflow.
        if timeout and self._configuration.linger and self._lines.empty():
            self._closing.wait(self._configuration.linger)
        size = len(batch[0])
        while size < self._configuration.batch_bytes:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                break
            batch.append(line)
            size += len(line)
        return batch

    def _deliver(self, batch: list[bytes]) -> bool:
        data = b"".join(batch)
        while True:
            try:
                self._send(data)
            except OSError as error:
                self._on_send_failed(error)
                # Drops happen while Logstash is away: say so now, not once it is back.
                self._report_drops(self._configuration.report_interval)
                if self._closing.wait(self._backoff()):
                    return False
                continue
            self._on_sent(len(batch))
            return True

    def _drain(self, deadline: float) -> None:
        # One attempt per batch, no back-off: closing must not wait for a Logstash that is away.
        while time.monotonic() < deadline:
            batch = self._take(0)
            if not batch:
                return
            try:
                self._send(b"".join(batch))
            except OSError:
                self.counts.on_lost(len(batch) + self._lines.qsize())
                return
            self._on_sent(len(batch))
        self.counts.on_lost(self._lines.qsize())

    def _send(self, data: bytes) -> None:
        if self._connection is not None and self._connection.closed_by_peer():
            self._disconnect()
        if self._connection is None:
            self._connection = self._connector(self._configuration)
        try:
            self._connection.send(data)
        except OSError:
            self._disconnect()
            raise

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _backoff(self) -> float:
        delay = self._configuration.initial_backoff * 2 ** min(self._failures - 1, 16)
        return min(self._configuration.max_backoff, delay)

    def _on_send_failed(self, error: OSError) -> None:
        self._failures += 1
        configuration = self._configuration
        if self._failures == 1:
            _log.warning(
                "cannot send events to Logstash at %s:%d (%s); retrying with back-off,"
                " buffering at most %d events",
                configuration.host,
                configuration.port,
                error,
                configuration.queue_size,
            )
        else:
            _log.debug("Logstash still unreachable (%s), attempt %d", error, self._failures)

    def _on_sent(self, count: int) -> None:
        self.counts.on_sent(count)
        if self._failures:
            _log.info("sending events to Logstash again after %d failed attempts", self._failures)
            self._failures = 0

    def _report_drops(self, interval: float) -> None:
        drops = self.counts.take_unreported(interval)
        if drops is not None:
            _log.warning(
                "Logstash queue full or unreachable: dropped %d events in the last %.0f s"
                " (%d in total)",
                drops[0],
                drops[1],
                self.counts.dropped,
            )


class LogstashHandler(logging.Handler):
    """Queue each record, formatted and masked, for a background sender to ship to Logstash.

    ``emit`` never blocks and never raises: when the bounded queue is full, the event is
    dropped and counted. The sender thread starts with the first event of each process,
    and a handler inherited through ``fork`` (gunicorn workers) starts a sender of its own.
    """

    def __init__(
        self,
        configuration: LogstashConfiguration,
        connector: Connector = LogstashConnection.open,
        formatter: logging.Formatter | None = None,
    ) -> None:
        super().__init__()
        self.configuration = configuration
        self._connector = connector
        self.addFilter(MaskingFilter())
        self.setFormatter(formatter or LogstashFormatter())
        self._sender = LogstashSender(configuration, connector)

    @property
    def counts(self) -> DeliveryCounts:
        """What this process has queued, sent and dropped."""
        return self._sender.counts

    @property
    def dropped(self) -> int:
        """Events this process dropped: the queue was full, or they were lost at close."""
        return self._sender.counts.dropped

    def emit(self, record: logging.LogRecord) -> None:
        """Format ``record`` and queue it; count it as dropped if the queue is full."""
        if self._sender.pid != os.getpid():
            # Forked: the parent's thread and queue are not ours; start afresh.
            self._sender = LogstashSender(self.configuration, self._connector)
        try:
            line = self.format(record) + b"\n"  # type: ignore[operator]
        # A record that cannot be formatted is reported the way logging reports them.
        except Exception:  # pylint: disable=broad-exception-caught
            self.handleError(record)
            return
        self._sender.offer(line)

    def flush(self, timeout: float = 0.0) -> bool:
        """Wait up to ``timeout`` seconds for queued events to go out; tell whether they did."""
        return self._sender.flush(timeout)

    def close(self) -> None:
        """Stop the sender, giving queued events ``close_timeout`` seconds to go out."""
        self._sender.close()
        super().close()
