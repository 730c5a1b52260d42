"""Every query MyMONIT runs: parameterised, bounded, one pooled connection per call."""

from __future__ import annotations

import contextlib
import logging
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator, NamedTuple, Sequence

from mysql.connector import errors as mysql_errors

from my_monit.errors import Conflict, InvalidArgument, NotFound, Unavailable
from my_monit.model import Experiment, MeasureType, Role, User
from my_monit.storage.connector import CONNECTION_ERRORS, StorageConnector, is_transient

log = logging.getLogger(__name__)

DUPLICATE_KEY = 1062
MISSING_PARENT = 1452
_KEY_NAME = re.compile(r"for key '(?:[^'.]*\.)?([^']+)'")
# Unique key -> (entity, field) for Conflict errors; the driver's message holds the value,
# which may be personal data, so only the key's name is read from it.
_UNIQUE_KEYS = {
    "PRIMARY": None,
    "users_username_unique": ("user", "username"),
    "users_email_unique": ("user", "email"),
    "users_email_lower_unique": ("user", "email"),
    "experiments_name_unique": ("experiment", "name"),
    "measure_types_name_unique": ("measure_type", "name"),
}
INSERT_CHUNK = 5000

SELECT_USER = """
    SELECT u.user_id, u.name, u.username, u.email, r.name, u.erased_at
    FROM users u JOIN roles r ON r.role_id = u.role_id WHERE u.user_id = %s"""
SELECT_USER_BY_USERNAME = """
    SELECT u.user_id, u.name, u.username, u.email, r.name, u.erased_at
    FROM users u JOIN roles r ON r.role_id = u.role_id WHERE u.username = %s"""
SELECT_USERS = """
    SELECT u.user_id, u.name, u.username, u.email, r.name, u.erased_at
    FROM users u JOIN roles r ON r.role_id = u.role_id
    WHERE u.erased_at IS NULL AND u.user_id > %s
    ORDER BY u.user_id LIMIT %s"""
INSERT_USER = """
    INSERT INTO users (user_id, name, username, email, role_id)
    SELECT %s, %s, %s, %s, role_id FROM roles WHERE name = %s"""
UPDATE_USER = """
    UPDATE users u JOIN roles r ON r.name = %s
    SET u.name = %s, u.username = %s, u.email = %s, u.role_id = r.role_id
    WHERE u.user_id = %s AND u.erased_at IS NULL"""
ERASE_USER = """
    UPDATE users SET name = NULL, username = NULL, email = NULL,
        erased_at = UTC_TIMESTAMP(6)
    WHERE user_id = %s AND erased_at IS NULL"""
DELETE_USER_ASSOCIATIONS = "DELETE FROM scientists_experiments WHERE user_id = %s"

SELECT_EXPERIMENT = "SELECT experiment_id, name FROM experiments WHERE experiment_id = %s"
SELECT_EXPERIMENTS = """
    SELECT experiment_id, name FROM experiments
    WHERE experiment_id > %s ORDER BY experiment_id LIMIT %s"""
SELECT_USER_EXPERIMENTS = """
    SELECT e.experiment_id, e.name FROM experiments e
    JOIN scientists_experiments se ON se.experiment_id = e.experiment_id
    WHERE se.user_id = %s AND e.experiment_id > %s
    ORDER BY e.experiment_id LIMIT %s"""
SELECT_EXPERIMENT_IDS = "SELECT name, experiment_id FROM experiments"
INSERT_EXPERIMENT = "INSERT INTO experiments (name) VALUES (%s)"
UPDATE_EXPERIMENT = "UPDATE experiments SET name = %s WHERE experiment_id = %s"

SELECT_ASSOCIATED = """
    SELECT 1 FROM scientists_experiments WHERE experiment_id = %s AND user_id = %s"""
# The associations of the first ``limit`` associated experiments after ``after``.
SELECT_ASSOCIATIONS = """
    SELECT se.experiment_id, u.user_id, u.name, u.username, u.email, r.name, u.erased_at
    FROM (SELECT DISTINCT experiment_id FROM scientists_experiments
          WHERE experiment_id > %s ORDER BY experiment_id LIMIT %s) page
    JOIN scientists_experiments se ON se.experiment_id = page.experiment_id
    JOIN users u ON u.user_id = se.user_id JOIN roles r ON r.role_id = u.role_id
    ORDER BY se.experiment_id, u.user_id"""
