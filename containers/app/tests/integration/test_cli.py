"""Integration tests of the ``mymonit`` command against the real MariaDB."""

from __future__ import annotations

import os
import subprocess  # nosec B404 - the tests run the project's own command
import sys
import uuid

import mysql.connector
import pytest

from my_monit.cli import main

pytestmark = pytest.mark.integration


@pytest.fixture(name="fresh_database")
def fixture_fresh_database(database_config, monkeypatch):
    """Point the environment at a database that does not exist yet; drop it afterwards."""
    name = f"my_monit_test_{uuid.uuid4().hex[:12]}"
    for variable, value in {
        "DB_HOST": database_config.db_host,
        "DB_PORT": str(database_config.db_port),
        "DB_USER": database_config.db_user,
        "DB_PASSWORD": database_config.db_password,
        "DB_DATABASE": name,
    }.items():
        monkeypatch.setenv(variable, value)
    yield name
    connection = mysql.connector.connect(
        host=database_config.db_host,
        port=database_config.db_port,
        user=database_config.db_user,
        password=database_config.db_password,
    )
    try:
        connection.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        connection.close()


def _tables(name):
    connection = mysql.connector.connect(
        host=os.environ["DB_HOST"],
        port=int(os.environ["DB_PORT"]),
        user=os.environ["DB_USER"],
        password=os.environ["DB_PASSWORD"],
        database=name,
    )
    try:
        cursor = connection.cursor()
        cursor.execute("SHOW TABLES")
        tables = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT COUNT(*) FROM measure_types")
        return tables, cursor.fetchone()[0]
    finally:
        connection.close()


def test_db_upgrade_twice_creates_then_changes_nothing(fresh_database, capsys):
    assert main(["db", "upgrade"]) == 0
    assert "001, 002" in capsys.readouterr().out
    first = _tables(fresh_database)

    assert main(["db", "upgrade"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert _tables(fresh_database) == first
    assert {"users", "experiments", "measures", "measure_types"} <= first[0]
    assert first[1] == 22


def test_create_admin_then_duplicate_fails(fresh_database, capsys):
    main(["db", "upgrade"])
    arguments = ["users", "create-admin", "--user-id", "A1", "--name", "Ada Admin"]
    arguments += ["--email", "ada@example.org", "--username", "uid-ada"]
    assert main(arguments) == 0
    assert "A1" in capsys.readouterr().out

    arguments[3] = "A2"
    assert main(arguments) == 1
    error = capsys.readouterr().err
    assert "already taken" in error
    assert "ada@example.org" not in error and "uid-ada" not in error


def test_create_admin_refuses_invalid_input(fresh_database, capsys):
    main(["db", "upgrade"])
    assert main(["users", "create-admin", "--user-id", "bad id", "--name", "N",
                 "--email", "n@example.org", "--username", "u"]) == 1
    assert "user_id" in capsys.readouterr().err


def test_bad_configuration_exits_non_zero(monkeypatch, capsys):
    monkeypatch.setenv("DB_PORT", "not-a-port")
    assert main(["db", "upgrade"]) == 1
    assert "DB_PORT" in capsys.readouterr().err


def test_the_installed_command_runs():
    result = subprocess.run(  # nosec B603 - fixed arguments
        [sys.executable, "-m", "my_monit.cli", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0 and "db" in result.stdout
