"""run.sh on a machine with no Docker engine: it says so and runs the app natively.

The test puts a `docker` first on PATH whose `docker info` fails, as on a machine whose
engine is down, so the check is the same wherever it runs. The app gets a database and a
database user of its own (run.sh creates them, the test drops them), unique AMQP names on
the shared broker, free ports, and an .env of its own that run.sh makes from .env.example.
"""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pika
import pytest

from .support import ROOT, free_port, http_status, without_docker

NAME = f"my_monit_test_run_{secrets.token_hex(4)}"


def _mariadb_root(sql: str) -> None:
    subprocess.run(
        ["bash", "-c", 'source scripts/services.sh && mariadb_root "$1"', "mariadb-root", sql],
        cwd=ROOT, check=True, capture_output=True, timeout=60,
    )


@pytest.fixture(name="native_environment")
def fixture_native_environment(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Give run.sh's environment; afterwards drop its database, user and AMQP names."""
    fake_bin = without_docker(tmp_path)
    names = f"mymonit_test_run_{secrets.token_hex(4)}"
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DB_", "RABBIT_"))},
        "PATH": f"{fake_bin}:{os.environ['PATH']}",
        "MYMONIT_ENV_FILE": str(tmp_path / ".env"),
        "MYMONIT_STATE_DIR": str(tmp_path / "state"),
        "DB_HOST": "127.0.0.1",
        "DB_USER": NAME[:32],
        "DB_DATABASE": NAME,
        "RABBIT_URL": "127.0.0.1",
        "RABBIT_USER": "guest",
        "RABBIT_PASSWORD": "guest",
        "RABBIT_EXCHANGE": names,
        "RABBIT_ROUTING": names,
        "RABBIT_QUEUE": names,
        "REST_PORT": str(free_port()),
        "HEALTH_PORT": str(free_port()),
        "FIREBASE_PROJECT_ID": "demo-mymonit-run",
        # Nothing listens there: events are dropped, never waited for.
        "LOGSTASH_HOST": "127.0.0.1",
        "LOGSTASH_PORT": str(free_port()),
    }
    try:
        yield environment
    finally:
        subprocess.run(
            [str(ROOT / "run.sh"), "--stop"], env=environment, cwd=ROOT,
            capture_output=True, timeout=60, check=False,
        )
        _mariadb_root(
            f"DROP DATABASE IF EXISTS `{NAME}`; DROP USER IF EXISTS '{NAME[:32]}'@'localhost';"
            f" DROP USER IF EXISTS '{NAME[:32]}'@'127.0.0.1';"
        )
        with pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1")) as connection:
            channel = connection.channel()
            for queue in (names, f"{names}.dead"):
                channel.queue_delete(queue)
            channel.exchange_delete(names)


def test_run_sh_without_docker_runs_the_app_natively(native_environment: dict[str, str]) -> None:
    """run.sh says no engine answers, upgrades the schema, starts `mymonit run`: /readyz 200."""
    started = subprocess.run(
        [str(ROOT / "run.sh"), "--background"], env=native_environment, cwd=ROOT,
        capture_output=True, text=True, timeout=600, check=False,
    )
    output = started.stdout + started.stderr
    assert started.returncode == 0, output
    assert "no Docker engine answers" in output
    rest = f"http://127.0.0.1:{native_environment['REST_PORT']}"
    consumer = f"http://127.0.0.1:{native_environment['HEALTH_PORT']}"
    assert http_status(f"{rest}/readyz") == 200
    assert http_status(f"{rest}/healthz") == 200
    assert http_status(f"{consumer}/readyz") == 200

    # .env was made on the first start: private, every password filled in.
    env_file = Path(native_environment["MYMONIT_ENV_FILE"])
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    lines = env_file.read_text(encoding="utf-8").splitlines()
    passwords = [line for line in lines if "_PASSWORD=" in line]
    assert passwords and all(len(line.split("=", 1)[1]) >= 32 for line in passwords)

    state = Path(native_environment["MYMONIT_STATE_DIR"])
    pid = int((state / "mymonit.pid").read_text(encoding="utf-8"))
    stopped = subprocess.run(
        [str(ROOT / "run.sh"), "--stop"], env=native_environment, cwd=ROOT,
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    process = Path(f"/proc/{pid}/stat")
    if process.exists():
        assert process.read_text(encoding="utf-8").split()[2] == "Z", "mymonit still runs"
    deadline = time.monotonic() + 10
    while http_status(f"{rest}/healthz") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert http_status(f"{rest}/healthz") == 0, "the REST port still answers after the stop"
    log = (state / "mymonit.log").read_text(encoding="utf-8")
    assert "Traceback" not in log, log[-3000:]
