"""Unit tests of the adapters' publisher: settings, readings, confirms and re-publishing."""

from __future__ import annotations

import argparse
import json

import pytest
from pika.exceptions import AMQPConnectionError, NackError, StreamLostError, UnroutableError

from mymonit_adapters import publisher as publisher_module
from mymonit_adapters.publisher import (
    AdapterError, BrokerSettings, InvalidReading, MeasurePublisher, add_broker_arguments,
    measure_document, parse_timestamp, parse_value,
)


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_broker_arguments(parser)
    return parser.parse_args(argv)


def test_arguments_win_over_the_environment_which_wins_over_defaults():
    environ = {"RABBIT_URL": "env-host", "RABBIT_EXCHANGE": "env-exchange",
               "RABBIT_PASSWORD": "s3cret"}
    settings = BrokerSettings.from_arguments(_args("--exchange", "arg-exchange"), environ)
    assert (settings.url, settings.exchange, settings.routing) == (
        "env-host", "arg-exchange", "measures")
    assert settings.password == "s3cret" and "s3cret" not in repr(settings)


def test_amqps_url_with_a_ca_file_is_verified(tmp_path):
    with pytest.raises(AdapterError, match="RABBIT_CA_FILE"):
        BrokerSettings(url="amqps://broker", ca_file=str(tmp_path / "missing")).parameters()
    parameters = BrokerSettings(url="amqps://broker:5999").parameters()
    assert parameters.port == 5999 and parameters.ssl_options.server_hostname == "broker"


def test_plain_host_and_bad_scheme():
    assert BrokerSettings(url="rabbit").parameters().host == "rabbit"
    with pytest.raises(AdapterError):
        BrokerSettings(url="mqtt://rabbit").parameters()


@pytest.mark.parametrize("text, value", [("1.5", 1.5), (" -2 ", -2.0), (3, 3.0), ("1e3", 1000)])
def test_values_are_finite_numbers(text, value):
    assert parse_value(text) == value


@pytest.mark.parametrize("text", ["nan", "inf", "abc", "", None, True, "1e999"])
def test_non_numbers_are_invalid(text):
    with pytest.raises(InvalidReading):
        parse_value(text)


@pytest.mark.parametrize("text, expected", [
    ("1650000000", 1650000000.0), (1650000000.5, 1650000000.5),
    ("2022-04-06T07:00:00Z", "2022-04-06T07:00:00Z"),
    ("2022-04-06T09:00:00+02:00", "2022-04-06T09:00:00+02:00"),
])
def test_timestamps_keep_their_form(text, expected):
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize("text", ["2022-04-06T07:00:00", "tuesday", "", "nan", None,
                                  float("inf")])
def test_bad_timestamps_are_invalid(text):
    with pytest.raises(InvalidReading):
        parse_timestamp(text)


def test_measure_without_timestamp_is_taken_now(monkeypatch):
    monkeypatch.setattr(publisher_module.time, "time", lambda: 1700000000.25)
    assert measure_document("e", "hertz", 1.0) == {
        "experiment": "e", "measure": "hertz", "value": 1.0, "timestamp": 1700000000.25}


class FakeChannel:
    """Records publishes; raises what it is told to."""

    def __init__(self, failures) -> None:
        self.failures = failures
        self.published = []
        self.confirming = False

    def confirm_delivery(self) -> None:
        self.confirming = True

    def basic_publish(self, exchange, routing_key, body, properties, mandatory):
        if self.failures:
            raise self.failures.pop(0)
        self.published.append((exchange, routing_key, body, properties, mandatory))


class FakeConnection:
    """A BlockingConnection stand-in sharing one channel."""

    opened = 0

    def __init__(self, channel) -> None:
        self._channel = channel
        self.is_open = True
        self.events = 0
        FakeConnection.opened += 1

    def channel(self):
        return self._channel

    def process_data_events(self, _time_limit):
        self.events += 1

    def close(self) -> None:
        self.is_open = False


@pytest.fixture(name="channel")
def fixture_channel(monkeypatch):
    channel = FakeChannel([])
    FakeConnection.opened = 0
    monkeypatch.setattr(publisher_module.pika, "BlockingConnection",
                        lambda _parameters: FakeConnection(channel))
    monkeypatch.setattr(publisher_module.time, "sleep", lambda _seconds: None)
    return channel


def test_publish_uses_confirms_persistence_and_a_message_id(channel):
    with MeasurePublisher(BrokerSettings(exchange="ex", routing="rk"), "tester") as publisher:
        message_id = publisher.publish({"value": 1})
    exchange, routing, body, properties, mandatory = channel.published[0]
    assert channel.confirming and mandatory
    assert (exchange, routing, json.loads(body)) == ("ex", "rk", {"value": 1})
    assert properties.message_id == message_id and len(message_id) == 32
    assert (properties.delivery_mode, properties.app_id) == (2, "tester")


def test_lost_connection_publishes_again_with_the_same_id(channel):
    channel.failures = [StreamLostError("gone"), AMQPConnectionError("refused")]
    publisher = MeasurePublisher(BrokerSettings())
    message_id = publisher.publish_measures([{"value": 1}, {"value": 2}], "fixed-id")
    assert message_id == "fixed-id" and FakeConnection.opened == 3
    assert len(channel.published) == 1
    assert channel.published[0][3].message_id == "fixed-id"


def test_broker_away_for_good_is_an_adapter_error(channel):
    channel.failures = [StreamLostError("gone")] * 5
    with pytest.raises(AdapterError, match="unavailable"):
        MeasurePublisher(BrokerSettings()).publish({"value": 1})


@pytest.mark.parametrize("refusal", [UnroutableError([]), NackError([])])
def test_refused_message_is_an_adapter_error_at_once(channel, refusal):
    channel.failures = [refusal]
    with pytest.raises(AdapterError, match="refused"):
        MeasurePublisher(BrokerSettings()).publish({"value": 1})
    assert FakeConnection.opened == 1


def test_keep_alive_serves_heartbeats_only_when_connected(channel):
    publisher = MeasurePublisher(BrokerSettings())
    publisher.keep_alive()  # nothing to do before the first publish
    publisher.publish({"value": 1})
    publisher.keep_alive()
    assert publisher._connection.events == 1  # pylint: disable=protected-access
    publisher.close()