INSERT_ASSOCIATION = "INSERT INTO scientists_experiments (experiment_id, user_id) VALUES (%s, %s)"
DELETE_ASSOCIATION = "DELETE FROM scientists_experiments WHERE experiment_id = %s AND user_id = %s"

SELECT_MEASURE_TYPES = """
    SELECT name, symbol, quantity FROM measure_types WHERE name > %s ORDER BY name LIMIT %s"""
SELECT_MEASURE_TYPE_IDS = "SELECT name, measure_type_id FROM measure_types"
INSERT_MEASURE_TYPE = "INSERT INTO measure_types (name, symbol, quantity) VALUES (%s, %s, %s)"

# The association test is part of the query, so a scientist can never read measures of an
# experiment they are not associated with, whatever the caller checked before.
_SELECT_MEASURES = """
    SELECT m.measure_id, e.name, t.name, m.taken_at, m.value
    FROM measures m
    JOIN experiments e ON e.experiment_id = m.experiment_id
    JOIN measure_types t ON t.measure_type_id = m.measure_type_id
    WHERE m.experiment_id = %(experiment_id)s
      AND (%(see_all)s OR EXISTS (
          SELECT 1 FROM scientists_experiments se
          WHERE se.experiment_id = m.experiment_id AND se.user_id = %(actor)s))"""
_MEASURES_SINCE = " AND m.taken_at >= %(since)s"
_MEASURES_UNTIL = " AND m.taken_at <= %(until)s"
_MEASURES_TYPE = " AND t.name = %(measure_type)s"
_MEASURES_BEFORE = """
      AND (m.taken_at < %(before_time)s
           OR (m.taken_at = %(before_time)s AND m.measure_id < %(before_id)s))"""
_MEASURES_ORDER = " ORDER BY m.taken_at DESC, m.measure_id DESC LIMIT %(limit)s"

INSERT_MEASURES = """
    INSERT INTO measures (experiment_id, measure_type_id, taken_at, value)
    VALUES (%s, %s, %s, %s)"""
INSERT_MEASURES_HEAD = (
    "INSERT INTO measures (experiment_id, measure_type_id, taken_at, value) VALUES "
)
_TIME_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?")
INSERT_CONSUMED = "INSERT INTO consumed_messages (message_id) VALUES (%s)"
DELETE_CONSUMED_BEFORE = """
    DELETE FROM consumed_messages WHERE consumed_at < NOW(6) - INTERVAL %s SECOND LIMIT %s"""


class MeasureRow(NamedTuple):
    """A measure as read back: its id (for pagination) and its values."""

    measure_id: int
    experiment: str
    measure_type: str
    timestamp: datetime
    value: float


class MeasureCursor(NamedTuple):
    """Where a page of measures ended: the last row's time and id."""

    timestamp: datetime
    measure_id: int


@dataclass(frozen=True)
class MeasureQuery:  # pylint: disable=too-many-instance-attributes  # one field per filter
    """Which measures to read, for whom, and how many."""

    experiment_id: int
    actor_id: str
    see_all: bool
    limit: int
    since: datetime | None = None
    until: datetime | None = None
    measure_type: str | None = None
    before: MeasureCursor | None = None


