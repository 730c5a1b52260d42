"""Fixtures of the consumer's integration tests: a config, a database, a broker of their own."""

from __future__ import annotations

from typing import Iterator

import pytest
from messaging_support import Broker, Database, messaging_config

from my_monit.config import Config


@pytest.fixture(name="config")
def fixture_config(clean_database: Config) -> Config:
    """The test database, with an exchange and queues of this test's own."""
    return messaging_config(clean_database)


@pytest.fixture(name="database")
def fixture_database(config: Config) -> Database:
    """The test database, with the experiment the test messages name."""
    database = Database(config)
    database.add_experiment()
    return database


@pytest.fixture(name="broker")
def fixture_broker(config: Config) -> Iterator[Broker]:
    """A publisher on the test's exchange; its queues and exchanges are deleted after."""
    broker = Broker(config)
    yield broker
    broker.close()
