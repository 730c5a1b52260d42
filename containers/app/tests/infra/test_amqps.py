"""AMQP over TLS, and the broker users of containers/rabbitmq/definitions.json.

Against a private RabbitMQ node (tls_broker.py) running the project's rabbitmq.conf with a
TLS listener: the app's consumer connects over amqps:// with RABBIT_CA_FILE and stores what
an adapter publishes over amqps://; each user may do what the definitions say, and no more.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pika
import pytest
from pika.exceptions import AMQPConnectionError, ChannelClosedByBroker, ProbableAccessDeniedError

from my_monit.config import Config
from my_monit.messaging.configuration import RabbitConfiguration
from my_monit.messaging.connector import connection_parameters
from my_monit.storage import StorageConfiguration, StorageConnector

from .support import free_port, http_status
from .tls_broker import ADAPTERS, ADMIN_USER, APP_USER, TlsBroker, TlsBrokerProcess

ACCESS_REFUSED = 403


@pytest.fixture(name="node", scope="module")
def fixture_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsBrokerProcess]:
    """Run the private TLS node for this module's tests."""
    process = TlsBrokerProcess(tmp_path_factory.mktemp("rabbitmq-tls"))
    try:
        process.start()
        yield process
    finally:
        process.stop()


@pytest.fixture(name="broker", scope="module")
def fixture_broker(node: TlsBrokerProcess) -> TlsBroker:
    """Give the private node's ports, CA and users."""
    assert node.broker is not None
    return node.broker


def _open(broker: TlsBroker, user: str, password: str, ca_file: Path | None = None):
    """Connect over AMQPS the way the app does (my_monit.messaging.connector)."""
    configuration = RabbitConfiguration(
        url=broker.amqps_url, user=user, password=password,
        ca_file=str(ca_file or broker.ca_file), connection_name="mymonit-infra-test",
    )
    return pika.BlockingConnection(connection_parameters(configuration))


def _refused(error: ChannelClosedByBroker) -> bool:
    return error.reply_code == ACCESS_REFUSED


def test_amqps_is_refused_with_a_ca_that_did_not_sign_the_broker(broker: TlsBroker) -> None:
    """The client verifies the broker's certificate: a foreign CA means no connection."""
    with pytest.raises(ssl.SSLCertVerificationError):
        _open(broker, APP_USER, broker.app_password, broker.foreign_ca_file)


def test_no_guest_user_exists_on_a_broker_started_with_the_definitions(broker: TlsBroker) -> None:
    """Loading the definitions at boot creates no default guest/guest user."""
    with pytest.raises((ProbableAccessDeniedError, AMQPConnectionError)):
        _open(broker, "guest", "guest")


def test_app_user_may_declare_and_consume_but_not_publish_measures(broker: TlsBroker) -> None:
    """The app's user declares its topology and reads its queue; it cannot publish measures."""
    connection = _open(broker, APP_USER, broker.app_password)
    try:
        channel = connection.channel()
        channel.exchange_declare("mymonit", "direct", durable=True)
        channel.queue_declare("measures", durable=True)
        channel.queue_declare("measures.dead", durable=True)
        channel.queue_bind("measures", "mymonit", routing_key="measures")
        channel.basic_get("measures", auto_ack=False)
        channel.confirm_delivery()
        with pytest.raises(ChannelClosedByBroker) as refused:
            channel.basic_publish("mymonit", "measures", b"{}", mandatory=True)
        assert _refused(refused.value)
        channel = connection.channel()
        with pytest.raises(ChannelClosedByBroker) as refused:
            channel.queue_declare("elsewhere", durable=True)
        assert _refused(refused.value)
    finally:
        connection.close()


