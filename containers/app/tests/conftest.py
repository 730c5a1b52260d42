"""Fixtures shared by the test suites: configuration and a fresh database per session."""

from __future__ import annotations

from typing import Iterator

import pytest
from support.database import connector, fresh_database

from my_monit.config import Config


@pytest.fixture(scope="session")
def database_config() -> Iterator[Config]:
    """Create a fresh database my_monit_test_<random>, upgraded; drop it afterwards."""
    with fresh_database() as config:
        yield config


@pytest.fixture
def clean_database(database_config: Config) -> Config:
    """Empty the data tables of the session database (the measure types stay)."""
    connection = connector(database_config).open()
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
