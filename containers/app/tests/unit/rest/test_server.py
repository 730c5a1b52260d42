"""``mymonit serve``: gunicorn settings, the emulator guard, and worker start-up."""

from __future__ import annotations

import io
import logging
from typing import Iterator
from unittest import mock

import pytest
from flask import Flask

from my_monit import cli
from my_monit.config import Config, ConfigurationError
from my_monit.logging.configuration import configure_logging
from my_monit.rest import server as module
from my_monit.rest.server import RestServer, ServerLogger, serve
from my_monit.runner import run_all


def _config(**variables: str) -> Config:
    return Config.from_env({"FIREBASE_PROJECT_ID": "demo-unit", **variables})


def test_rest_server_runs_gthread_workers_from_the_configuration() -> None:
    server = RestServer(_config(REST_HOST="127.0.0.1", REST_PORT="5050", REST_WORKERS="3",
                                REST_THREADS="6"))

    assert server.cfg.bind == ["127.0.0.1:5050"]
    assert server.cfg.workers == 3
    assert server.cfg.threads == 6
    assert server.cfg.worker_class_str == "gthread"
    assert server.cfg.keepalive == module.KEEPALIVE_SECONDS
    assert server.cfg.accesslog is None
    assert server.cfg.control_socket_disable is True


def test_rest_server_binds_ipv6_hosts_in_brackets() -> None:
    assert RestServer(_config(REST_HOST="::1")).cfg.bind == ["[::1]:5000"]


def test_rest_server_worker_builds_the_app_and_its_authenticator() -> None:
    app = RestServer(_config()).load()

    assert isinstance(app, Flask)
    assert "users.create_user" in app.view_functions


def test_rest_server_configures_logging_in_each_worker_after_fork() -> None:
    server = RestServer(_config())

    with mock.patch.object(module, "configure_logging") as configure:
        server.cfg.post_fork(mock.Mock(), mock.Mock(pid=123))

    configure.assert_called_once_with(server._config)  # pylint: disable=protected-access


def test_serve_returns_gunicorn_exit_status() -> None:
    with mock.patch.object(RestServer, "run", side_effect=SystemExit(3)):
        assert serve(_config()) == 3
    with mock.patch.object(RestServer, "run", return_value=None):
        assert serve(_config()) == 0


def test_serve_with_the_emulator_warns_at_start(caplog: pytest.LogCaptureFixture) -> None:
    config = _config(FIREBASE_AUTH_EMULATOR_HOST="127.0.0.1:9099")

    with mock.patch.object(RestServer, "run", side_effect=SystemExit(0)):
        with caplog.at_level(logging.WARNING, logger=module.__name__):
            serve(config)

    assert "NOT verified" in caplog.text


def test_serve_with_the_emulator_and_a_real_project_refuses_to_start() -> None:
    config = _config(FIREBASE_AUTH_EMULATOR_HOST="127.0.0.1:9099", FIREBASE_PROJECT_ID="prod")

    with mock.patch.object(RestServer, "run") as run:
        with pytest.raises(ConfigurationError, match="demo-"):
            serve(config)
    run.assert_not_called()


def test_cli_serve_exits_non_zero_with_a_message_for_the_emulator_guard(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
    monkeypatch.setenv("FIREBASE_PROJECT_ID", "my-real-project")
    monkeypatch.setenv("LOGSTASH_HOST", "")

    with mock.patch.object(RestServer, "run") as run:
        assert cli.main(["serve"]) == 1

    run.assert_not_called()
    assert "demo-" in capsys.readouterr().err


def test_cli_docs_check_fails_for_a_stale_page(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOGSTASH_HOST", "")
    page = f"{tmp_path}/api.html"

    assert cli.main(["docs", "--output", page, "--check"]) == 1
    assert cli.main(["docs", "--output", page]) == 0
    assert cli.main(["docs", "--output", page, "--check"]) == 0
    assert "out of date" in capsys.readouterr().err


@pytest.fixture(name="root")
def fixture_root() -> Iterator[logging.Logger]:
    """Hand the root and gunicorn's loggers back as they were, closing what a test added."""
    root = logging.getLogger()
    error_log = logging.getLogger("gunicorn.error")
    saved = (list(root.handlers), root.level, list(error_log.handlers), error_log.propagate)
    yield root
    for logger, handlers in ((root, saved[0]), (error_log, saved[2])):
        for handler in list(logger.handlers):
            if handler not in handlers:
                logger.removeHandler(handler)
                handler.close()
    root.setLevel(saved[1])
    error_log.propagate = saved[3]


def test_gunicorn_error_log_goes_once_through_the_masked_root_handlers(
    root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    console = io.StringIO()
    configure_logging(_config(LOGSTASH_HOST=""), console)
    server = RestServer(_config())

    assert server.cfg.logger_class is ServerLogger
    gunicorn_log = server.cfg.logger_class(server.cfg)
    gunicorn_log.error("worker failed for %s", "marie.curie@example.org")

    lines = [line for line in console.getvalue().splitlines() if "worker failed" in line]
    assert len(lines) == 1 and "gunicorn.error" in lines[0]
    assert "marie.curie" not in lines[0] and "***" in lines[0]
    assert "worker failed" not in capsys.readouterr().err, "gunicorn wrote it itself too"
    assert root.handlers and not gunicorn_log.error_log.handlers


def test_gunicorn_error_log_stays_with_the_root_handlers_after_a_reload(root) -> None:
    server = RestServer(_config())
    gunicorn_log = server.cfg.logger_class(server.cfg)

    gunicorn_log.setup(server.cfg)

    assert gunicorn_log.error_log.propagate is True
    assert not gunicorn_log.error_log.handlers


def test_serve_warns_that_revocation_is_not_checked_without_a_service_account(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with mock.patch.object(RestServer, "run", side_effect=SystemExit(0)):
        with caplog.at_level(logging.WARNING, logger=module.__name__):
            serve(_config(FIREBASE_PROJECT_ID="prod"))

    assert "revoked ID tokens are accepted" in caplog.text


def test_run_with_the_emulator_and_a_real_project_refuses_before_anything_starts() -> None:
    config = _config(FIREBASE_AUTH_EMULATOR_HOST="127.0.0.1:9099", FIREBASE_PROJECT_ID="prod")

    with mock.patch("my_monit.runner.consume") as consume, \
            mock.patch("multiprocessing.context.SpawnProcess.start") as start:
        with pytest.raises(ConfigurationError, match="demo-"):
            run_all(config)
    consume.assert_not_called()
    start.assert_not_called()
