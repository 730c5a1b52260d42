"""What the consumer's integration tests share: names, a publisher, consumers, a TCP proxy."""

from __future__ import annotations

import dataclasses
import json
import os
import select
import socket
import ssl
import subprocess  # nosec B404 - the tests start the consumer as a process
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import mysql.connector
import pika
from dependency_injector import providers

from my_monit.config import Config
from my_monit.container import create_container

EXPERIMENT = "device-vibrations"


def free_port() -> int:
    """Find a TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def messaging_config(base: Config, **changes: Any) -> Config:
    """Give ``base`` with an exchange and queue of its own, short back-offs, a free port."""
    suffix = uuid.uuid4().hex[:10]
    values = {
        "rabbit_exchange": f"test-mymonit-{suffix}",
        "rabbit_queue": f"test-measures-{suffix}",
        "rabbit_routing": "measures",
        "rabbit_flush_seconds": 0.05,
        "rabbit_prefetch": 500,
        "rabbit_batch_size": 200,
        "health_port": free_port(),
        **changes,
    }
    return dataclasses.replace(base, **values)


def measure(value: Any = 1.5, experiment: str = EXPERIMENT, **changes: Any) -> dict:
    """Give one measure in the contract's message format."""
    return {"experiment": experiment, "measure": "hertz", "value": value,
            "timestamp": 1650000000, **changes}


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, step: float = 0.05) -> Any:
    """Poll ``predicate`` until it is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(step)


class Broker:
    """A publisher with confirms on the test's exchange, and a reader of its queues."""

    def __init__(self, config: Config) -> None:
        self.config = config
        parameters = pika.ConnectionParameters(
            "127.0.0.1", credentials=pika.PlainCredentials(config.rabbit_user,
                                                           config.rabbit_password))
        self._connection = pika.BlockingConnection(parameters)
        self._channel = self._connection.channel()
        self._channel.confirm_delivery()
        # Declared here too, so that messages published before the consumer starts wait.
        self._channel.exchange_declare(config.rabbit_exchange, "direct", durable=True)
        self._channel.queue_declare(config.rabbit_queue, durable=True)
        self._channel.queue_declare(self.dead_queue, durable=True)
        self._channel.queue_bind(config.rabbit_queue, config.rabbit_exchange,
                                 config.rabbit_routing)

    @property
    def dead_queue(self) -> str:
        """Name the dead-letter queue."""
        return f"{self.config.rabbit_queue}.dead"

    def publish(self, body: Any, message_id: str | None = None) -> None:
        """Publish a document (or raw bytes) persistently, waiting for the broker's confirm."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self._channel.basic_publish(
            self.config.rabbit_exchange, self.config.rabbit_routing, data,
            pika.BasicProperties(delivery_mode=2, message_id=message_id),
        )

    def depth(self, queue: str | None = None) -> int:
        """Count the messages ready in a queue (the measures queue by default)."""
        declared = self._channel.queue_declare(queue or self.config.rabbit_queue, passive=True)
        return declared.method.message_count

    def dead_letters(self) -> list[tuple[Any, bytes]]:
        """Take every message of the dead-letter queue: (properties, body) pairs."""
        taken = []
        while True:
            method, properties, body = self._channel.basic_get(self.dead_queue, auto_ack=True)
            if method is None:
                return taken
            taken.append((properties, body))

    def connection_close(self) -> None:
        """Close the connection, leaving queues and exchange in place."""
        self._connection.close()

    def close(self) -> None:
        """Delete the test's queues and exchange, then close."""
        self._channel.queue_delete(self.config.rabbit_queue)
        self._channel.queue_delete(self.dead_queue)
        self._channel.exchange_delete(self.config.rabbit_exchange)
        self._channel.exchange_delete(f"{self.config.rabbit_exchange}.dead")
        self._connection.close()


