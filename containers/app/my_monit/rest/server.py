"""``mymonit serve``: the REST API on gunicorn, threaded workers, one container per worker."""

from __future__ import annotations

import logging
from typing import Any

from dependency_injector import providers
from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from my_monit.config import Config
from my_monit.container import create_container
from my_monit.logging.configuration import configure_logging
from my_monit.rest.configuration import RestConfiguration
from my_monit.rest.listener import create_app
from my_monit.services.user_cache import UserChanges

log = logging.getLogger(__name__)

# Longer than nginx's upstream keepalive_timeout (60 s by default), so that gunicorn never
# closes a kept-alive connection just as nginx sends a request on it.
KEEPALIVE_SECONDS = 75
# A request that takes longer is stuck (the database pool waits 10 s at most).
TIMEOUT_SECONDS = 60
GRACEFUL_TIMEOUT_SECONDS = 20


class ServerLogger(Logger):
    """Gunicorn's logger, its error log going through the root logger's handlers.

    Gunicorn gives ``gunicorn.error`` a stream handler of its own and stops it from
    propagating, so its lines would miss the masking, the colours and Logstash. Here the
    handler is removed and the records propagate to the handlers ``configure_logging``
    installed, which write each of them once.
    """

    def setup(self, cfg: Any) -> None:
        """Apply gunicorn's settings, then hand the error log over to the root logger."""
        super().setup(cfg)
        for handler in list(self.error_log.handlers):
            if getattr(handler, "_gunicorn", False):
                self.error_log.removeHandler(handler)
        self.error_log.propagate = True


class RestServer(BaseApplication):  # pylint: disable=abstract-method  # init() is for CLI apps
    """Gunicorn, configured from MyMONIT's Config instead of its command line."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self.configuration: RestConfiguration = create_container(config).rest_configuration()
        self.configuration.check()
        # Made before the workers fork, so that they all share it: a user changed through
        # one worker is looked up again by every other one on its next request.
        self._user_changes = UserChanges()
        super().__init__()

    def load_config(self) -> None:
        """Give gunicorn its settings: gthread workers, bind address, hooks."""
        settings: dict[str, Any] = {
            "bind": f"{_bind_host(self.configuration.host)}:{self.configuration.port}",
            "workers": self.configuration.workers,
            "worker_class": "gthread",
            "threads": self.configuration.threads,
            "keepalive": KEEPALIVE_SECONDS,
            "timeout": TIMEOUT_SECONDS,
            "graceful_timeout": GRACEFUL_TIMEOUT_SECONDS,
            "accesslog": None,  # every call has an audit event, and nginx logs access
            "logger_class": ServerLogger,
            "loglevel": self.configuration.log_level.lower(),
            "proc_name": "mymonit-rest",
            "post_fork": self._on_post_fork,
        }
        for key, value in settings.items():
            self.cfg.set(key, value)
        # gunicorn 25.1+ opens a control socket in $HOME by default: a second way to manage
        # the server that nothing here uses, and a path that servers on one host share.
        if "control_socket_disable" in self.cfg.settings:
            self.cfg.set("control_socket_disable", True)

    def load(self) -> Flask:
        """Build the app in a worker: its own container, pool and token verifier."""
        container = create_container(self._config)
        container.user_changes.override(providers.Object(self._user_changes))
        app = create_app(container)
        # Made now, before threads race to make them on the first requests.
        container.authenticator()
        container.audit_log()
        return app

    def _on_post_fork(self, _server: Any, worker: Any) -> None:
        # Handlers made before fork would share their locks and streams with the master.
        configure_logging(self._config)
        log.info("REST worker %s started", worker.pid)


def serve(config: Config) -> int:
    """Serve the REST API until stopped; return the exit status.

    Raises ConfigurationError (the CLI exits non-zero) for settings that would let
    unverified tokens in: the emulator with a project id not starting with ``demo-``.
    """
    server = RestServer(config)
    for warning in server.configuration.warnings():
        log.warning("%s", warning)
    log.info("serving the REST API on %s:%s", config.rest_host, config.rest_port)
    try:
        server.run()
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1
    return 0


def _bind_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
