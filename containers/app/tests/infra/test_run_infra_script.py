"""run-infra.sh on a machine with no Docker engine: native MariaDB and RabbitMQ, app users.

As in test_run_script.py, a `docker` first on PATH fails `docker info`. The test's own .env
(from .env.example, passwords left empty for the script to fill) names a database, a
database user and a broker user of this test only, dropped afterwards; then the follow-up
command that run-infra.sh prints brings the schema up to date with that .env alone.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from pathlib import Path
from typing import Iterator

import mysql.connector
import pika
import pytest

from .support import ROOT, required_file, without_docker

NAME = f"mymonit_test_infra_{secrets.token_hex(4)}"
SETTINGS = {
    "DB_USER": NAME,
    "DB_DATABASE": NAME,
    "RABBIT_USER": NAME,
    "RABBIT_EXCHANGE": NAME,
    "RABBIT_QUEUE": NAME,
}


def _as_root(*command: str) -> None:
    subprocess.run(
        ["bash", "-c", 'source scripts/services.sh && "$@"', "services", *command],
        cwd=ROOT, check=True, capture_output=True, timeout=120,
    )


def _read_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines()
             if re.match(r"^[A-Z0-9_]+=", line))
    return dict(pairs)


@pytest.fixture(name="infra_environment")
def fixture_infra_environment(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Give run-infra.sh's environment and .env; afterwards drop its database and users."""
    fake_bin = without_docker(tmp_path)
    example = required_file(".env.example").read_text(encoding="utf-8")
    for key, value in SETTINGS.items():
        example, found = re.subn(rf"(?m)^{key}=.*$", f"{key}={value}", example)
        if not found:
            example += f"{key}={value}\n"
    env_file = tmp_path / ".env"
    env_file.write_text(example, encoding="utf-8")
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DB_", "RABBIT_"))},
        "PATH": f"{fake_bin}:{os.environ['PATH']}",
        "MYMONIT_ENV_FILE": str(env_file),
    }
    try:
        yield environment
    finally:
        _as_root("mariadb_root", f"DROP DATABASE IF EXISTS `{NAME}`;"
                 f" DROP USER IF EXISTS '{NAME}'@'localhost';"
                 f" DROP USER IF EXISTS '{NAME}'@'127.0.0.1';")
        _as_root("as_root", "rabbitmqctl", "-q", "delete_user", NAME)


def test_run_infra_sh_without_docker_starts_servers_with_the_app_users(
    infra_environment: dict[str, str],
) -> None:
    """run-infra.sh fills .env, makes its users; its printed follow-up upgrades the schema."""
    script = ROOT / "run-infra.sh"
    assert os.access(script, os.X_OK), "run-infra.sh is not executable"
    started = subprocess.run(
        [str(script)], env=infra_environment, cwd=ROOT,
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert started.returncode == 0, started.stdout + started.stderr
    assert "no Docker engine answers" in started.stderr

    settings = _read_env(Path(infra_environment["MYMONIT_ENV_FILE"]))
    assert all(len(settings[key]) >= 32 for key in ("DB_PASSWORD", "RABBIT_PASSWORD"))

    # RabbitMQ answers the app's own broker user of .env.
    credentials = pika.PlainCredentials(NAME, settings["RABBIT_PASSWORD"])
    with pika.BlockingConnection(
        pika.ConnectionParameters("127.0.0.1", credentials=credentials)
    ) as connection:
        assert connection.channel().is_open

    # The follow-up it prints, but `mymonit run`, with the environment of a new shell.
    (follow_up,) = [line for line in started.stdout.splitlines() if "db upgrade" in line]
    upgrade = follow_up.strip().rsplit(";", 1)[0]
    assert upgrade.endswith("mymonit db upgrade"), follow_up
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "RABBIT_"))}
    upgraded = subprocess.run(
        ["bash", "-c", upgrade], env=clean, cwd=ROOT,
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr

    # MariaDB answers the app's own database user, which now owns an upgraded schema.
    connection = mysql.connector.connect(
        host="127.0.0.1", user=NAME, password=settings["DB_PASSWORD"], database=NAME
    )
    try:
        cursor = connection.cursor()
        cursor.execute("SHOW TABLES")
        tables = {row[0] for row in cursor.fetchall()}
    finally:
        connection.close()
    assert {"experiments", "measures", "measure_types"} <= tables, tables
