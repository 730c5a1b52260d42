"""Publish measure messages to MyMONIT's exchange, each confirmed by the broker.

A measure counts as sent only once RabbitMQ confirmed it. Every message carries a
``message_id``; a message published again after a lost connection keeps its id, so the
consumer stores it once.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import ssl
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping, Sequence
from urllib.parse import urlsplit

import pika
from pika.exceptions import AMQPError, NackError, UnroutableError

log = logging.getLogger(__name__)

# variable -> (argument, default)
_ENVIRONMENT = {
    "RABBIT_URL": ("url", "localhost"),
    "RABBIT_USER": ("user", "guest"),
    "RABBIT_PASSWORD": ("password", "guest"),
    "RABBIT_EXCHANGE": ("exchange", "mymonit"),
    "RABBIT_ROUTING": ("routing", "measures"),
    "RABBIT_CA_FILE": ("ca_file", None),
}


class AdapterError(Exception):
    """An adapter cannot go on (bad settings, or the broker refuses for good)."""


class InvalidReading(Exception):
    """An input line or record that is no measure; ``reason`` says why, without its content."""


@dataclass(frozen=True)
class BrokerSettings:  # pylint: disable=too-many-instance-attributes  # one per setting
    """Where to publish: the broker, its exchange and routing key."""

    url: str = "localhost"
    user: str = "guest"
    password: str = field(default="guest", repr=False)
    exchange: str = "mymonit"
    routing: str = "measures"
    ca_file: str | None = None
    attempts: int = 5
    max_backoff_seconds: float = 10.0

    @classmethod
    def from_arguments(cls, args: argparse.Namespace,
                       environ: Mapping[str, str] | None = None) -> BrokerSettings:
        """Take each setting from its argument, else the environment, else the default."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for variable, (name, default) in _ENVIRONMENT.items():
            given = getattr(args, name, None)
            values[name] = given if given is not None else environ.get(variable, default)
        return cls(**values)

    def parameters(self) -> pika.ConnectionParameters:
        """Build pika's parameters from a host name or an amqp:// or amqps:// URL."""
        url = self.url if "://" in self.url else f"amqp://{self.url}"
        parts = urlsplit(url)
        if parts.scheme not in ("amqp", "amqps"):
            raise AdapterError("RABBIT_URL must be a host name, amqp:// or amqps:// URL")
        parameters = pika.URLParameters(url)
        if parts.username is None:
            parameters.credentials = pika.PlainCredentials(self.user, self.password)
        if parts.scheme == "amqps":
            try:
                context = ssl.create_default_context(cafile=self.ca_file)
            except (OSError, ssl.SSLError) as error:
                raise AdapterError("RABBIT_CA_FILE is not a readable CA file") from error
            parameters.ssl_options = pika.SSLOptions(context, server_hostname=parts.hostname)
        return parameters


