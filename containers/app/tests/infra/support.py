"""Helpers of the deployment checks: the repository's root, YAML, free ports, tools."""

from __future__ import annotations

import shutil
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[4]


def free_port() -> int:
    """Give a TCP port on the loopback that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def load_yaml(path: Path) -> Any:
    """Read one YAML document, failing with the file's name when it is missing."""
    assert path.is_file(), f"{path.relative_to(ROOT)} is missing"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def required_file(relative: str) -> Path:
    """Give a file of the repository; fail with its name when it is not there (yet)."""
    path = ROOT / relative
    assert path.is_file(), f"{relative} is missing"
    return path


def required_tool(name: str) -> str:
    """Find a program on PATH; fail (never skip) when scripts/test-infra.sh did not install it."""
    found = shutil.which(name)
    assert found, f"{name} is not installed: run the checks through scripts/test-infra.sh"
    return found


def http_status(url: str) -> int:
    """Give the HTTP status a URL answers with, or 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:  # nosec B310 - loopback URLs
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def without_docker(tmp_path: Path) -> Path:
    """Give a folder whose `docker` fails `docker info`, to put first on PATH.

    The scripts then take the path of a machine with no Docker engine, as this one is.
    """
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    docker = fake_bin / "docker"
    docker.write_text(
        "#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n", encoding="utf-8"
    )
    docker.chmod(0o755)
    return fake_bin
