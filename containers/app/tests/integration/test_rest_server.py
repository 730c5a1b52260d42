"""``mymonit serve`` for real: gunicorn workers, MariaDB, RS256 tokens on the production path.

The token-signing certificate is served on loopback (see test_token_verification), so
no emulator is involved and FIREBASE_AUTH_EMULATOR_HOST stays unset.
"""

from __future__ import annotations

# pytest passes fixtures by name: arguments share the names of the fixture functions.
# pylint: disable=redefined-outer-name

import os
import signal
import socket
import subprocess  # nosec B404 - the test starts the app's own command
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

from my_monit.config import Config
from my_monit.container import create_container
from my_monit.model import Role, User

from test_token_verification import PROJECT, CertificateServer, SigningKey

pytestmark = pytest.mark.integration

MYMONIT = str(Path(sys.executable).with_name("mymonit"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(config: Config, **variables: str) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FIREBASE_", "GOOGLE_", "DB_", "REST_", "LOGSTASH_"))
    }
    environment.update(
        DB_HOST=config.db_host,
        DB_PORT=str(config.db_port),
        DB_USER=config.db_user,
        DB_PASSWORD=config.db_password,
        DB_DATABASE=config.db_database,
        LOGSTASH_HOST="",
        REST_HOST="127.0.0.1",
        REST_WORKERS="2",
        REST_THREADS="4",
        **variables,
    )
    return environment


@pytest.fixture(scope="module")
def key() -> SigningKey:
    """The key that signs this module's tokens."""
    return SigningKey()


@pytest.fixture
def server(
    clean_database: Config, key: SigningKey, tmp_path: Path
) -> Iterator[str]:
    """``mymonit serve`` on a free loopback port, one admin in its database; its base URL."""
    container = create_container(clean_database)
    container.user_service().create_admin(
        User("A1", "Ada Admin", "uid-ada", "ada@example.org", Role.ADMIN)
    )
    container.storage_connector().close()
    port = _free_port()
    log = tmp_path / "serve.log"
    with CertificateServer(key) as certificates, log.open("w") as output:
        environment = _environment(
            clean_database,
            REST_PORT=str(port),
            FIREBASE_PROJECT_ID=PROJECT,
            FIREBASE_CERTS_URL=certificates.url,
        )
        # pylint: disable-next=consider-using-with  # stopped in the finally block below
        process = subprocess.Popen(  # nosec B603 - fixed arguments
            [MYMONIT, "serve"], env=environment, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_until_listening(base, process, log)
            yield base
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)


def _wait_until_listening(base: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"mymonit serve exited: {log.read_text()}")
        try:
            requests.get(f"{base}/healthz", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    pytest.fail("mymonit serve did not listen in time")


def test_serve_answers_probes_and_docs_without_token(server: str) -> None:
    for path, kind in (
        ("/healthz", "application/json"),
        ("/readyz", "application/json"),
        ("/openapi.json", "application/json"),
        ("/docs", "text/html"),
        ("/docs/assets/swagger-ui-bundle.js", "text/javascript"),
    ):
        response = requests.get(f"{server}{path}", timeout=5)
        assert response.status_code == 200, path
        assert response.headers["Content-Type"].startswith(kind), path
    assert requests.get(f"{server}/healthz", timeout=5).headers["Server"] == "gunicorn"


def test_serve_signs_in_with_a_signed_token_and_refuses_others(
    server: str, key: SigningKey
) -> None:
    good = {"Authorization": f"Bearer {key.sign('uid-ada')}", "X-Request-ID": "req-serve-1"}
    stranger = {"Authorization": f"Bearer {key.sign('uid-nobody')}"}
    forged = {"Authorization": f"Bearer {SigningKey().sign('uid-ada')}"}

    me = requests.get(f"{server}/users/me", headers=good, timeout=5)

    assert me.status_code == 200
    assert me.json()["user_id"] == "A1"
    assert me.headers["X-Request-ID"] == "req-serve-1"
    assert requests.get(f"{server}/users/me", headers=stranger, timeout=5).status_code == 403
    assert requests.get(f"{server}/users/me", headers=forged, timeout=5).status_code == 401
    assert requests.get(f"{server}/users/me", timeout=5).status_code == 401


def test_serve_keeps_serving_concurrent_clients(server: str, key: SigningKey) -> None:
    headers = {"Authorization": f"Bearer {key.sign('uid-ada')}"}
    with requests.Session() as session:
        statuses = [
            session.get(f"{server}/experiments/", headers=headers, timeout=5).status_code
            for _ in range(50)
        ]

    assert statuses == [200] * 50


def _statuses(server: str, token: str, times: int) -> list[int]:
    """GET /users/ (admins only) ``times``, each on a connection of its own: any worker."""
    headers = {"Authorization": f"Bearer {token}"}
    return [
        requests.get(f"{server}/users/", headers=headers, timeout=5).status_code
        for _ in range(times)
    ]


def test_serve_refuses_a_demoted_admin_at_once_in_every_worker(
    server: str, key: SigningKey
) -> None:
    ada = {"Authorization": f"Bearer {key.sign('uid-ada')}"}
    bea = key.sign("uid-bea")
    created = requests.post(f"{server}/users/", headers=ada, timeout=5, json={
        "user_id": "A2", "name": "Bea Admin", "username": "uid-bea",
        "email": "bea@example.org", "role": "ADMIN",
    })
    assert created.status_code == 201
    # Signed in on both workers, and kept there.
    assert _statuses(server, bea, 30) == [200] * 30

    demoted = requests.put(f"{server}/users/A2", headers=ada, json={"role": "SCIENTIST"},
                           timeout=5)

    assert demoted.status_code == 200
    assert _statuses(server, bea, 30) == [403] * 30


def test_serve_sees_a_user_changed_outside_it_within_the_cache_time(
    server: str, key: SigningKey, clean_database: Config
) -> None:
    """Another replica, or a statement run by hand: REST_USER_CACHE_SECONDS (1 s) at most."""
    ada = key.sign("uid-ada")
    assert _statuses(server, ada, 10) == [200] * 10
    container = create_container(clean_database)  # not the server's: no change is signalled
    try:
        container.storage().update_user(
            User("A1", "Ada Admin", "uid-ada", "ada@example.org", Role.SCIENTIST)
        )
    finally:
        container.storage_connector().close()
    # Each worker kept the user one second at most from a lookup before the change.
    time.sleep(1.2)

    assert _statuses(server, ada, 20) == [403] * 20


def test_serve_with_emulator_and_real_project_exits_non_zero(database_config: Config) -> None:
    environment = _environment(
        database_config,
        REST_PORT=str(_free_port()),
        FIREBASE_PROJECT_ID="a-real-project",
        FIREBASE_AUTH_EMULATOR_HOST="127.0.0.1:9099",
    )

    result = subprocess.run(  # nosec B603 - fixed arguments
        [MYMONIT, "serve"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    assert "demo-" in result.stderr
