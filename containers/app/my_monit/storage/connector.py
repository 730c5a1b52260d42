"""A bounded pool of MySQL connections, one per request or batch, never shared by threads."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import mysql.connector
from mysql.connector import errors as mysql_errors

from my_monit.errors import Unavailable

log = logging.getLogger(__name__)

# Errors after which a connection cannot be trusted again: it is closed, not pooled.
CONNECTION_ERRORS = (mysql_errors.OperationalError, mysql_errors.InterfaceError)
# Server errors that pass, or that an operator clears without touching the data, so the
# work is tried again later instead of being blamed on what it carried: deadlock and lock
# wait (1213, 1205), a killed query or connection (1317, 1927), a server shutting down
# (1053), read-only (1290, 1792, 1836), disk or table full (1021, 1114), too many
# connections (1040), a Galera node out of its cluster (1047), and a schema not yet
# upgraded (1146 missing table, 1054 unknown column).
TRANSIENT_ERRNOS = frozenset(
    {1021, 1040, 1047, 1053, 1054, 1114, 1146, 1205, 1213, 1290, 1317, 1792, 1836, 1927}
)
# A connection idle for longer than this is pinged before use (the server may have
# closed it: wait_timeout, a restart, a proxy).
IDLE_CHECK_SECONDS = 1.0


def is_transient(error: mysql_errors.Error) -> bool:
    """Tell whether the database is away or busy, rather than refusing this very data."""
    return isinstance(error, CONNECTION_ERRORS) or error.errno in TRANSIENT_ERRNOS


@dataclass(frozen=True)
class StorageConfiguration:  # pylint: disable=too-many-instance-attributes  # driver settings
    """Where the database is and how many connections the pool may hold."""

    host: str = "localhost"
    port: int = 3306
    user: str = "root"
    password: str = field(default="password", repr=False)
    database: str = "my_monit"
    pool_size: int = 16
    connect_timeout: int = 5
    checkout_timeout: float = 10.0

    def connect_arguments(self, with_database: bool = True) -> dict[str, Any]:
        """Give the keyword arguments of ``mysql.connector.connect``."""
        arguments: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "connection_timeout": self.connect_timeout,
            "charset": "utf8mb4",
            "collation": "utf8mb4_bin",
            "time_zone": "+00:00",
            # Each lone statement commits by itself: a read is one round trip, with no
            # COMMIT after it. Units of work that write open a transaction explicitly.
            "autocommit": True,
            # Rows a unit of work left unread (a fetchone) are read off before the next
            # statement on the connection, instead of failing it.
            "consume_results": True,
        }
        if self.password:
            arguments["password"] = self.password
        if with_database:
            arguments["database"] = self.database
        return arguments


@dataclass
class _Pooled:
    """A pooled connection, its one cursor, and whether a transaction may be open on it."""

    connection: Any
    returned_at: float
    cursor: Any = None
    settled: bool = False

    def take_cursor(self) -> Any:
        """Give the connection's cursor, made on first use and kept with it.

        The driver pings the server for every new cursor: one round trip more on every
        unit of work, a third of a short request's database time.
        """
        if self.cursor is None:
            self.cursor = self.connection.cursor()
        return self.cursor


class StorageConnector:
    """Lend connections from a bounded pool; a broken connection is replaced, not reused."""

    def __init__(self, configuration: StorageConfiguration) -> None:
        self.configuration = configuration
        self._idle: queue.LifoQueue[_Pooled] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(configuration.pool_size)

    def open(self, with_database: bool = True) -> Any:
        """Open a new connection outside the pool (for upgrades and checks)."""
        try:
            return mysql.connector.connect(**self.configuration.connect_arguments(with_database))
        except mysql_errors.Error as error:
            raise Unavailable("database", self.configuration.host, _reason(error)) from error

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        """Lend a cursor inside a transaction that commits when the block ends normally."""
        # Used only through ``with``, which always closes the generator and the connection.
        # pylint: disable-next=contextmanager-generator-missing-cleanup
        with self._lend() as pooled:
            cursor = pooled.take_cursor()
            pooled.connection.start_transaction()
            yield cursor
            pooled.connection.commit()
            # Committed: nothing is left to roll back when the connection goes back.
            pooled.settled = True

    @contextlib.contextmanager
    def reading(self) -> Iterator[Any]:
        """Lend a cursor for one read-only statement, which commits by itself."""
        # pylint: disable-next=contextmanager-generator-missing-cleanup  # as transaction()
        with self._lend() as pooled:
            cursor = pooled.take_cursor()
            yield cursor
            pooled.settled = True

    @contextlib.contextmanager
    def _lend(self) -> Iterator[_Pooled]:
        if not self._slots.acquire(timeout=self.configuration.checkout_timeout):
            raise Unavailable("database", "pool", "no connection free in time")
        try:
            pooled = self._checkout()
            pooled.settled = False
            try:
                yield pooled
            except CONNECTION_ERRORS:
                _close_quietly(pooled.connection)
                raise
            except BaseException:
                pooled.settled = False
                self._rollback_or_close(pooled)
                raise
            self._rollback_or_close(pooled)
        finally:
            self._slots.release()

    def ping(self) -> None:
        """Raise Unavailable unless the database answers a query."""
        try:
            with self.reading() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchall()
        except mysql_errors.Error as error:
            if not is_transient(error):
                raise
            raise Unavailable("database", self.configuration.host, _reason(error)) from error

    def close(self) -> None:
        """Close every idle connection."""
        while True:
            try:
                _close_quietly(self._idle.get_nowait().connection)
            except queue.Empty:
                return

    def _checkout(self) -> _Pooled:
        while True:
            try:
                pooled = self._idle.get_nowait()
            except queue.Empty:
                return _Pooled(self.open(), time.monotonic())
            if time.monotonic() - pooled.returned_at < IDLE_CHECK_SECONDS:
                return pooled
            if _alive(pooled.connection):
                return pooled
            log.warning("dropped a database connection that no longer answered")
            _close_quietly(pooled.connection)

    def _rollback_or_close(self, pooled: _Pooled) -> None:
        try:
            if not pooled.settled:
                pooled.connection.rollback()
        except mysql_errors.Error:
            _close_quietly(pooled.connection)
            return
        pooled.returned_at = time.monotonic()
        self._idle.put(pooled)


def _alive(connection: Any) -> bool:
    try:
        connection.ping(reconnect=False)
    except mysql_errors.Error:
        return False
    return True


def _close_quietly(connection: Any) -> None:
    try:
        connection.close()
    except mysql_errors.Error:
        log.debug("closing a broken database connection failed", exc_info=True)


def _reason(error: mysql_errors.Error) -> str:
    return f"MySQL error {getattr(error, 'errno', None) or 'unknown'}"
