"""Schema upgrades from the numbered SQL files of ``containers/mysql``."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from mysql.connector import errors as mysql_errors

from my_monit.errors import InvalidArgument
from my_monit.storage.connector import StorageConnector

log = logging.getLogger(__name__)

# In a checkout, the schema sits beside the app; the container image sets DB_SCHEMA_DIR.
DEFAULT_SCHEMA_DIR = Path(__file__).resolve().parents[3] / "mysql"
_FILE_NAME = re.compile(r"(\d{3})_[a-z0-9_]+\.sql")
_DATABASE_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")
_TABLE_EXISTS = """
    SELECT COUNT(*) FROM information_schema.tables
    WHERE table_schema = DATABASE() AND table_name = 'schema_migrations'"""


def schema_files(schema_dir: Path) -> list[tuple[str, Path]]:
    """List (version, file) pairs of the schema directory, in order."""
    found = []
    for path in sorted(schema_dir.iterdir()):
        match = _FILE_NAME.fullmatch(path.name)
        if match:
            found.append((match.group(1), path))
    if not found:
        raise InvalidArgument("schema directory", str(schema_dir), "holds no NNN_name.sql file")
    return found


def statements(sql: str) -> list[str]:
    """Split a schema file into statements (one per ``;`` at the end of a line)."""
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    parts = re.split(r";\s*$", "\n".join(lines), flags=re.MULTILINE)
    return [part.strip() for part in parts if part.strip()]


def upgrade(connector: StorageConnector, schema_dir: Path = DEFAULT_SCHEMA_DIR) -> list[str]:
    """Create the database if missing and apply the schema files not yet applied.

    Return the versions applied now; an up-to-date database gives an empty list.
    """
    database = connector.configuration.database
    if not _DATABASE_NAME.fullmatch(database):
        raise InvalidArgument("database", "name", "must be 1-64 letters, digits or '_'")
    _create_database(connector, database)
    connection = connector.open()
    try:
        cursor = connection.cursor()
        applied = _applied_versions(cursor)
        done = []
        for version, path in schema_files(schema_dir):
            if version in applied:
                continue
            log.info("applying schema version %s", version)
            for statement in statements(path.read_text(encoding="utf-8")):
                cursor.execute(statement)
            connection.commit()
            done.append(version)
        return done
    finally:
        connection.close()


def _create_database(connector: StorageConnector, database: str) -> None:
    connection = connector.open(with_database=False)
    try:
        cursor = connection.cursor()
        # Identifiers cannot be parameters; the name was checked against _DATABASE_NAME.
        cursor.execute(
            f"CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        )
        connection.commit()
    finally:
        connection.close()


def _applied_versions(cursor) -> set[str]:
    cursor.execute(_TABLE_EXISTS)
    if cursor.fetchone()[0] == 0:
        return set()
    try:
        cursor.execute("SELECT version FROM schema_migrations")
    except mysql_errors.ProgrammingError:
        return set()
    return {row[0] for row in cursor.fetchall()}
