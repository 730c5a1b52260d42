"""The ``mymonit`` command: database upgrades, bootstrap, and the servers."""

from __future__ import annotations

import argparse
import logging
import sys
import time
import uuid
from pathlib import Path
from typing import Callable, Sequence

from my_monit.config import Config, ConfigurationError
from my_monit.container import create_container
from my_monit.errors import MyMonitError
from my_monit.logging.audit import FAILURE, SUCCESS, AuditEvent
from my_monit.logging.configuration import configure_logging, flush_logging
from my_monit.model import Role, User

log = logging.getLogger(__name__)

# The audit events of commands say they came from here, not from REST or AMQP.
CLI_SOURCE = "cli"
# How long a command waits, before it exits, for its events to reach Logstash.
FLUSH_SECONDS = 5.0


def _db_upgrade(config: Config, _: argparse.Namespace) -> int:
    # Imported here: the migration code is needed by this command only.
    from my_monit.storage.migrations import upgrade  # pylint: disable=import-outside-toplevel

    container = create_container(config)
    # Unset, the schema is read from the checkout; the container image sets DB_SCHEMA_DIR.
    if config.db_schema_dir:
        applied = upgrade(container.storage_connector(), Path(config.db_schema_dir))
    else:
        applied = upgrade(container.storage_connector())
    print(f"applied schema versions: {', '.join(applied)}" if applied else "schema is up to date")
    return 0


def _create_admin(config: Config, args: argparse.Namespace) -> int:
    container = create_container(config)
    started_ns = time.perf_counter_ns()
    outcome = FAILURE
    try:
        user = User(args.user_id, args.name, args.username, args.email, Role.ADMIN)
        container.user_service().create_admin(user)
        outcome = SUCCESS
    finally:
        # No MyMONIT user signs in here: the actor is whoever runs the command.
        container.audit_log().record(
            AuditEvent(
                action="user.create_admin",
                outcome=outcome,
                source=CLI_SOURCE,
                request_id=uuid.uuid4().hex,
                object_type="user",
                object_id=args.user_id,
                event_types=("creation",),
                duration_ns=time.perf_counter_ns() - started_ns,
            )
        )
    print(f"created administrator {user.user_id}")
    return 0


def _serve(config: Config, _: argparse.Namespace) -> int:
    from my_monit.rest.server import serve  # pylint: disable=import-outside-toplevel

    return serve(config)


def _consume(config: Config, _: argparse.Namespace) -> int:
    from my_monit.messaging.runner import consume  # pylint: disable=import-outside-toplevel

    return consume(config)


def _run(config: Config, _: argparse.Namespace) -> int:
    from my_monit.runner import run_all  # pylint: disable=import-outside-toplevel

    return run_all(config)


def _docs(_: Config, args: argparse.Namespace) -> int:
    from my_monit.rest.api_reference import (  # pylint: disable=import-outside-toplevel
        write_reference,
    )

    if write_reference(Path(args.output), check=args.check):
        print(f"{args.output} is up to date" if args.check else f"wrote {args.output}")
        return 0
    print(f"{args.output} is out of date: run 'mymonit docs'", file=sys.stderr)
    return 1


def build_parser() -> argparse.ArgumentParser:
    """Describe the commands and their arguments."""
    parser = argparse.ArgumentParser(prog="mymonit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", required=True
    )
    db.add_parser("upgrade", help="create the database if missing and apply the schema")
    db.choices["upgrade"].set_defaults(handler=_db_upgrade)

    users = commands.add_parser("users", help="user administration").add_subparsers(
        dest="users_command", required=True
    )
    admin = users.add_parser("create-admin", help="create an administrator without a token")
    admin.add_argument("--user-id", required=True, help="staff id (1-30 letters, digits, - or _)")
    admin.add_argument("--name", required=True)
    admin.add_argument("--email", required=True)
    admin.add_argument("--username", required=True, help="the administrator's Firebase uid")
    admin.set_defaults(handler=_create_admin)

    commands.add_parser("serve", help="serve the REST API").set_defaults(handler=_serve)
    docs = commands.add_parser("docs", help="write docs/api.html from the OpenAPI document")
    docs.add_argument("--output", default="docs/api.html", help="where to write the page")
    docs.add_argument("--check", action="store_true", help="only check that it is up to date")
    docs.set_defaults(handler=_docs)
    commands.add_parser("consume", help="consume measures from AMQP").set_defaults(
        handler=_consume
    )
    commands.add_parser("run", help="serve the REST API and consume measures").set_defaults(
        handler=_run
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; exit non-zero with a one-line message when it fails."""
    args = build_parser().parse_args(argv)
    handler: Callable[[Config, argparse.Namespace], int] = args.handler
    try:
        config = Config.from_env()
        configure_logging(config)
        return handler(config, args)
    except (ConfigurationError, MyMonitError) as error:
        print(f"mymonit: {error}", file=sys.stderr)
        return 1
    finally:
        # Bounded: a command exits in time even when Logstash is away.
        flush_logging(FLUSH_SECONDS)


if __name__ == "__main__":
    sys.exit(main())
