"""Fixtures shared by the test suites: configuration and a fresh database per session."""

from __future__ import annotations

import dataclasses
import os
import uuid
from typing import Iterator

import pytest

from my_monit.config import Config
from my_monit.container import create_container
from my_monit.storage import StorageConnector


def _test_config() -> Config:
    """Read the environment, defaulting to the test user that run-tests.sh creates."""
    environ = {
        "DB_HOST": "127.0.0.1",
        "DB_USER": "mymonit_test",
        "DB_PASSWORD": "mymonit-test",
        "RABBIT_URL": "127.0.0.1",
        **os.environ,
    }
    return Config.from_env(environ)


def _connector(config: Config) -> StorageConnector:
    """A connector wired as the app wires it, from ``config``."""
    return create_container(config).storage_connector()


@pytest.fixture(scope="session")
def database_config() -> Iterator[Config]:
    """Create a fresh database my_monit_test_<random>, upgraded; drop it afterwards."""
    from my_monit.storage.migrations import upgrade  # pylint: disable=import-outside-toplevel

    name = f"my_monit_test_{uuid.uuid4().hex[:12]}"
    config = dataclasses.replace(_test_config(), db_database=name)
    connector = _connector(config)
    upgrade(connector)
    yield config
    connector.close()
    connection = connector.open(with_database=False)
    try:
        connection.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        connection.close()


@pytest.fixture
def clean_database(database_config: Config) -> Config:
    """Empty the data tables of the session database (the measure types stay)."""
    connection = _connector(database_config).open()
    try:
        cursor = connection.cursor()
        for table in (
            "measures",
            "consumed_messages",
            "scientists_experiments",
            "experiments",
            "users",
        ):
            cursor.execute(f"DELETE FROM {table}")  # fixed table names
        cursor.execute("DELETE FROM measure_types WHERE measure_type_id > 22")
        connection.commit()
    finally:
        connection.close()
    return database_config
