"""docker-compose.yml: valid by the Compose specification, complete, ordered by health."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

# The services of the issue: the app, its proxy, broker and database, and the ELK stack,
# with the one-shot setups that Kibana and Elasticsearch need.
SERVICES = {
    "app", "nginx", "rabbitmq", "mariadb", "elasticsearch", "logstash", "kibana", "filebeat",
    "kibana-setup",
}
ONE_SHOT = {"kibana-setup", "elasticsearch-setup"}
PUBLISHED_BY_DEFAULT = {"443", "5672", "5601"}
VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")


def _published_ports(service: dict[str, Any]) -> set[str]:
    """Give the container ports a service publishes (short and long syntax)."""
    ports = set()
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            ports.add(str(entry["target"]))
        else:
            ports.add(str(entry).rsplit(":", 1)[-1].split("/")[0])
    return ports


def _dockerfile_has_healthcheck(root: Path, service: dict[str, Any]) -> bool:
    build = service.get("build")
    if build is None:
        return False
    context = root / (build if isinstance(build, str) else build.get("context", "."))
    dockerfile = context / (
        "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    )
    return "\nHEALTHCHECK " in dockerfile.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["docker-compose.yml", "docker-compose.debug.yml"])
def test_compose_file_validates_against_the_compose_specification(
    root: Path, compose_schema_path: Path, name: str
) -> None:
    """Each Compose file is valid by the specification's JSON schema."""
    schema = json.loads(compose_schema_path.read_text(encoding="utf-8"))
    document = yaml.safe_load((root / name).read_text(encoding="utf-8"))
    errors = sorted(
        jsonschema.Draft7Validator(schema).iter_errors(document), key=lambda e: list(e.path)
    )
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_compose_names_every_service_of_the_stack(compose: dict[str, Any]) -> None:
    """The stack holds the app, nginx, RabbitMQ, MariaDB and the whole ELK stack."""
    missing = SERVICES - set(compose["services"])
    assert not missing, f"services missing from docker-compose.yml: {sorted(missing)}"


def test_compose_database_is_mariadb_10_11_with_the_schema_mounted(
    compose: dict[str, Any],
) -> None:
    """The database is the family and major version the tests use, with containers/mysql."""
    mariadb = compose["services"]["mariadb"]
    assert mariadb["image"] == "mariadb:10.11"
    assert "./containers/mysql:/docker-entrypoint-initdb.d:ro" in mariadb["volumes"]


def test_compose_publishes_only_443_5672_and_5601_by_default(compose: dict[str, Any]) -> None:
    """Only nginx's HTTPS, AMQP and Kibana are published; the debug override has the rest."""
    published = {
        name: _published_ports(service) for name, service in compose["services"].items()
    }
    every = set().union(*published.values())
    assert every == PUBLISHED_BY_DEFAULT, published
    assert published["nginx"] == {"443"}
    assert published["rabbitmq"] == {"5672"}
    assert published["kibana"] == {"5601"}


def test_compose_debug_override_publishes_on_the_loopback_only(
    compose_debug: dict[str, Any],
) -> None:
    """The debugging ports are reachable from this machine only."""
    for name, service in compose_debug["services"].items():
        for entry in service.get("ports", []):
            assert str(entry).startswith("127.0.0.1:"), f"{name}: {entry}"
    assert "3306" in _published_ports(compose_debug["services"]["mariadb"])
    assert "15672" in _published_ports(compose_debug["services"]["rabbitmq"])
    assert "9200" in _published_ports(compose_debug["services"]["elasticsearch"])


def test_compose_long_running_services_have_healthchecks(
    root: Path, compose: dict[str, Any]
) -> None:
    """Every service but the one-shots has a healthcheck (its own or its image's)."""
    for name, service in compose["services"].items():
        if name in ONE_SHOT:
            continue
        assert "test" in service.get("healthcheck", {}) or _dockerfile_has_healthcheck(
            root, service
        ), f"{name} has no healthcheck"


def test_compose_start_order_follows_health(compose: dict[str, Any]) -> None:
    """Dependencies wait for health (or a one-shot's success), never only for a start."""
    services = compose["services"]
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            expected = (
                "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            )
            assert rule["condition"] == expected, f"{name} -> {dependency}: {rule}"
    assert set(services["app"]["depends_on"]) >= {"mariadb", "rabbitmq"}
    assert set(services["nginx"]["depends_on"]) == {"app"}


def test_compose_data_lives_in_named_volumes(compose: dict[str, Any]) -> None:
    """Databases and indices survive `docker compose down` in named volumes."""
    data_paths = {
        "mariadb": "/var/lib/mysql",
        "rabbitmq": "/var/lib/rabbitmq",
        "elasticsearch": "/usr/share/elasticsearch/data",
    }
    for name, path in data_paths.items():
        mounts = [str(v) for v in compose["services"][name]["volumes"]]
        source = next(m.split(":")[0] for m in mounts if m.split(":")[1] == path)
        assert source in compose["volumes"], f"{name}: {path} is not in a named volume"


def test_compose_secrets_come_from_the_env_file(root: Path, compose: dict[str, Any]) -> None:
    """No password is written in docker-compose.yml; every variable is in .env.example."""
    text = (root / "docker-compose.yml").read_text(encoding="utf-8")
    example = (root / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^([A-Z0-9_]+)=", example, flags=re.MULTILINE))
    used = set(VARIABLE.findall(text))
    assert used - documented == {"NGINX_CERTS"}, used - documented
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if "PASSWORD" in key:
                assert str(value).startswith("${"), f"{name}: {key} is written in the file"
    secrets = re.findall(r"^([A-Z0-9_]*PASSWORD)=(.*)$", example, flags=re.MULTILINE)
    assert secrets and all(value == "" for _, value in secrets), ".env.example holds a secret"
    ignored = (root / ".gitignore").read_text(encoding="utf-8").split()
    assert ".env" in ignored, ".env is not in .gitignore"


def test_compose_elastic_stack_runs_one_version(root: Path, compose: dict[str, Any]) -> None:
    """Elasticsearch, Kibana, Logstash and Filebeat are the same release."""
    versions = set()
    for service in compose["services"].values():
        if "image" in service and service["image"].startswith("docker.elastic.co/"):
            versions.add(service["image"].rsplit(":", 1)[1])
    for name in ("logstash", "filebeat"):
        dockerfile = (root / "containers" / name / "Dockerfile").read_text(encoding="utf-8")
        versions.update(re.findall(r"^FROM docker\.elastic\.co/\S+:(\S+)", dockerfile, re.M))
    assert len(versions) == 1, versions


def test_compose_ships_the_logs_filebeat_reads(root: Path, compose: dict[str, Any]) -> None:
    """Each directory of filebeat.yml is a volume that its server writes and Filebeat reads."""
    services = compose["services"]
    filebeat_mounts = dict(
        reversed(str(v).split(":")[:2]) for v in services["filebeat"]["volumes"]
    )
    config = (root / "containers/filebeat/filebeat.yml").read_text(encoding="utf-8")
    writers = {"/var/log/nginx": "nginx", "/var/log/mysql": "mariadb",
               "/var/log/rabbitmq": "rabbitmq"}
    for directory, writer in writers.items():
        assert f'"{directory}/' in config, f"filebeat.yml no longer reads {directory}"
        volume = filebeat_mounts[directory]
        assert volume in compose["volumes"]
        assert f"{volume}:{directory}" in services[writer]["volumes"], writer
