"""Unit tests of RabbitConnector without a broker: parameters, topology, dead letters, confirms."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import pika
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from my_monit.errors import InvalidArgument
from my_monit.messaging.configuration import RabbitConfiguration
from my_monit.messaging.connector import RabbitConnector, connection_parameters


class FakeChannel:
    """Answers every declaration at once and records it."""

    def __init__(self) -> None:
        self.calls = []
        self.published = []
        self.acks = []
        self.is_open = True

    def __getattr__(self, name):
        def call(*args, callback=None, **kwargs):
            self.calls.append((name, args, kwargs))
            if callback is not None:
                callback(None)
            return "consumer-1"

        return call

    def basic_publish(self, **kwargs) -> None:
        self.published.append(kwargs)

    def basic_ack(self, delivery_tag, multiple) -> None:
        self.acks.append((delivery_tag, multiple))


class Events:
    """Records what the connector reports."""

    def __init__(self) -> None:
        self.log = []

    def on_consuming(self) -> None:
        self.log.append("consuming")

    def on_delivery(self, tag, properties, body) -> None:
        self.log.append(("delivery", tag, body))

    def on_dead_letter_confirmed(self, sequence, confirmed) -> None:
        self.log.append(("confirmed", sequence, confirmed))

    def on_disconnected(self, reason) -> None:
        self.log.append(("disconnected", reason))


@pytest.fixture(name="configuration")
def fixture_configuration():
    return RabbitConfiguration(exchange="ex", queue="q", routing="r", prefetch=500,
                               connection_name="test-consumer")


@pytest.fixture(name="connector")
def fixture_connector(configuration):
    connector = RabbitConnector(configuration)
    connector._events = Events()  # pylint: disable=protected-access
    return connector


def _open(connector) -> FakeChannel:
    channel = FakeChannel()
    connector.on_channel_open(channel)
    return channel


def test_host_name_uses_the_configured_credentials(configuration):
    parameters = connection_parameters(configuration)
    assert (parameters.host, parameters.port, parameters.ssl_options) == ("localhost", 5672, None)
    assert parameters.credentials.username == "guest"
    assert parameters.client_properties == {"connection_name": "test-consumer"}


def test_url_credentials_win_over_the_configured_ones():
    configuration = RabbitConfiguration(url="amqp://alice:secret@broker:5673/%2F", user="bob")
    parameters = connection_parameters(configuration)
    assert (parameters.host, parameters.port) == ("broker", 5673)
    assert parameters.credentials.username == "alice"


def test_amqps_verifies_with_the_given_ca_file(tmp_path):
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(_self_signed_certificate())
    configuration = RabbitConfiguration(url="amqps://broker.example", ca_file=str(ca_file))
    parameters = connection_parameters(configuration)
    assert parameters.port == 5671
    assert parameters.ssl_options.server_hostname == "broker.example"
    assert parameters.ssl_options.context.get_ca_certs()[0]["subject"] == (
        (("commonName", "MyMONIT test CA"),),)


def test_unreadable_ca_file_is_a_configuration_error(tmp_path):
    configuration = RabbitConfiguration(url="amqps://broker", ca_file=str(tmp_path / "none"))
    with pytest.raises(InvalidArgument, match="RABBIT_CA_FILE"):
        connection_parameters(configuration)


def test_ca_file_without_amqps_is_ignored_with_a_warning(caplog):
    parameters = connection_parameters(RabbitConfiguration(ca_file="/ca.pem"))
    assert parameters.ssl_options is None
    assert "ignored" in caplog.text


def test_other_schemes_are_refused():
    with pytest.raises(InvalidArgument):
        connection_parameters(RabbitConfiguration(url="http://broker"))


def test_channel_declares_the_contract_topology_then_consumes(connector):
    channel = _open(connector)
    names = [(name, args, kwargs) for name, args, kwargs in channel.calls
             if not name.startswith("add_on")]
    assert names[0] == ("exchange_declare", (), {"exchange": "ex", "exchange_type":
                        pika.exchange_type.ExchangeType.direct, "durable": True})
    assert names[1] == ("queue_declare", (), {"queue": "q", "durable": True})
    assert names[2] == ("queue_declare", (), {"queue": "q.dead", "durable": True})
    assert names[3] == ("exchange_declare", (), {"exchange": "ex.dead", "exchange_type":
                        pika.exchange_type.ExchangeType.direct, "durable": True})
    assert names[4] == ("queue_bind", ("q.dead", "ex.dead"), {"routing_key": "q.dead"})
    assert names[5] == ("queue_bind", ("q", "ex"), {"routing_key": "r"})
    assert names[6][0] == "confirm_delivery"
    assert names[7] == ("basic_qos", (), {"prefetch_count": 500})
    assert names[8][0] == "basic_consume" and names[8][1][0] == "q"
    assert connector._events.log == ["consuming"]  # pylint: disable=protected-access
    assert connector.is_open


def test_deliveries_reach_the_listener_and_acks_are_multiple(connector):
    channel = _open(connector)
    connector.on_message(channel, SimpleNamespace(delivery_tag=7), None, b"{}")
    connector.ack(7)
    assert ("delivery", 7, b"{}") in connector._events.log  # pylint: disable=protected-access
    assert channel.acks == [(7, True)]


def test_no_ack_once_the_channel_is_gone(connector):
    channel = _open(connector)
    channel.is_open = False
    connector.ack(1)
    assert channel.acks == []


def test_dead_letter_keeps_body_and_properties_and_adds_the_reason(connector):
    channel = _open(connector)
    original = pika.BasicProperties(message_id="m-1", content_type="application/json",
                                    headers={"source": "sensor-3"}, user_id="alice",
                                    expiration="60000")
    sequence = connector.dead_letter(b"{bad", original, "not_json: body is not JSON")
    (published,) = channel.published
    assert sequence == 1
    assert (published["exchange"], published["routing_key"], published["body"]) == (
        "ex.dead", "q.dead", b"{bad")
    assert published["mandatory"] is True
    properties = published["properties"]
    assert properties.headers == {"source": "sensor-3",
                                  "x-mymonit-reason": "not_json: body is not JSON"}
    assert (properties.message_id, properties.content_type) == ("m-1", "application/json")
    assert properties.delivery_mode == 2
    assert properties.user_id is None and properties.expiration is None


def test_no_dead_letter_is_published_on_a_closed_channel(connector):
    channel = _open(connector)
    channel.is_open = False
    assert connector.dead_letter(b"{bad", pika.BasicProperties(), "not_json") is None
    assert channel.published == []


def _confirm(ack: bool, tag: int, multiple: bool):
    method = (pika.spec.Basic.Ack if ack else pika.spec.Basic.Nack)(delivery_tag=tag,
                                                                     multiple=multiple)
    return SimpleNamespace(method=method)


def test_confirms_are_mapped_to_sequences(connector):
    _open(connector)
    for _ in range(4):
        connector.dead_letter(b"x", pika.BasicProperties(), "r")
    connector.on_publish_confirmed(_confirm(True, 2, multiple=True))
    connector.on_publish_confirmed(_confirm(False, 4, multiple=False))
    connector.on_publish_confirmed(_confirm(True, 3, multiple=False))
    log = connector._events.log  # pylint: disable=protected-access
    assert [entry for entry in log if entry[0] == "confirmed"] == [
        ("confirmed", 1, True), ("confirmed", 2, True), ("confirmed", 4, False),
        ("confirmed", 3, True)]


def test_returned_dead_letter_closes_before_its_ack_settles_anything(connector):
    _open(connector)
    closed = []
    connector._connection = SimpleNamespace(  # pylint: disable=protected-access
        is_closing=False, is_closed=False, close=lambda: closed.append(True))
    connector.dead_letter(b"x", pika.BasicProperties(), "r")
    connector.on_message_returned()
    connector.on_publish_confirmed(_confirm(True, 1, multiple=False))
    assert closed == [True]
    assert not [e for e in connector._events.log if e[0] == "confirmed"]  # pylint: disable=W0212


def test_cancel_by_the_broker_closes_the_connection(connector):
    _open(connector)
    closed = []
    connector._connection = SimpleNamespace(  # pylint: disable=protected-access
        is_closing=False, is_closed=False, close=lambda: closed.append(True))
    connector.on_consumer_cancelled(None)
    assert closed == [True]


def test_closed_connection_is_reported(connector):
    _open(connector)
    connector.on_connection_closed(None, RuntimeError("reset"))
    connector.on_connection_open_error(None, RuntimeError("refused"))
    log = connector._events.log  # pylint: disable=protected-access
    assert log[-2] == ("disconnected", "connection closed: RuntimeError('reset')")
    assert log[-1][0] == "disconnected" and not connector.is_open


def _self_signed_certificate() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "MyMONIT test CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)
