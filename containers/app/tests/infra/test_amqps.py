"""AMQP over TLS, and the broker users of containers/rabbitmq/definitions.json.

Against a private RabbitMQ node (tls_broker.py) running the project's rabbitmq.conf with a
TLS listener: the app's consumer connects over amqps:// with RABBIT_CA_FILE and stores what
an adapter publishes over amqps://; each user may do what the definitions say, and no more.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pika
import pytest
from mymonit_adapters.publisher import AdapterError, BrokerSettings, MeasurePublisher
from pika.exceptions import AMQPConnectionError, ChannelClosedByBroker, ProbableAccessDeniedError

from my_monit.config import Config
from my_monit.messaging.configuration import RabbitConfiguration
from my_monit.messaging.connector import connection_parameters
from my_monit.container import create_container

from .support import ROOT, free_port, http_status, required_file
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


def test_amqps_is_refused_without_a_ca_file_as_the_system_does_not_trust_the_broker(
    broker: TlsBroker,
) -> None:
    """Without RABBIT_CA_FILE only the system's CAs count: the private CA is not among them."""
    configuration = RabbitConfiguration(
        url=broker.amqps_url, user=APP_USER, password=broker.app_password,
        ca_file=None, connection_name="mymonit-infra-test",
    )
    with pytest.raises(ssl.SSLCertVerificationError):
        pika.BlockingConnection(connection_parameters(configuration))


@pytest.mark.parametrize("trusted", ["foreign CA", "no CA file"])
def test_adapter_over_amqps_is_refused_unless_it_trusts_the_broker_ca(
    broker: TlsBroker, trusted: str
) -> None:
    """The adapters' publisher verifies the broker too: it gives up with the TLS failure."""
    settings = BrokerSettings(
        url=broker.amqps_url, user="mymonit-adapter-stdin",
        password=broker.adapter_passwords["stdin"],
        ca_file=str(broker.foreign_ca_file) if trusted == "foreign CA" else None, attempts=1,
    )
    with MeasurePublisher(settings) as publisher, pytest.raises(AdapterError) as refused:
        publisher.publish({"experiment": "never", "measure": "hertz", "value": 1.0,
                           "timestamp": 0})
    assert isinstance(refused.value.__cause__, ssl.SSLCertVerificationError), refused.value


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


def test_app_user_may_not_publish_through_the_default_exchange(broker: TlsBroker) -> None:
    """The app's user cannot put a message into measures (nor any queue) by its name."""
    connection = _open(broker, APP_USER, broker.app_password)
    try:
        for queue in ("measures", "measures.dead"):
            channel = connection.channel()
            channel.confirm_delivery()
            with pytest.raises(ChannelClosedByBroker) as refused:
                channel.basic_publish("", queue, b"{}", mandatory=True)
            assert _refused(refused.value), queue
    finally:
        connection.close()


def _drain(broker: TlsBroker, queue: str) -> list[str]:
    """Take every message of a queue as the administrator; give their message ids."""
    connection = _open(broker, ADMIN_USER, broker.admin_password)
    try:
        channel = connection.channel()
        taken = []
        while True:
            method, properties, _ = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return taken
            taken.append(properties.message_id)
    finally:
        connection.close()


def test_app_user_may_publish_dead_letters_to_the_dead_letter_exchange(broker: TlsBroker) -> None:
    """mymonit.dead, bound to measures.dead by its name, takes the app's dead letters."""
    marker = secrets.token_hex(8)
    connection = _open(broker, APP_USER, broker.app_password)
    try:
        channel = connection.channel()
        channel.exchange_declare("mymonit.dead", "direct", durable=True)
        channel.queue_declare("measures.dead", durable=True)
        channel.queue_bind("measures.dead", "mymonit.dead", routing_key="measures.dead")
        channel.confirm_delivery()
        channel.basic_publish(
            "mymonit.dead", "measures.dead", b"{}", mandatory=True,
            properties=pika.BasicProperties(delivery_mode=2, message_id=marker),
        )
        with pytest.raises(ChannelClosedByBroker) as refused:
            channel.basic_get("measures.dead", auto_ack=False)
        assert _refused(refused.value), "the app does not read its dead letters"
    finally:
        connection.close()
    assert marker in _drain(broker, "measures.dead")