class Storage:  # pylint: disable=too-many-public-methods  # one method per query
    """MyMONIT's queries; every method takes its own pooled connection."""

    def __init__(self, storage_connector: StorageConnector) -> None:
        self._connector = storage_connector

    @contextlib.contextmanager
    def _transaction(
        self, primary: tuple[str, str] = ("object", "id"), read_only: bool = False
    ) -> Iterator[Any]:
        """Run a block in a transaction; ``primary`` names what a duplicate primary key is.

        ``read_only``: the block runs one SELECT, which needs no transaction of its own.
        """
        lend = self._connector.reading if read_only else self._connector.transaction
        try:
            with lend() as cursor:
                yield cursor
        except CONNECTION_ERRORS as error:
            raise Unavailable("database", None, f"MySQL error {error.errno}") from error
        except mysql_errors.IntegrityError as error:
            raise _integrity_error(error, primary) from error
        except mysql_errors.Error as error:
            if is_transient(error):
                raise Unavailable("database", None, f"MySQL error {error.errno}") from error
            raise

    def ping(self) -> None:
        """Raise Unavailable unless the database answers."""
        self._connector.ping()

    # users

    def get_user(self, user_id: str) -> User | None:
        """Find a user by staff id, erased ones included."""
        return self._one_user(SELECT_USER, user_id)

    def get_user_by_username(self, username: str) -> User | None:
        """Find a user by Firebase uid."""
        return self._one_user(SELECT_USER_BY_USERNAME, username)

    def list_users(self, after: str, limit: int) -> list[User]:
        """List users who are not erased, by staff id, after ``after``."""
        with self._transaction(read_only=True) as cursor:
            cursor.execute(SELECT_USERS, (after, limit))
            return [_user(row) for row in cursor.fetchall()]

    def insert_user(self, user: User) -> None:
        """Store a new user; Conflict if its staff id, username or email is taken."""
        with self._transaction(primary=("user", "user_id")) as cursor:
            cursor.execute(
                INSERT_USER,
                (user.user_id, user.name, user.username, user.email, user.role.value),
            )

    def update_user(self, user: User) -> None:
        """Overwrite a user's fields; NotFound if it is missing or erased."""
        with self._transaction() as cursor:
            cursor.execute(
                UPDATE_USER,
                (user.role.value, user.name, user.username, user.email, user.user_id),
            )
            if cursor.rowcount == 0 and self._missing(cursor, SELECT_USER, user.user_id):
                raise NotFound("user", user.user_id)

    def erase_user(self, user_id: str) -> None:
        """Remove a user's personal data and associations for good, keeping the staff id."""
        with self._transaction() as cursor:
            cursor.execute(ERASE_USER, (user_id,))
            if cursor.rowcount == 0:
                raise NotFound("user", user_id)
            cursor.execute(DELETE_USER_ASSOCIATIONS, (user_id,))

    def _one_user(self, query: str, key: str) -> User | None:
        with self._transaction(read_only=True) as cursor:
            cursor.execute(query, (key,))
            row = cursor.fetchone()
        return None if row is None else _user(row)

    # experiments

    def get_experiment(self, experiment_id: int) -> Experiment | None:
        """Find an experiment by id."""
        with self._transaction(read_only=True) as cursor:
            cursor.execute(SELECT_EXPERIMENT, (experiment_id,))
            row = cursor.fetchone()
        return None if row is None else Experiment(row[0], row[1])

    def list_experiments(self, after: int, limit: int) -> list[Experiment]:
        """List experiments by id, after ``after``."""
        with self._transaction(read_only=True) as cursor:
            cursor.execute(SELECT_EXPERIMENTS, (after, limit))
            return [Experiment(*row) for row in cursor.fetchall()]

    def list_user_experiments(self, user_id: str, after: int, limit: int) -> list[Experiment]:
        """List the experiments a scientist is associated with, by id."""
        with self._transaction(read_only=True) as cursor:
            cursor.execute(SELECT_USER_EXPERIMENTS, (user_id, after, limit))
            return [Experiment(*row) for row in cursor.fetchall()]

    def insert_experiment(self, experiment: Experiment) -> Experiment:
        """Store a new experiment and return it with its id; Conflict if the name is taken."""
        with self._transaction() as cursor:
            cursor.execute(INSERT_EXPERIMENT, (experiment.name,))
            return Experiment(cursor.lastrowid, experiment.name)

    def update_experiment(self, experiment: Experiment) -> None:
        """Rename an experiment; NotFound if missing, Conflict if the name is taken."""
        with self._transaction() as cursor:
            cursor.execute(UPDATE_EXPERIMENT, (experiment.name, experiment.experiment_id))
            if cursor.rowcount == 0 and self._missing(
                cursor, SELECT_EXPERIMENT, experiment.experiment_id
            ):
                raise NotFound("experiment", experiment.experiment_id)

    def experiment_ids(self) -> dict[str, int]:
        """Map every experiment name to its id."""
        with self._transaction(read_only=True) as cursor:
            cursor.execute(SELECT_EXPERIMENT_IDS)
            return dict(cursor.fetchall())

    # associations

    def is_associated(self, experiment_id: int, user_id: str) -> bool:
        """Tell whether a scientist is associated with an experiment."""
        with self._transaction(read_only=True) as cursor:
            cursor.execute(SELECT_ASSOCIATED, (experiment_id, user_id))
            return cursor.fetchone() is not None

    def list_associations(self, after: int, limit: int) -> list[tuple[int, User]]:
        """List (experiment id, user) pairs of ``limit`` experiments after ``after``, in order."""
        with self._transaction(read_only=True) as cursor:
            cursor.execute(SELECT_ASSOCIATIONS, (after, limit))
            return [(row[0], _user(row[1:])) for row in cursor.fetchall()]

    def insert_association(self, experiment_id: int, user_id: str) -> None:
        """Associate a scientist with an experiment; Conflict if already associated."""
        with self._transaction(primary=("association", "scientist_id")) as cursor:
            cursor.execute(INSERT_ASSOCIATION, (experiment_id, user_id))

    def delete_association(self, experiment_id: int, user_id: str) -> None:
        """Remove an association; NotFound if there is none."""
        with self._transaction() as cursor:
            cursor.execute(DELETE_ASSOCIATION, (experiment_id, user_id))
            if cursor.rowcount == 0:
                raise NotFound("association", f"{experiment_id}/{user_id}")

    # measure types

    def list_measure_types(self, after: str, limit: int) -> list[MeasureType]:
        """List measure types by name, after ``after``."""
        with self._transaction(read_only=True) as cursor:
            cursor.execute(SELECT_MEASURE_TYPES, (after, limit))
            return [MeasureType(*row) for row in cursor.fetchall()]

    def insert_measure_type(self, measure_type: MeasureType) -> None:
        """Store a new measure type; Conflict if the name is taken."""
        with self._transaction() as cursor:
            cursor.execute(
                INSERT_MEASURE_TYPE,
                (measure_type.name, measure_type.symbol, measure_type.quantity),
            )

    def measure_type_ids(self) -> dict[str, int]:
        """Map every measure type name to its id."""
        with self._transaction(read_only=True) as cursor:
            cursor.execute(SELECT_MEASURE_TYPE_IDS)
            return dict(cursor.fetchall())

    # measures

    def list_measures(self, query: MeasureQuery) -> list[MeasureRow]:
        """Read measures newest first, within the query's filters and limit."""
        sql = _SELECT_MEASURES
        parameters: dict[str, Any] = {
            "experiment_id": query.experiment_id,
            "see_all": query.see_all,
            "actor": query.actor_id,
            "limit": query.limit,
        }
        if query.since is not None:
            sql += _MEASURES_SINCE
            parameters["since"] = _naive_utc(query.since)
        if query.until is not None:
            sql += _MEASURES_UNTIL
            parameters["until"] = _naive_utc(query.until)
        if query.measure_type is not None:
            sql += _MEASURES_TYPE
            parameters["measure_type"] = query.measure_type
        if query.before is not None:
            sql += _MEASURES_BEFORE
            parameters["before_time"] = _naive_utc(query.before.timestamp)
            parameters["before_id"] = query.before.measure_id
        with self._transaction(read_only=True) as cursor:
            cursor.execute(sql + _MEASURES_ORDER, parameters)
            return [MeasureRow(*row) for row in cursor.fetchall()]

    def insert_measures(
        self,
        rows: Sequence[tuple[int, int, datetime | str, float]],
        message_ids: Sequence[str] = (),
    ) -> None:
        """Store measure rows and consumed message ids in one transaction.

        Each row is (experiment id, measure type id, UTC time, value). Conflict if a
        message id was consumed before (by another consumer meanwhile): nothing is stored.
        """
        with self._transaction(primary=("message", "message_id")) as cursor:
            if message_ids:
                cursor.executemany(INSERT_CONSUMED, [(_id_bytes(mid),) for mid in message_ids])
            for start in range(0, len(rows), INSERT_CHUNK):
                values = _measure_values(rows[start : start + INSERT_CHUNK])
                # Only integers, finite floats and checked times are in ``values``.
                cursor.execute(INSERT_MEASURES_HEAD + values)  # nosec B608

    def prune_consumed(self, older_than_seconds: int, limit: int) -> int:
        """Delete up to ``limit`` consumed message ids older than that; give how many went."""
        with self._transaction() as cursor:
            cursor.execute(DELETE_CONSUMED_BEFORE, (older_than_seconds, limit))
            return int(cursor.rowcount)

    def consumed(self, message_ids: Sequence[str]) -> set[str]:
        """Tell which of these message ids were already stored."""
        if not message_ids:
            return set()
        # Only "%s" placeholders are joined into the query; the ids travel as parameters.
        marks = ", ".join(["%s"] * len(message_ids))
        query = (
            "SELECT message_id FROM consumed_messages "  # nosec B608
            f"WHERE message_id IN ({marks})"
        )
        with self._transaction(read_only=True) as cursor:
            cursor.execute(query, tuple(_id_bytes(mid) for mid in message_ids))
            return {_id_text(row[0]) for row in cursor.fetchall()}

    @staticmethod
    def _missing(cursor: Any, query: str, key: object) -> bool:
        cursor.execute(query, (key,))
        return cursor.fetchone() is None


