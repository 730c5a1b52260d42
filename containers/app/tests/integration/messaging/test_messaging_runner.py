"""Integration tests of ``mymonit consume`` and ``mymonit run`` in this process.

Each is stopped by SIGTERM.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import threading
import urllib.error
import urllib.request

import pytest
from messaging_support import free_port, measure, messaging_config, wait_until

from my_monit.config import ConfigurationError
from my_monit.messaging.runner import consume
from my_monit.runner import run_all

pytestmark = pytest.mark.integration


@pytest.fixture(name="config")
def fixture_config(clean_database):
    return messaging_config(clean_database, rest_port=free_port(), rest_workers=1,
                            rest_threads=2, rest_host="127.0.0.1",
                            firebase_auth_emulator_host="127.0.0.1:9",
                            firebase_project_id="demo-mymonit-tests",
                            logstash_port=free_port())


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def _sigterm_when(condition) -> threading.Thread:
    def wait_then_signal() -> None:
        try:
            wait_until(condition, timeout=90, step=0.2)
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=wait_then_signal, daemon=True)
    thread.start()
    return thread


def test_consume_stores_until_sigterm_and_exits_0(config, database, broker):
    broker.publish(measure(1.0), "one")
    ready = f"http://127.0.0.1:{config.health_port}/readyz"
    watcher = _sigterm_when(lambda: database.values() == [1.0] and _status(ready) == 200)
    assert consume(config) == 0
    watcher.join(5)
    assert _status(ready) == 0  # the health server is gone with the consumer


def test_run_serves_rest_and_consumes_until_sigterm(config, database, broker):
    broker.publish(measure(2.0), "two")
    rest = f"http://127.0.0.1:{config.rest_port}/healthz"
    watcher = _sigterm_when(lambda: database.values() == [2.0] and _status(rest) == 200)
    assert run_all(config) == 0
    watcher.join(5)
    assert _status(rest) == 0  # the REST API stopped too


def test_run_stops_the_consumer_and_fails_when_the_rest_api_dies(config, database):
    # The REST port is taken: gunicorn cannot bind it and exits, after its few retries.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", config.rest_port))
        taken.listen()
        assert run_all(config) == 1
    assert _status(f"http://127.0.0.1:{config.health_port}/healthz") == 0


def test_run_refuses_unsafe_sign_in_settings_before_the_consumer_starts(config, database):
    unsafe = dataclasses.replace(config, firebase_project_id="not-a-demo-project")
    with pytest.raises(ConfigurationError, match="demo-"):
        run_all(unsafe)
    assert _status(f"http://127.0.0.1:{config.health_port}/healthz") == 0