class Database:
    """Reads (and sets up) the test database with a connection of its own."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def _connect(self) -> Any:
        return mysql.connector.connect(
            host=self.config.db_host, port=self.config.db_port, user=self.config.db_user,
            password=self.config.db_password, database=self.config.db_database,
            time_zone="+00:00",
        )

    def query(self, sql: str, parameters: tuple = ()) -> list[tuple]:
        """Run one statement and commit; give its rows."""
        connection = self._connect()
        try:
            cursor = connection.cursor()
            cursor.execute(sql, parameters)
            rows = cursor.fetchall() if cursor.with_rows else []
            connection.commit()
            return rows
        finally:
            connection.close()

    def add_experiment(self, name: str = EXPERIMENT) -> int:
        """Create an experiment; give its id."""
        self.query("INSERT INTO experiments (name) VALUES (%s)", (name,))
        return self.query("SELECT experiment_id FROM experiments WHERE name = %s", (name,))[0][0]

    def values(self, experiment: str = EXPERIMENT) -> list[float]:
        """List the stored values of an experiment."""
        rows = self.query(
            "SELECT m.value FROM measures m JOIN experiments e USING (experiment_id) "
            "WHERE e.name = %s", (experiment,))
        return [row[0] for row in rows]

    def count(self) -> int:
        """Count every stored measure."""
        return self.query("SELECT COUNT(*) FROM measures")[0][0]


class ConsumerThread:
    """MyMONIT's consumer, run in this process on a thread of its own."""

    def __init__(self, config: Config) -> None:
        self.container = create_container(config)
        self.connection_name = f"test-consumer-{uuid.uuid4().hex[:10]}"
        configuration = dataclasses.replace(self.container.rabbit_configuration(),
                                            connection_name=self.connection_name,
                                            max_backoff_seconds=2.0)
        self.container.rabbit_configuration.override(providers.Object(configuration))
        self.listener = self.container.rabbit_listener()
        self.metrics = self.container.metrics()
        self.code: int | None = None
        self._thread = threading.Thread(target=self._run, name="consumer", daemon=True)

    def _run(self) -> None:
        self.code = self.listener.run()

    def __enter__(self) -> ConsumerThread:
        self._thread.start()
        wait_until(lambda: self.listener.readiness()["broker"], timeout=15)
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop()

    def stop(self, timeout: float = 30.0) -> int | None:
        """Stop the consumer as SIGTERM would; give its exit code."""
        if self._thread.is_alive():
            self.listener.stop()
            self._thread.join(timeout)
        self.container.storage_connector().close()
        return self.code


def consumer_environment(config: Config, logstash_port: int | None = None) -> dict[str, str]:
    """Give the environment that makes ``mymonit consume`` use ``config``.

    Its events go to ``logstash_port`` on the loopback, by default a port with no listener.
    """
    variables = {
        "DB_HOST": config.db_host, "DB_PORT": config.db_port, "DB_USER": config.db_user,
        "DB_PASSWORD": config.db_password, "DB_DATABASE": config.db_database,
        "RABBIT_URL": config.rabbit_url, "RABBIT_USER": config.rabbit_user,
        "RABBIT_PASSWORD": config.rabbit_password, "RABBIT_EXCHANGE": config.rabbit_exchange,
        "RABBIT_ROUTING": config.rabbit_routing, "RABBIT_QUEUE": config.rabbit_queue,
        "RABBIT_PREFETCH": config.rabbit_prefetch, "RABBIT_BATCH_SIZE": config.rabbit_batch_size,
        "RABBIT_FLUSH_SECONDS": config.rabbit_flush_seconds,
        "RABBIT_RECONNECT_SECONDS": config.rabbit_reconnect_seconds,
        "HEALTH_PORT": config.health_port, "LOGSTASH_HOST": "127.0.0.1",
        "LOGSTASH_PORT": logstash_port or free_port(),
    }
    if config.rabbit_ca_file:
        variables["RABBIT_CA_FILE"] = config.rabbit_ca_file
    return {**os.environ, **{name: str(value) for name, value in variables.items()}}


def start_consumer_process(
    config: Config, log_path: Path, logstash_port: int | None = None
) -> subprocess.Popen:
    """Start ``mymonit consume`` as a process of its own, its output into ``log_path``."""
    with open(log_path, "ab") as log_file:
        return subprocess.Popen(  # nosec B603 - fixed command, test environment
            [sys.executable, "-m", "my_monit.cli", "consume"],
            env=consumer_environment(config, logstash_port), stdout=log_file,
            stderr=subprocess.STDOUT,
        )


