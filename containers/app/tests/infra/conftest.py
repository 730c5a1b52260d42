"""Fixtures of the deployment checks: the repository and its Compose files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from .support import ROOT, load_yaml


@pytest.fixture(scope="session")
def root() -> Path:
    """Give the repository's root."""
    return ROOT


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    """Give docker-compose.yml, parsed."""
    return load_yaml(ROOT / "docker-compose.yml")


@pytest.fixture(scope="session")
def compose_debug() -> dict[str, Any]:
    """Give the debug override docker-compose.debug.yml, parsed."""
    return load_yaml(ROOT / "docker-compose.debug.yml")


@pytest.fixture(scope="session")
def compose_schema_path() -> Path:
    """Locate the Compose specification's JSON schema (shared/ beside the repository)."""
    path = Path(
        os.environ.get("MYMONIT_COMPOSE_SCHEMA", ROOT.parent / "shared/schemas/compose-spec.json")
    )
    assert path.is_file(), f"the Compose schema is missing at {path} (CI copies shared/ there)"
    return path
