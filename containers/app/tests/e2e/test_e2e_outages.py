"""When a part is down: the app without its database, nginx without its app."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests
from stack import AppServer, Nginx, Stack, free_port  # pylint: disable=import-error  # beside
from world import Api, assert_problem  # pylint: disable=import-error  # beside this file

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
