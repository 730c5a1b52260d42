"""Dockerfiles pass hadolint, scripts pass shellcheck, nginx accepts the project's nginx.conf."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from .support import ROOT, required_file, required_tool

IMAGES = ("containers/app/Dockerfile", "containers/nginx/Dockerfile")
# Scripts that must be among the tracked ones (a guard against an empty listing).
SCRIPTS = (
    "run.sh",
    "run-infra.sh",
    "run-tests.sh",
    "scripts/services.sh",
    "scripts/test-infra.sh",
    "scripts/test-e2e.sh",
    "containers/rabbitmq/entrypoint.sh",
    "containers/rabbitmq/render-definitions.sh",
    "containers/elasticsearch/setup.sh",
    "containers/kibana/load-saved-objects.sh",
    "containers/nginx/certificate-entrypoint.sh",
    "containers/nginx/gen-cert.sh",
    "containers/nginx/log-entrypoint.sh",
)
SKIPPED_DIRECTORIES = {".git", ".venv", "node_modules"}


def _shell_scripts() -> list[str]:
    """List every tracked *.sh file, but those of installed packages."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--", "*.sh"], cwd=ROOT,
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.split("\0")
    return sorted(
        name for name in listed
        if name and not SKIPPED_DIRECTORIES & set(Path(name).parts)
    )


def _dockerfiles() -> list[Path]:
    return sorted(
        path
        for path in ROOT.rglob("Dockerfile*")
        if path.is_file()
        and not path.name.endswith(".dockerignore")
        and not SKIPPED_DIRECTORIES & set(path.relative_to(ROOT).parts)
    )


def test_every_image_of_the_stack_has_a_dockerfile() -> None:
    """The app and nginx images are built from Dockerfiles in the repository."""
    found = {str(path.relative_to(ROOT)) for path in _dockerfiles()}
    assert set(IMAGES) <= found, found


@pytest.mark.parametrize(
    "dockerfile", _dockerfiles(), ids=lambda path: str(path.relative_to(ROOT))
)
def test_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    """hadolint finds nothing at its default threshold (every ignore names its reason)."""
    hadolint = required_tool("hadolint")
    result = subprocess.run(
        [hadolint, "--no-color", str(dockerfile)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_app_image_runs_as_an_unprivileged_user_with_a_healthcheck() -> None:
    """The app's image is slim, runs as a non-root user, serves `mymonit run`, checks health."""
    text = required_file("containers/app/Dockerfile").read_text(encoding="utf-8")
    assert "FROM python:3.11-slim" in text
    assert "\nUSER 10001" in text
    assert "\nHEALTHCHECK " in text and "/readyz" in text
    assert 'CMD ["mymonit", "run"]' in text
    assert "DB_SCHEMA_DIR=/opt/mymonit/schema" in text


def test_shellcheck_covers_the_deployment_scripts() -> None:
    """The tracked scripts that shellcheck runs on include every deployment script."""
    assert set(SCRIPTS) <= set(_shell_scripts())


@pytest.mark.parametrize("script", _shell_scripts())
def test_script_passes_shellcheck(script: str) -> None:
    """Every tracked shell script has no shellcheck finding."""
    shellcheck = required_tool("shellcheck")
    path = required_file(script)
    result = subprocess.run(
        [shellcheck, "-x", "-P", str(ROOT / "scripts"), str(path)],
        capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_nginx_accepts_the_project_nginx_conf(tmp_path: Path) -> None:
    """`nginx -t` accepts nginx.conf with its listen files, a certificate and an upstream."""
    nginx = required_tool("nginx")
    source = ROOT / "containers" / "nginx"
    shutil.copy(required_file("containers/nginx/nginx.conf"), tmp_path / "nginx.conf")
    deployment = tmp_path / "deployment"
    deployment.mkdir()
    for name in ("listen-http.conf", "listen-https.conf"):
        shutil.copy(required_file(f"containers/nginx/deployment/{name}"), deployment / name)
    # The shipped upstream names the Compose service `app`, which only Docker's DNS knows.
    assert "server app:5000;" in (source / "deployment" / "upstream.conf").read_text()
    (deployment / "upstream.conf").write_text("server 127.0.0.1:5000;\n", encoding="utf-8")
    subprocess.run(
        ["sh", str(required_file("containers/nginx/gen-cert.sh")), str(tmp_path / "certs")],
        check=True, capture_output=True, timeout=60,
    )
    result = subprocess.run(
        [nginx, "-t", "-p", f"{tmp_path}/", "-c", str(tmp_path / "nginx.conf"),
         "-g", f"pid {tmp_path}/nginx.pid;"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