def _id_bytes(message_id: str) -> bytes:
    """Give a message id as the bytes the broker carried (``_id_text`` in reverse)."""
    return message_id.encode("utf-8", "surrogateescape")


def _id_text(stored: bytes | bytearray | str) -> str:
    """Read a stored message id back as text; bytes that are not UTF-8 stay distinct."""
    if isinstance(stored, str):
        return stored
    return bytes(stored).decode("utf-8", "surrogateescape")


def _user(row: Sequence[Any]) -> User:
    user_id, name, username, email, role, erased_at = row
    return User(user_id, name, username, email, Role(role), erased=erased_at is not None)


def _measure_values(rows: Sequence[tuple[int, int, datetime | str, float]]) -> str:
    """Write rows as the VALUES list of a multi-row INSERT.

    The driver's executemany does the same with a regular expression per row; writing
    the list here makes bulk inserts about a third faster (see the ingest benchmark).
    Ids must be integers (the ``d`` format refuses anything else), values finite numbers,
    and times datetimes or ``YYYY-MM-DD HH:MM:SS[.ffffff]`` text: nothing else gets in.
    """
    values = []
    for experiment_id, measure_type_id, taken_at, value in rows:
        # pylint: disable-next=unidiomatic-typecheck  # the exact type is the fast path
        if type(taken_at) is not datetime or taken_at.tzinfo is not None:
            taken_at = _time_text(taken_at)
        number = float(value)
        if not math.isfinite(number):
            raise InvalidArgument("measure", "value", "must be a finite number")
        values.append(f"({experiment_id:d},{measure_type_id:d},'{taken_at}',{number!r})")
    return ",".join(values)


def _time_text(taken_at: datetime | str) -> str:
    if isinstance(taken_at, datetime):
        return str(_naive_utc(taken_at))
    if not isinstance(taken_at, str) or not _TIME_TEXT.fullmatch(taken_at):
        raise InvalidArgument("measure", "timestamp", "must be a UTC date and time")
    return taken_at


def _naive_utc(value: datetime) -> datetime:
    return value if value.tzinfo is None else value.astimezone(timezone.utc).replace(tzinfo=None)


def _integrity_error(error: mysql_errors.IntegrityError, primary: tuple[str, str]) -> Exception:
    if error.errno == MISSING_PARENT:
        return NotFound("referenced object")
    if error.errno != DUPLICATE_KEY:
        return Conflict("data", None, f"MySQL error {error.errno}")
    match = _KEY_NAME.search(str(error.msg))
    key = match.group(1) if match else ""
    entity, field = _UNIQUE_KEYS.get(key) or primary
    return Conflict(entity, field, "is already taken")