def test_run_sh_gives_the_app_user_the_permissions_of_the_definitions(tmp_path: Path) -> None:
    """run.sh's native broker user has the same configure, write and read as definitions.json."""
    record = tmp_path / "set_permissions"
    fake = tmp_path / "rabbitmqctl"
    fake.write_text(
        '#!/bin/sh\n[ "$2" = set_permissions ] && printf \'%s\\n\' "$@" >"$RECORD"\nexit 0\n',
        encoding="utf-8",
    )
    fake.chmod(0o755)
    script = 'source ./run.sh; as_root() { "$@"; }; ensure_rabbit_user mymonit-app secret'
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RABBIT_")}
    environment.update(PATH=f"{tmp_path}:{os.environ['PATH']}", RECORD=str(record))
    result = subprocess.run(["bash", "-c", script], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    configure, write, read = record.read_text(encoding="utf-8").splitlines()[-3:]
    definitions = json.loads(
        required_file("containers/rabbitmq/definitions.json").read_text(encoding="utf-8")
    )
    (app,) = [p for p in definitions["permissions"] if p["user"] == "@VALUE:RABBIT_USER@"]
    assert {"configure": configure, "write": write, "read": read} == {
        key: app[key] for key in ("configure", "write", "read")
    }


@pytest.mark.parametrize("adapter", ["stdin", "file", "mqtt"])
def test_adapter_user_may_only_publish_to_the_exchange(broker: TlsBroker, adapter: str) -> None:
    """Each adapter's user publishes to mymonit only; it can neither read, declare nor bind."""
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
            lambda c: c.basic_publish("mymonit.dead", "measures.dead", b"{}"),
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
    connection = create_container(config).storage_connector().open()
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
    connection = create_container(config).storage_connector().open()
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


def test_consumer_over_amqps_stores_what_the_stdin_adapter_publishes(
    consumer: tuple[Config, int], broker: TlsBroker
) -> None:
    """mymonit-stdin publishes over amqps:// with its CA; the consumer stores it in MariaDB."""
    config, _ = consumer
    experiment = f"amqps-{secrets.token_hex(6)}"
    _create_experiment(config, experiment)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RABBIT_")}
    environment["RABBIT_PASSWORD"] = broker.adapter_passwords["stdin"]
    published = subprocess.run(
        [sys.executable, "-m", "mymonit_adapters.stdin", "--experiment", experiment,
         "--measure", "hertz", "--url", broker.amqps_url, "--user", "mymonit-adapter-stdin",
         "--ca-file", str(broker.ca_file)],
        input=b"1700000000 42.5\n2023-11-14T22:13:21Z 43.25\n", env=environment,
        capture_output=True, timeout=120, check=False,
    )
    assert published.returncode == 0, published.stderr.decode(errors="replace")
    assert b"published 2 measures" in published.stderr
    _wait(lambda: len(_stored_values(config, experiment)) == 2, 30,
          "the consumer did not store the adapter's measures")
    assert _stored_values(config, experiment) == [42.5, 43.25]


def test_consumer_dead_letters_poison_as_its_own_least_privileged_user(
    consumer: tuple[Config, int], broker: TlsBroker
) -> None:
    """A poison message reaches measures.dead with its reason, under the app's own user.

    The app's user may publish to mymonit.dead only (definitions.json): the consumer's
    dead letters must go there, or the broker closes its channel and the message loops.
    """
    config, _ = consumer
    experiment = f"amqps-{secrets.token_hex(6)}"
    _create_experiment(config, experiment)
    marker = f"poison-{secrets.token_hex(6)}"
    good = json.dumps({"experiment": experiment, "measure": "hertz", "value": 7.0,
                       "timestamp": 1700000000}).encode()
    connection = _open(broker, "mymonit-adapter-stdin", broker.adapter_passwords["stdin"])
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        for body, message_id in ((b"{not json", marker), (good, None)):
            channel.basic_publish("mymonit", "measures", body, mandatory=True,
                                  properties=pika.BasicProperties(message_id=message_id))
    finally:
        connection.close()
    _wait(lambda: _stored_values(config, experiment) == [7.0], 30,
          "the consumer did not store the good message after the poison one")

    taken: list[tuple[str, bytes, str]] = []
    admin = _open(broker, ADMIN_USER, broker.admin_password)
    try:
        channel = admin.channel()
        deadline = time.monotonic() + 30
        while not any(entry[0] == marker for entry in taken) and time.monotonic() < deadline:
            method, properties, body = channel.basic_get("measures.dead", auto_ack=True)
            if method is None:
                time.sleep(0.25)
                continue
            taken.append((properties.message_id, body,
                          (properties.headers or {}).get("x-mymonit-reason", "")))
    finally:
        admin.close()
    (dead,) = [entry for entry in taken if entry[0] == marker]
    assert dead[1] == b"{not json"
    assert dead[2].startswith("not_json"), dead