class TcpProxy:
    """Forward a local port to a server; ``cut`` drops every connection and refuses new ones."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1",
                 tls: ssl.SSLContext | None = None) -> None:
        self._target = (target_host, target_port)
        self._tls = tls
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open = threading.Event()
        self._open.set()
        self._closing = False
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._open.is_set():
                client.close()
                continue
            try:
                server = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, server))
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        sockets = [client, server]
        try:
            if self._tls is not None:
                client = sockets[0] = self._tls.wrap_socket(client, server_side=True)
            while True:
                # A TLS socket may hold decrypted bytes that select() cannot see.
                readable = [sock for sock in sockets
                            if isinstance(sock, ssl.SSLSocket) and sock.pending()]
                if not readable:
                    readable, _, _ = select.select(sockets, [], [], 1.0)
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    (server if source is client else client).sendall(data)
        except OSError:
            return
        finally:
            for sock in sockets:
                sock.close()

    def cut(self) -> None:
        """Drop every connection and refuse new ones, as a stopped server would."""
        self._open.clear()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def restore(self) -> None:
        """Accept connections again."""
        self._open.set()

    def close(self) -> None:
        """Stop listening and drop everything."""
        self._closing = True
        self.cut()
        self._listener.close()


def rabbitmqctl(*arguments: str) -> str:
    """Run rabbitmqctl (the tests run as root, beside the broker); give its output."""
    return subprocess.run(  # nosec B603 B607 - fixed tool, test environment
        ["rabbitmqctl", "-q", *arguments], check=True, capture_output=True, text=True,
        timeout=60,
    ).stdout


def close_connection_named(name: str) -> int:
    """Close the broker connections whose client-provided name is ``name``; count them."""
    listed = rabbitmqctl("list_connections", "--no-table-headers", "pid", "client_properties")
    closed = 0
    for line in listed.splitlines():
        if f'{{"connection_name","{name}"}}' in line:
            rabbitmqctl("close_connection", line.split("\t")[0], "test closes this connection")
            closed += 1
    return closed


def iterate_ids(prefix: str, count: int) -> Iterator[str]:
    """Give ``count`` distinct message ids."""
    return (f"{prefix}-{index}" for index in range(count))


def certificate_authority(directory: Path) -> tuple[Path, ssl.SSLContext]:
    """Make a CA and a server certificate for localhost; give the CA file and a server context."""
    # Imported here: only the TLS test needs it.
    import datetime  # pylint: disable=import-outside-toplevel
    import ipaddress  # pylint: disable=import-outside-toplevel

    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=C0415
    from cryptography.hazmat.primitives.asymmetric import ec  # pylint: disable=C0415
    from cryptography.x509.oid import NameOID  # pylint: disable=import-outside-toplevel

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "MyMONIT test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    server = (x509.CertificateBuilder()
              .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
              .issuer_name(ca_name).public_key(key.public_key())
              .serial_number(x509.random_serial_number())
              .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
              .add_extension(x509.SubjectAlternativeName([
                  x509.DNSName("localhost"),
                  x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
              .sign(ca_key, hashes.SHA256()))
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain = directory / "server.pem"
    chain.write_bytes(
        server.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(chain)
    return ca_file, context


REPOSITORY = Path(__file__).resolve().parents[5]


def mariadb_server(action: str) -> None:
    """Stop the machine's MariaDB (``stop``), or start it and wait until it answers.

    The functions of scripts/services.sh do it, as run-tests.sh starts the server: as
    root (sudo otherwise), through the unix socket first, as a fresh MariaDB allows.
    """
    script = {
        # Shutdown returns before the process is gone; starting it meanwhile would find it
        # "running" and do nothing, so wait until it has exited.
        "stop": "{ as_root mariadb-admin --protocol=socket -uroot shutdown 2>/dev/null"
                " || mariadb-admin -h127.0.0.1 -uroot shutdown; }"
                " && for _ in $(seq 600); do"
                " start-stop-daemon --status --exec /usr/sbin/mariadbd || exit 0; sleep 0.1;"
                " done; exit 1",
        "start": "ensure_mariadb",
    }[action]
    subprocess.run(  # nosec B603 B607 - fixed script of the repository, test environment
        ["bash", "-c", f"source scripts/services.sh && {script}"],
        cwd=REPOSITORY, check=True, capture_output=True, timeout=120,
    )
