"""Integration tests of the ``mymonit`` command against the real MariaDB."""

from __future__ import annotations

import logging
import os
import subprocess  # nosec B404 - the tests run the project's own command
import sys
import time

import mysql.connector
import pytest

from support.database import absent_database, database_environment
from support.logstash_listener import LogstashListener, field, find_leaks, free_port

from my_monit.cli import FLUSH_SECONDS, main

pytestmark = pytest.mark.integration

ADMIN = ["--name", "Ada Admin", "--email", "ada@example.org", "--username", "uid-ada"]
ADMIN_SECRETS = ["Ada Admin", "ada@example.org", "uid-ada"]


@pytest.fixture(autouse=True)
def fixture_logging(monkeypatch):
    """No Logstash unless a test says where; hand the root logger back as it was."""
    monkeypatch.setenv("LOGSTASH_HOST", "")
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.fixture(name="fresh_database")
def fixture_fresh_database(database_config, monkeypatch):
    """Point the environment at a database that does not exist yet; drop it afterwards."""
    with absent_database(database_config) as config:
        for variable, value in database_environment(config).items():
            monkeypatch.setenv(variable, value)
        yield config.db_database


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


def _is_create_admin(event):
    return field(event, "event.action") == "user.create_admin"


def test_create_admin_records_an_audit_event_per_attempt_without_personal_data(
    fresh_database, monkeypatch, capsys
):
    main(["db", "upgrade"])
    with LogstashListener() as listener:
        monkeypatch.setenv("LOGSTASH_HOST", "127.0.0.1")
        monkeypatch.setenv("LOGSTASH_PORT", str(listener.port))

        assert main(["users", "create-admin", "--user-id", "A1", *ADMIN]) == 0
        assert main(["users", "create-admin", "--user-id", "A2", *ADMIN]) == 1
        created, refused = listener.wait_for(_is_create_admin, count=2, timeout=5)

    for event, staff_id in ((created, "A1"), (refused, "A2")):
        assert field(event, "event.dataset") == "mymonit.audit"
        assert field(event, "event.category") == ["iam"]
        assert field(event, "event.type") == ["creation"]
        assert field(event, "mymonit.source") == "cli"
        assert field(event, "mymonit.object") == {"type": "user", "id": staff_id}
        assert field(event, "user") is None, "no MyMONIT user runs the command"
        assert isinstance(field(event, "event.duration"), int)
    assert field(created, "event.outcome") == "success"
    assert field(refused, "event.outcome") == "failure"
    assert find_leaks(listener.texts(), ADMIN_SECRETS) == []
    assert find_leaks([capsys.readouterr().err], ADMIN_SECRETS) == []


def _create_admin_command(port, staff_id):
    environment = {**os.environ, "LOGSTASH_HOST": "127.0.0.1", "LOGSTASH_PORT": str(port)}
    started = time.monotonic()
    result = subprocess.run(  # nosec B603 - the project's own command, fixed arguments
        [sys.executable, "-m", "my_monit.cli", "users", "create-admin", "--user-id", staff_id,
         *ADMIN],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return result, time.monotonic() - started


def test_create_admin_command_delivers_its_event_before_it_exits(fresh_database):
    main(["db", "upgrade"])
    with LogstashListener() as listener:
        result, _ = _create_admin_command(listener.port, "A1")
        # The command has exited: its event is in, or on its way through loopback.
        events = listener.wait_for(_is_create_admin, timeout=1)

    assert result.returncode == 0, result.stderr
    assert field(events[0], "event.outcome") == "success"
    assert find_leaks(listener.texts() + [result.stderr], ADMIN_SECRETS) == []


def test_create_admin_command_exits_in_bounded_time_without_logstash(fresh_database):
    main(["db", "upgrade"])

    result, seconds = _create_admin_command(free_port(), "A1")

    assert result.returncode == 0, result.stderr
    assert seconds < FLUSH_SECONDS + 10, f"{seconds:.1f} s"
