"""``mymonit run``: the REST API and the AMQP consumer together, as one app container runs them.

The REST API (gunicorn, with its own worker processes) runs in a child process; the
consumer runs in this one. SIGTERM stops both. If the REST API dies, the consumer is
stopped too and the exit code is non-zero, so that the container is restarted whole.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import threading

from my_monit.config import Config
from my_monit.container import create_container
from my_monit.messaging.runner import consume

log = logging.getLogger(__name__)

REST_STOP_SECONDS = 30.0


def _serve_rest(config: Config) -> None:
    # Imported in the child: it is a fresh interpreter (spawned, not forked, so that no
    # lock or connection of the parent is copied half-used).
    # pylint: disable=import-outside-toplevel
    from my_monit.logging.configuration import configure_logging
    from my_monit.rest.server import serve

    configure_logging(config)
    sys.exit(serve(config))


def run_all(config: Config) -> int:
    """Serve REST in a child process and consume here, until SIGTERM; give the exit code.

    Raises ConfigurationError, before anything starts, for sign-in settings that the
    REST API would refuse (the consumer would otherwise run on, alone, for a moment).
    """
    create_container(config).rest_configuration().check()
    rest = multiprocessing.get_context("spawn").Process(
        target=_serve_rest, args=(config,), name="mymonit-rest"
    )
    rest.start()
    log.info("REST API started in process %s", rest.pid)
    stopping = threading.Event()
    rest_exited = threading.Event()

    # The one thread that waits for the child: two threads joining one process race for
    # its exit status. A REST API that dies on its own stops the consumer, through its
    # SIGTERM handler.
    def watch_rest() -> None:
        rest.join()
        rest_exited.set()
        if not stopping.is_set():
            log.error("the REST API exited with code %s; stopping the consumer", rest.exitcode)
            os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch_rest, name="rest-watch", daemon=True).start()
    try:
        code = consume(config)
    finally:
        stopping.set()
        _stop_rest(rest, rest_exited)
    if rest.exitcode not in (0, -signal.SIGTERM):
        return code or 1
    return code


def _stop_rest(rest: multiprocessing.process.BaseProcess, exited: threading.Event) -> None:
    if not exited.is_set():
        log.info("stopping the REST API")
        rest.terminate()
    if not exited.wait(REST_STOP_SECONDS):
        log.warning("the REST API did not stop in %.0f s; killing it", REST_STOP_SECONDS)
        rest.kill()
        exited.wait()
