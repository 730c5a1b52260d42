"""``mymonit db upgrade`` reads the schema from DB_SCHEMA_DIR, as the container image sets it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support.database import absent_database, connector, database_environment

from my_monit.cli import main
from my_monit.storage.migrations import DEFAULT_SCHEMA_DIR

pytestmark = pytest.mark.integration


def test_db_upgrade_applies_the_schema_of_db_schema_dir(
    database_config, monkeypatch, tmp_path: Path, capsys
) -> None:
    """A schema directory named by DB_SCHEMA_DIR is applied, its extra version included."""
    for path in DEFAULT_SCHEMA_DIR.glob("*.sql"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "999_schema_dir_probe.sql").write_text(
        "CREATE TABLE IF NOT EXISTS schema_dir_probe (id INT PRIMARY KEY);\n"
        "INSERT IGNORE INTO schema_migrations (version) VALUES ('999');\n",
        encoding="utf-8",
    )
    with absent_database(database_config) as config:
        for variable, value in {
            **database_environment(config),
            "DB_SCHEMA_DIR": str(tmp_path),
            # No Logstash here: the command would give it its flush time before it exits.
            "LOGSTASH_HOST": "",
        }.items():
            monkeypatch.setenv(variable, value)

        assert main(["db", "upgrade"]) == 0

        assert "999" in capsys.readouterr().out
        connection = connector(config).open()
        try:
            cursor = connection.cursor()
            cursor.execute(
                "SELECT COUNT(*) FROM information_schema.tables"
                " WHERE table_schema = %s AND table_name = 'schema_dir_probe'",
                (config.db_database,),
            )
            assert cursor.fetchone()[0] == 1
        finally:
            connection.close()
