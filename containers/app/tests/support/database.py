"""The test suites' database: their configuration and a fresh, upgraded database to use.

``test_config()`` reads the environment, defaulting to the test database user that
run-tests.sh makes; ``fresh_database()`` creates ``my_monit_test_<random>`` with the
project's schema and drops it afterwards::

    from support.database import fresh_database

    with fresh_database() as config:
        storage = create_container(config).storage()
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import uuid
from typing import Iterator

from my_monit.config import Config
from my_monit.container import create_container
from my_monit.storage import StorageConnector
from my_monit.storage.migrations import upgrade


def test_config() -> Config:
    """Read the environment, defaulting to the test user that run-tests.sh creates."""
    environ = {
        "DB_HOST": "127.0.0.1",
        "DB_USER": "mymonit_test",
        "DB_PASSWORD": "mymonit-test",  # nosec B105 - the local test user of run-tests.sh
        "RABBIT_URL": "127.0.0.1",
        **os.environ,
    }
    return Config.from_env(environ)


def connector(config: Config) -> StorageConnector:
    """A connector wired as the app wires it, from ``config``."""
    return create_container(config).storage_connector()


@contextlib.contextmanager
def fresh_database(config: Config | None = None) -> Iterator[Config]:
    """Create and upgrade a database my_monit_test_<random>; drop it afterwards."""
    name = f"my_monit_test_{uuid.uuid4().hex[:12]}"
    config = dataclasses.replace(config or test_config(), db_database=name)
    pool = connector(config)
    upgrade(pool)
    try:
        yield config
    finally:
        pool.close()
        connection = pool.open(with_database=False)
        try:
            connection.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            connection.close()


@contextlib.contextmanager
def absent_database(config: Config) -> Iterator[Config]:
    """Name a database that does not exist yet (for commands that create it); drop it after."""
    absent = dataclasses.replace(config, db_database=f"my_monit_test_{uuid.uuid4().hex[:12]}")
    try:
        yield absent
    finally:
        connection = connector(absent).open(with_database=False)
        try:
            connection.cursor().execute(f"DROP DATABASE IF EXISTS `{absent.db_database}`")
        finally:
            connection.close()


def database_environment(config: Config) -> dict[str, str]:
    """The DB_* variables that make ``mymonit`` use the database of ``config``."""
    return {
        "DB_HOST": config.db_host,
        "DB_PORT": str(config.db_port),
        "DB_USER": config.db_user,
        "DB_PASSWORD": config.db_password,
        "DB_DATABASE": config.db_database,
    }
