"""``mymonit-mqtt``: forward sensor readings from MQTT topics to MyMONIT's exchange.

``--topic`` takes a topic template whose levels ``{experiment}`` and ``{measure}`` name
the experiment and the measure type (``lab/{experiment}/{measure}``); the other levels
may be MQTT wildcards. What the template does not name comes from ``--experiment`` and
``--measure``. A payload is a number (``21.5``), or a JSON number, or a JSON object with
a value (``--value-field``) and optionally a timestamp (``--timestamp-field``); readings
without a timestamp are taken at their arrival.

A QoS 1 reading is acknowledged to the MQTT broker only once RabbitMQ confirmed it, and
the session is persistent (``--client-id``): readings not yet confirmed when the bridge
stops are delivered again when it comes back.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from typing import Any, Sequence

import paho.mqtt.client as mqtt

from mymonit_adapters.publisher import (
    AdapterError, BrokerSettings, InvalidReading, MeasurePublisher, add_broker_arguments,
    configure_logging, measure_document, parse_timestamp, parse_value,
)

log = logging.getLogger(__name__)

PLACEHOLDERS = ("{experiment}", "{measure}")
MAX_RECONNECT_SECONDS = 30.0


@dataclass(frozen=True)
class TopicMap:
    """A topic template: which levels name the experiment and the measure type."""

    template: str
    experiment: str | None = None
    measure: str | None = None

    @property
    def subscription(self) -> str:
        """Give the MQTT subscription: the template with its placeholders as ``+``."""
        return "/".join("+" if level in PLACEHOLDERS else level
                        for level in self.template.split("/"))

    def names(self, topic: str) -> tuple[str, str] | None:
        """Give (experiment, measure type) for a topic, or None if it does not match."""
        levels = topic.split("/")
        found = {"{experiment}": self.experiment, "{measure}": self.measure}
        for index, pattern in enumerate(self.template.split("/")):
            if pattern == "#":
                break
            if index >= len(levels):
                return None
            if pattern in PLACEHOLDERS:
                found[pattern] = levels[index]
            elif pattern not in ("+", levels[index]):
                return None
        else:
            if len(levels) != len(self.template.split("/")):
                return None
        experiment, measure = found["{experiment}"], found["{measure}"]
        if not experiment or not measure:
            return None
        return experiment, measure


def reading(payload: bytes, value_field: str = "value",
            timestamp_field: str = "timestamp") -> tuple[float, float | str | None]:
    """Read (value, timestamp or None) from an MQTT payload."""
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError as error:
        raise InvalidReading("the payload is not UTF-8 text") from error
    try:
        return parse_value(text), None
    except InvalidReading:
        pass
    try:
        document = json.loads(text)
    except ValueError as error:
        raise InvalidReading("the payload is neither a number nor JSON") from error
    if not isinstance(document, dict):
        return parse_value(document), None
    if value_field not in document:
        raise InvalidReading(f"the payload has no {value_field!r} field")
    timestamp = document.get(timestamp_field)
    return (parse_value(document[value_field]),
            None if timestamp is None else parse_timestamp(timestamp))


def reading_id(topic: str, payload: bytes) -> str:
    """Give the message id of a timestamped reading: the same on every delivery of it.

    The MQTT broker delivers a reading again when the bridge stopped between RabbitMQ's
    confirm and the MQTT ack; with the same id, MyMONIT stores it once. A reading with no
    timestamp of its own is stamped at arrival, so each delivery is a new measure and gets
    a random id.
    """
    digest = hashlib.sha256(topic.encode("utf-8") + b"\0" + payload).hexdigest()
    return f"mqtt-{digest[:40]}"


class MqttBridge:  # pylint: disable=too-many-instance-attributes  # the bridge's state
    """Subscribe to MQTT topics and forward each reading with a confirm, then ack it."""

    def __init__(self, client: Any, publisher: MeasurePublisher, maps: Sequence[TopicMap],
                 qos: int = 1, value_field: str = "value",
                 timestamp_field: str = "timestamp") -> None:
        self._client = client
        self._publisher = publisher
        self._maps = list(maps)
        self._qos = qos
        self._fields = (value_field, timestamp_field)
        self.forwarded = 0
        self.dropped = 0
        self.failure: AdapterError | None = None
        self.stopping = False
        client.on_connect = self.on_connect
        client.on_message = self.on_message

    def on_connect(self, client: Any, _userdata: Any, _flags: Any, reason_code: Any,
                   _properties: Any = None) -> None:
        """Subscribe (again) to every topic once connected."""
        if getattr(reason_code, "is_failure", False):
            log.warning("MQTT broker refused the connection: %s", reason_code)
            return
        for topic_map in self._maps:
            client.subscribe(topic_map.subscription, qos=self._qos)
        log.info("subscribed to %s", ", ".join(m.subscription for m in self._maps))

    def on_message(self, client: Any, _userdata: Any, message: Any) -> None:
        """Forward one reading; acknowledge it only once RabbitMQ confirmed it."""
        if self.failure is not None:
            return  # not acknowledged: the MQTT broker delivers it again later
        found = self._document(message)
        if found is not None:
            try:
                self._publisher.publish(*found)
            except AdapterError as error:
                self.failure = error
                self.stopping = True
                return
            self.forwarded += 1
        client.ack(message.mid, message.qos)

    def _document(self, message: Any) -> tuple[dict, str | None] | None:
        names = next((found for found in (m.names(message.topic) for m in self._maps)
                      if found), None)
        if names is None:
            log.warning("reading on topic %s skipped: no --topic names its experiment "
                        "and measure", message.topic)
            self.dropped += 1
            return None
        try:
            value, timestamp = reading(message.payload, *self._fields)
        except InvalidReading as error:
            log.warning("reading on topic %s skipped: %s", message.topic, error)
            self.dropped += 1
            return None
        document = measure_document(names[0], names[1], value, timestamp)
        return document, None if timestamp is None else reading_id(message.topic, message.payload)

    def run(self, host: str, port: int) -> int:
        """Bridge until stopped (0) or until RabbitMQ fails for good (1)."""
        delay = 1.0
        connected = False
        while not self.stopping:
            if not connected:
                try:
                    self._client.connect(host, port, keepalive=30)
                    connected, delay = True, 1.0
                except OSError as error:
                    log.warning("MQTT broker unavailable (%s); retrying in %.0f s", error, delay)
                    time.sleep(delay)
                    delay = min(delay * 2, MAX_RECONNECT_SECONDS)
                    continue
            if self._client.loop(timeout=1.0) != mqtt.MQTT_ERR_SUCCESS:
                log.warning("lost the MQTT broker; reconnecting")
                connected = False
            self._publisher.keep_alive()
        self._client.disconnect()
        if self.failure is not None:
            log.error("stopped after %d readings: %s", self.forwarded, self.failure)
            return 1
        log.info("forwarded %d readings, skipped %d", self.forwarded, self.dropped)
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bridge until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="mymonit-mqtt", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topic", action="append", required=True,
                        help="topic template, e.g. lab/{experiment}/{measure} (repeatable)")
    parser.add_argument("--experiment", help="experiment, unless the topic names it")
    parser.add_argument("--measure", help="measure type, unless the topic names it")
    parser.add_argument("--value-field", default="value")
    parser.add_argument("--timestamp-field", default="timestamp")
    parser.add_argument("--mqtt-host", default=os.environ.get("MQTT_HOST", "127.0.0.1"))
    parser.add_argument("--mqtt-port", type=int, default=int(os.environ.get("MQTT_PORT", 1883)))
    parser.add_argument("--mqtt-user", default=os.environ.get("MQTT_USER"),
                        help="MQTT user (the password from MQTT_PASSWORD)")
    parser.add_argument("--client-id", default=f"mymonit-mqtt-{socket.gethostname()}",
                        help="MQTT client id of the persistent session")
    parser.add_argument("--qos", type=int, choices=(0, 1), default=1)
    add_broker_arguments(parser)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    configure_logging(args.verbose)

    maps = [TopicMap(template, args.experiment, args.measure) for template in args.topic]
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=args.client_id,
                         clean_session=False, manual_ack=True)
    if args.mqtt_user:
        client.username_pw_set(args.mqtt_user, os.environ.get("MQTT_PASSWORD"))
    with MeasurePublisher(BrokerSettings.from_arguments(args), "mymonit-mqtt") as publisher:
        bridge = MqttBridge(client, publisher, maps, args.qos, args.value_field,
                            args.timestamp_field)

        def on_signal(_signum: int, _frame: Any) -> None:
            bridge.stopping = True

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        return bridge.run(args.mqtt_host, args.mqtt_port)


if __name__ == "__main__":
    sys.exit(main())