@pytest.mark.parametrize("adapter", ["stdin", "file", "mqtt"])
def test_adapter_user_may_only_publish_to_the_exchange(broker: TlsBroker, adapter: str) -> None:
    """Each adapter's user publishes to mymonit; it can neither read, declare nor bind."""
    connection = _open(broker, f"mymonit-adapter-{adapter}", broker.adapter_passwords[adapter])
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(
            "mymonit", "no-such-binding", b"{}", properties=pika.BasicProperties(delivery_mode=2)
        )
        for forbidden in (
            lambda c: c.basic_get("measures", auto_ack=False),
            lambda c: c.queue_declare("adapter-own-queue"),
            lambda c: c.exchange_declare("mymonit", "direct", durable=True),
            lambda c: c.basic_publish("", "measures", b"{}"),
        ):
            with pytest.raises(ChannelClosedByBroker) as refused:
                forbidden(channel)
                channel.basic_qos(prefetch_count=1)  # a round trip surfaces a publish refusal
            assert _refused(refused.value)
            channel = connection.channel()
            channel.confirm_delivery()
    finally:
        connection.close()


def test_users_have_the_tags_of_the_definitions(node: TlsBrokerProcess) -> None:
    """Only the management user is an administrator; the app and adapters have no tag."""
    listed = node.ctl("list_users", "--formatter", "json")
    assert listed.returncode == 0, listed.stderr
    tags = {user["user"]: user["tags"] for user in json.loads(listed.stdout)}
    assert set(tags) == {ADMIN_USER, APP_USER} | {f"mymonit-adapter-{a}" for a in ADAPTERS}
    assert tags.pop(ADMIN_USER) == ["administrator"]
    assert all(not value for value in tags.values()), tags


def _consumer_environment(config: Config, broker: TlsBroker, health_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DB_HOST": config.db_host, "DB_PORT": str(config.db_port), "DB_USER": config.db_user,
        "DB_PASSWORD": config.db_password, "DB_DATABASE": config.db_database,
        "RABBIT_URL": broker.amqps_url, "RABBIT_CA_FILE": str(broker.ca_file),
        "RABBIT_USER": APP_USER, "RABBIT_PASSWORD": broker.app_password,
        "HEALTH_PORT": str(health_port),
        # Nothing listens there: the events are dropped, never waited for.
        "LOGSTASH_HOST": "127.0.0.1", "LOGSTASH_PORT": str(free_port()),
    }


def _wait(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"{what} within {seconds} s")


def _stored_values(config: Config, experiment: str) -> list[float]:
    connector = StorageConnector(StorageConfiguration(
        host=config.db_host, port=config.db_port, user=config.db_user,
        password=config.db_password, database=config.db_database,
    ))
    connection = connector.open()
    try:
        cursor = connection.cursor()
        cursor.execute(
            "SELECT m.value FROM measures m JOIN experiments e USING (experiment_id)"
            " WHERE e.name = %s ORDER BY m.measure_id", (experiment,),
        )
        return [row[0] for row in cursor.fetchall()]
    finally:
        connection.close()


def _create_experiment(config: Config, name: str) -> None:
    connector = StorageConnector(StorageConfiguration(
        host=config.db_host, port=config.db_port, user=config.db_user,
        password=config.db_password, database=config.db_database,
    ))
    connection = connector.open()
    try:
        connection.cursor().execute("INSERT INTO experiments (name) VALUES (%s)", (name,))
        connection.commit()
    finally:
        connection.close()


@pytest.fixture(name="consumer")
def fixture_consumer(database_config: Config, broker: TlsBroker) -> Iterator[tuple[Config, int]]:
    """Run `mymonit consume` against the TLS node, ready; stop it with SIGTERM after."""
    health_port = free_port()
    process = subprocess.Popen(  # pylint: disable=consider-using-with  # stopped below
        [sys.executable, "-m", "my_monit.cli", "consume"],
        env=_consumer_environment(database_config, broker, health_port),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        _wait(lambda: process.poll() is not None
              or http_status(f"http://127.0.0.1:{health_port}/readyz") == 200,
              60, "the consumer over amqps:// did not become ready")
        assert process.poll() is None, process.stdout.read().decode(errors="replace")
        yield database_config, health_port
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output.decode(errors="replace")[-3000:]
