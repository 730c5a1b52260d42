"""When a part is down: the app without its database, nginx without its app."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests
from stack import AppServer, Nginx, Stack, free_port  # pylint: disable=import-error  # beside
from support.logstash_listener import StalledListener
from world import Api, World, assert_problem  # pylint: disable=import-error  # beside this file

pytestmark = pytest.mark.e2e


@pytest.fixture
def app_without_database(stack: Stack, tmp_path: Path) -> Iterator[AppServer]:
    """A second ``mymonit serve`` whose database port has no server behind it."""
    config = dataclasses.replace(stack.config, db_host="127.0.0.1", db_port=free_port())
    env = stack.environment()
    env.update(DB_HOST=config.db_host, DB_PORT=str(config.db_port), REST_PORT=str(free_port()),
               REST_WORKERS="1")
    app = AppServer(tmp_path, env)
    try:
        yield app
    finally:
        app.stop()


def test_app_without_database_is_alive_but_not_ready(app_without_database: AppServer) -> None:
    app = app_without_database
    healthz = f"{app.url}/healthz"
    # Alive first: /healthz answers as soon as gunicorn does.
    for _ in range(150):
        try:
            alive = requests.get(healthz, timeout=2)
            break
        except requests.ConnectionError:
            assert not app.process.exited(), app.process.log_path.read_text()
            time.sleep(0.2)
    else:
        pytest.fail("mymonit serve did not answer /healthz")

    ready = requests.get(f"{app.url}/readyz", timeout=30)

    assert alive.status_code == 200
    assert ready.status_code == 503
    assert_problem(ready, 503, [])


def test_nginx_without_its_app_answers_a_problem(tmp_path: Path) -> None:
    nginx = Nginx(tmp_path / "nginx", free_port())
    try:
        nginx.wait()
        api = Api(nginx.url, nginx.certificate)

        response = api.call("GET", "/experiments/")
    finally:
        nginx.stop()

    assert response.status_code == 503
    assert_problem(response, 503, [])
    assert "max-age=" in response.headers["Strict-Transport-Security"]


CALLS = 40


def _latencies(url: str, authorization: str) -> list[float]:
    """Time ``CALLS`` signed-in calls of GET /users/me, each audited, one after another."""
    times = []
    with requests.Session() as session:
        session.headers["Authorization"] = authorization
        for _ in range(CALLS):
            started = time.perf_counter()
            answer = session.get(f"{url}/users/me", timeout=10)
            times.append(time.perf_counter() - started)
            assert answer.status_code == 200, answer.text
    return sorted(times)


@pytest.fixture(params=["absent", "stalled"])
def app_with_bad_logstash(
    request: pytest.FixtureRequest, stack: Stack, tmp_path: Path
) -> Iterator[AppServer]:
    """A second ``mymonit serve`` whose Logstash is not there, or accepts and never reads."""
    with contextlib.ExitStack() as cleanup:
        if request.param == "stalled":
            port = cleanup.enter_context(StalledListener()).port
        else:
            port = free_port()
        env = stack.environment()
        env.update(LOGSTASH_PORT=str(port), REST_PORT=str(free_port()), REST_WORKERS="1")
        app = AppServer(tmp_path, env)
        cleanup.callback(app.stop)
        app.wait()
        yield app


def test_a_logstash_absent_or_stalled_leaves_call_latency_as_it_was(
    app_with_bad_logstash: AppServer, stack: Stack, world: World
) -> None:
    """The same audited calls, against the stack's own app (a healthy Logstash) and this one."""
    authorization = world.admin.authorization
    _latencies(app_with_bad_logstash.url, authorization)  # warm-up: token cache, pool

    healthy = _latencies(stack.app.url, authorization)
    degraded = _latencies(app_with_bad_logstash.url, authorization)

    median_healthy, median_degraded = healthy[CALLS // 2], degraded[CALLS // 2]
    assert median_degraded < 3 * median_healthy + 0.02, (median_healthy, median_degraded)
    assert degraded[-1] < 1.0, f"slowest call {degraded[-1]:.3f} s"
