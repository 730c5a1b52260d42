"""Fixtures of the adapters' end-to-end tests: a database, names, and the real consumer."""

from __future__ import annotations

import os
import socket
import subprocess  # nosec B404 - the tests start the consumer and the adapters
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import mysql.connector
import pytest

EXPERIMENT = "adapter-tests"


@dataclass(frozen=True)
class Stack:
    """The database and broker names one test uses, and its environment."""

    environment: dict[str, str]
    database: str

    def measures(self) -> list[tuple]:
        """List (experiment, measure type, value) of every stored measure, by value."""
        connection = mysql.connector.connect(
            host=self.environment["DB_HOST"], port=int(self.environment["DB_PORT"]),
            user=self.environment["DB_USER"], password=self.environment["DB_PASSWORD"],
            database=self.database)
        try:
            cursor = connection.cursor()
            cursor.execute(
                "SELECT e.name, t.name, m.value FROM measures m "
                "JOIN experiments e USING (experiment_id) "
                "JOIN measure_types t USING (measure_type_id) ORDER BY m.value")
            return cursor.fetchall()
        finally:
            connection.close()

    def wait_for_measures(self, count: int, timeout: float = 30.0) -> list[tuple]:
        """Wait until ``count`` measures are stored; give them."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.measures()
            if len(rows) >= count or time.monotonic() > deadline:
                return rows
            time.sleep(0.1)

    def run(self, *command: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
        """Run an adapter command to its end."""
        return subprocess.run(  # nosec B603 - the test's own commands
            command, input=stdin, env=self.environment, capture_output=True, timeout=120,
            check=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _db_settings() -> dict[str, str]:
    return {
        "DB_HOST": os.environ.get("DB_HOST", "127.0.0.1"),
        "DB_PORT": os.environ.get("DB_PORT", "3306"),
        "DB_USER": os.environ.get("DB_USER", "mymonit_test"),
        "DB_PASSWORD": os.environ.get("DB_PASSWORD", "mymonit-test"),
    }


@pytest.fixture(name="stack")
def fixture_stack(tmp_path: Path) -> Iterator[Stack]:
    """Give a fresh database, an exchange and queue of the test's own, and the consumer."""
    suffix = uuid.uuid4().hex[:10]
    database = f"my_monit_test_adapters_{suffix}"
    health_port = _free_port()
    environment = {
        **os.environ, **_db_settings(),
        "DB_DATABASE": database,
        "RABBIT_URL": os.environ.get("RABBIT_URL", "127.0.0.1"),
        "RABBIT_EXCHANGE": f"test-adapters-{suffix}",
        "RABBIT_QUEUE": f"test-adapters-{suffix}",
        "RABBIT_ROUTING": "measures",
        "RABBIT_FLUSH_SECONDS": "0.05",
        "HEALTH_PORT": str(health_port),
        "LOGSTASH_PORT": str(_free_port()),
    }
    stack = Stack(environment, database)
    _upgrade(stack)

    log = (tmp_path / "consumer.log").open("wb")
    consumer = subprocess.Popen(  # nosec B603 - the real consumer, fixed command
        [sys.executable, "-m", "my_monit.cli", "consume"], env=environment, stdout=log,
        stderr=subprocess.STDOUT)
    try:
        _wait_ready(health_port)
        yield stack
    finally:
        consumer.terminate()
        consumer.wait(30)
        log.close()
        _drop(stack)


def _upgrade(stack: Stack) -> None:
    result = stack.run(sys.executable, "-m", "my_monit.cli", "db", "upgrade")
    assert result.returncode == 0, result.stderr
    connection = _connect(stack, stack.database)
    try:
        connection.cursor().execute("INSERT INTO experiments (name) VALUES (%s)", (EXPERIMENT,))
        connection.commit()
    finally:
        connection.close()


def _drop(stack: Stack) -> None:
    connection = _connect(stack, None)
    try:
        connection.cursor().execute(f"DROP DATABASE IF EXISTS `{stack.database}`")
    finally:
        connection.close()
    # The consumer declared the test's exchange and queues: remove them.
    import pika  # pylint: disable=import-outside-toplevel

    broker = pika.BlockingConnection(pika.ConnectionParameters(
        stack.environment["RABBIT_URL"].split("://")[-1]))
    channel = broker.channel()
    queue = stack.environment["RABBIT_QUEUE"]
    for name in (queue, f"{queue}.dead"):
        channel.queue_delete(name)
    channel.exchange_delete(stack.environment["RABBIT_EXCHANGE"])
    broker.close()


def _connect(stack: Stack, database: str | None):
    settings = stack.environment
    arguments = {"host": settings["DB_HOST"], "port": int(settings["DB_PORT"]),
                 "user": settings["DB_USER"], "password": settings["DB_PASSWORD"]}
    if database:
        arguments["database"] = database
    return mysql.connector.connect(**arguments)


def _wait_ready(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise AssertionError("the consumer did not become ready")