def add_broker_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the broker arguments; each falls back to its environment variable."""
    group = parser.add_argument_group("broker (else RABBIT_* variables; the password only "
                                      "from RABBIT_PASSWORD)")
    group.add_argument("--url", help="host name or amqp:// / amqps:// URL (RABBIT_URL)")
    group.add_argument("--user", help="RABBIT_USER, default guest")
    group.add_argument("--exchange", help="RABBIT_EXCHANGE, default mymonit")
    group.add_argument("--routing", help="RABBIT_ROUTING, default measures")
    group.add_argument("--ca-file", dest="ca_file",
                       help="CA certificate for amqps:// (RABBIT_CA_FILE)")


def add_measure_arguments(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """Add --experiment and --measure (the measure type's name)."""
    parser.add_argument("--experiment", required=required, help="experiment name")
    parser.add_argument("--measure", required=required, help="measure type, e.g. hertz")


def configure_logging(verbose: bool = False) -> None:
    """Log to stderr, so that stdout stays free."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pika").setLevel(logging.WARNING)


def parse_value(text: Any) -> float:
    """Read a finite number (a JSON number or its text)."""
    if isinstance(text, bool):
        raise InvalidReading("the value is not a number")
    try:
        value = float(text)
    except (TypeError, ValueError, OverflowError) as error:
        raise InvalidReading("the value is not a number") from error
    if not math.isfinite(value):
        raise InvalidReading("the value is not a finite number")
    return value


def parse_timestamp(text: Any) -> float | str:
    """Read unix seconds (kept as a number) or an ISO 8601 time with a zone (kept as text)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if not math.isfinite(text):
            raise InvalidReading("the timestamp is not finite")
        return text
    if not isinstance(text, str) or not text.strip():
        raise InvalidReading("the timestamp is missing")
    text = text.strip()
    try:
        return parse_timestamp(float(text))
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise InvalidReading("the timestamp is neither unix seconds nor ISO 8601") from error
    if parsed.tzinfo is None:
        raise InvalidReading("the timestamp has no time zone")
    return text


def measure_document(experiment: str, measure: str, value: float,
                     timestamp: float | str | None = None) -> dict[str, Any]:
    """Give a measure in the contract's message format (now, if no timestamp)."""
    return {
        "experiment": experiment,
        "measure": measure,
        "value": value,
        "timestamp": time.time() if timestamp is None else timestamp,
    }


class MeasurePublisher:
    """Publish measure messages with publisher confirms, reconnecting when the link drops."""

    def __init__(self, settings: BrokerSettings, app_id: str = "mymonit-adapter") -> None:
        self.settings = settings
        self.app_id = app_id
        self._connection: pika.BlockingConnection | None = None
        self._channel: Any = None

    def __enter__(self) -> MeasurePublisher:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def publish(self, document: Any, message_id: str | None = None) -> str:
        """Publish one message (a measure or a list of them); return once it is confirmed.

        Return its message id. Raise AdapterError when the broker refuses it or stays away.
        """
        message_id = message_id or uuid.uuid4().hex
        body = json.dumps(document, separators=(",", ":")).encode()
        delay = 0.5
        for attempt in range(1, self.settings.attempts + 1):
            try:
                self._publish_once(body, message_id)
                return message_id
            except (UnroutableError, NackError) as error:
                raise AdapterError(f"the broker refused message {message_id}: "
                                   f"{type(error).__name__}") from error
            except (AMQPError, OSError) as error:
                self._drop_connection()
                if attempt == self.settings.attempts:
                    raise AdapterError(f"RabbitMQ unavailable: {error!r}") from error
                log.warning("RabbitMQ unavailable (%r); publishing again in %.1f s",
                            error, delay)
                time.sleep(delay)
                delay = min(delay * 2, self.settings.max_backoff_seconds)
        raise AdapterError("no attempt was made")  # attempts < 1

    def publish_measures(self, measures: Sequence[dict[str, Any]],
                         message_id: str | None = None) -> str:
        """Publish several measures as one array message, stored all together."""
        return self.publish(list(measures), message_id)

    def keep_alive(self) -> None:
        """Answer the broker's heartbeats while the input is idle."""
        if self._connection is not None and self._connection.is_open:
            try:
                self._connection.process_data_events(0)
            except AMQPError:
                self._drop_connection()

    def close(self) -> None:
        """Close the connection."""
        if self._connection is not None and self._connection.is_open:
            self._connection.close()
        self._connection = self._channel = None

    def _publish_once(self, body: bytes, message_id: str) -> None:
        if self._channel is None:
            self._connection = pika.BlockingConnection(self.settings.parameters())
            self._channel = self._connection.channel()
            self._channel.confirm_delivery()
        # mandatory: a message that no queue would take is an error, not a silent loss.
        self._channel.basic_publish(
            self.settings.exchange,
            self.settings.routing,
            body,
            pika.BasicProperties(
                content_type="application/json",
                delivery_mode=2,
                message_id=message_id,
                app_id=self.app_id,
            ),
            mandatory=True,
        )

    def _drop_connection(self) -> None:
        try:
            if self._connection is not None and self._connection.is_open:
                self._connection.close()
        except AMQPError:
            log.debug("closing a broken connection failed", exc_info=True)
        self._connection = self._channel = None
