"""kubernetes/: valid manifests, two Deployments of one image, probes, scaling, budgets."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .support import ROOT, load_yaml, required_tool

BASE = ROOT / "kubernetes" / "base"
# A release whose schemas kubernetes-validate ships (it validates offline).
KUBERNETES_VERSION = "1.30.0"
KEDA_KINDS = {"ScaledObject", "TriggerAuthentication"}

# KEDA's CRDs are not among the Kubernetes schemas: the fields this project relies on,
# from KEDA's v1alpha1 API (keda.sh/docs, "ScaledObject specification", "RabbitMQ Queue").
_NAME = {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"}
_SECRET_REF = {
    "type": "object",
    "required": ["parameter", "name", "key"],
    "additionalProperties": False,
    "properties": {"parameter": {"type": "string"}, "name": _NAME, "key": {"type": "string"}},
}
SCALED_OBJECT_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledObject"},
        "metadata": {"type": "object", "required": ["name"], "properties": {"name": _NAME}},
        "spec": {
            "type": "object",
            "required": ["scaleTargetRef", "triggers"],
            "additionalProperties": False,
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": False,
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "name": _NAME,
                    },
                },
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "pollingInterval": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["type", "metadata"],
                        "additionalProperties": False,
                        "properties": {
                            "type": {"type": "string"},
                            "name": {"type": "string"},
                            "metadata": {
                                "type": "object",
                                "additionalProperties": {"type": "string"},
                            },
                            "authenticationRef": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {"name": _NAME, "kind": {"type": "string"}},
                            },
                        },
                    },
                },
            },
        },
    },
}
TRIGGER_AUTHENTICATION_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "TriggerAuthentication"},
        "metadata": {"type": "object", "required": ["name"], "properties": {"name": _NAME}},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {
                "secretTargetRef": {"type": "array", "items": _SECRET_REF},
                "configMapTargetRef": {"type": "array", "items": _SECRET_REF},
            },
        },
    },
}
# The RabbitMQ scaler's trigger metadata (everything else goes through the authentication).
RABBITMQ_TRIGGER_METADATA = {
    "protocol", "host", "queueName", "mode", "value", "activationValue", "vhostName",
    "hostFromEnv", "unsafeSsl",
}


def _documents() -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for path in sorted(BASE.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document:
                found.append((path, document))
    return found


def _by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for _, d in _documents() if d["kind"] == kind}


def test_kustomization_lists_every_manifest() -> None:
    """kustomize applies every manifest in the directory, and only existing ones."""
    kustomization = load_yaml(BASE / "kustomization.yaml")
    listed = set(kustomization["resources"])
    present = {p.name for p in BASE.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present


def test_kubernetes_manifests_validate_against_the_kubernetes_schemas(tmp_path: Path) -> None:
    """Every core manifest is valid (strictly: no unknown field) for Kubernetes 1.30."""
    tool = required_tool("kubernetes-validate")
    core = []
    for index, (path, document) in enumerate(_documents()):
        if document["kind"] == "Kustomization" or document["kind"] in KEDA_KINDS:
            continue
        single = tmp_path / f"{index:02d}-{path.name}"
        single.write_text(yaml.safe_dump(document), encoding="utf-8")
        core.append(str(single))
    assert len(core) >= 12, core
    result = subprocess.run(
        [tool, "--strict", "--kubernetes-version", KUBERNETES_VERSION, *core],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed") == len(core), result.stdout


def test_kubernetes_validation_rejects_an_unknown_field(tmp_path: Path) -> None:
    """The strict validation above would catch a misspelt field (it is not a no-op)."""
    tool = required_tool("kubernetes-validate")
    deployment = next(d for _, d in _documents() if d["kind"] == "Deployment")
    deployment = {**deployment, "spec": {**deployment["spec"], "replicaz": 2}}
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(deployment), encoding="utf-8")
    result = subprocess.run(
        [tool, "--strict", "--kubernetes-version", KUBERNETES_VERSION, str(broken)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode != 0 and "replicaz" in result.stdout + result.stderr


def test_keda_objects_match_their_schema() -> None:
    """The ScaledObject and TriggerAuthentication have KEDA's structure."""
    schemas = {
        "ScaledObject": SCALED_OBJECT_SCHEMA,
        "TriggerAuthentication": TRIGGER_AUTHENTICATION_SCHEMA,
    }
    seen = set()
    for path, document in _documents():
        if document["kind"] in schemas:
            jsonschema.validate(document, schemas[document["kind"]])
            seen.add(document["kind"])
            assert path.name == "consumer-scaledobject.yaml"
    assert seen == KEDA_KINDS


def test_consumer_scales_on_the_measures_queue_with_keda() -> None:
    """KEDA's RabbitMQ scaler follows the queue length of the consumer's queue, over TLS."""
    scaled = _by_kind("ScaledObject")["mymonit-consumer"]["spec"]
    assert scaled["scaleTargetRef"]["name"] == "mymonit-consumer"
    assert scaled["minReplicaCount"] >= 1 and scaled["maxReplicaCount"] > 1
    (trigger,) = scaled["triggers"]
    assert trigger["type"] == "rabbitmq"
    assert set(trigger["metadata"]) <= RABBITMQ_TRIGGER_METADATA
    assert trigger["metadata"]["queueName"] == "measures"
    assert trigger["metadata"]["mode"] == "QueueLength"
    assert float(trigger["metadata"]["value"]) > 0
    assert trigger["metadata"]["host"].startswith("amqps://")
    assert "@" not in trigger["metadata"]["host"], "credentials belong in the authentication"
    authentication = _by_kind("TriggerAuthentication")[trigger["authenticationRef"]["name"]]
    parameters = {
        ref["parameter"]
        for refs in authentication["spec"].values()
        for ref in refs
    }
    assert parameters == {"username", "password", "ca", "tls"}
    keda = _by_kind("ConfigMap")["mymonit-keda"]["data"]
    assert keda["tls"] == "enable"


def test_rest_and_consumer_run_from_the_same_image_with_probes() -> None:
    """Two Deployments, one image; liveness on /healthz, readiness on /readyz; resources."""
    deployments = _by_kind("Deployment")
    assert set(deployments) == {"mymonit-rest", "mymonit-consumer"}
    commands = {}
    images = set()
    for name, deployment in deployments.items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        images.add(container["image"])
        commands[name] = container["command"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
        assert "memory" in container["resources"]["limits"], name
        assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"]
    assert images == {"mymonit-app"}
    assert commands == {
        "mymonit-rest": ["mymonit", "serve"],
        "mymonit-consumer": ["mymonit", "consume"],
    }


def test_rest_scales_on_cpu_and_both_have_disruption_budgets() -> None:
    """An autoscaling/v2 HPA on CPU for REST; a PodDisruptionBudget for each Deployment."""
    (hpa,) = _by_kind("HorizontalPodAutoscaler").values()
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == "mymonit-rest"
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    budgets = _by_kind("PodDisruptionBudget")
    deployments = _by_kind("Deployment")
    covered = set()
    for budget in budgets.values():
        selector = budget["spec"]["selector"]["matchLabels"]
        for name, deployment in deployments.items():
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            if selector.items() <= labels.items():
                covered.add(name)
    assert covered == set(deployments)


def test_deployments_scaled_by_an_autoscaler_leave_replicas_to_it() -> None:
    """An HPA or a ScaledObject owns the replica count: its Deployment sets no `replicas`."""
    targets = {
        scaler["spec"]["scaleTargetRef"]["name"]
        for kind in ("HorizontalPodAutoscaler", "ScaledObject")
        for scaler in _by_kind(kind).values()
    }
    deployments = _by_kind("Deployment")
    assert targets == set(deployments), targets
    for name in targets:
        assert "replicas" not in deployments[name]["spec"], name


def test_ingress_serves_the_rest_service_over_tls() -> None:
    """The Ingress terminates TLS with a Secret and routes to the REST Service."""
    (ingress,) = _by_kind("Ingress").values()
    assert ingress["spec"]["tls"][0]["secretName"]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    service = _by_kind("Service")[backend["name"]]
    assert service["spec"]["selector"]["app.kubernetes.io/component"] == "rest"


def test_no_secret_values_are_committed() -> None:
    """Secrets are referenced by name, never written in the manifests."""
    assert not _by_kind("Secret")
    for _, document in _documents():
        spec = document.get("spec", {}).get("template", {}).get("spec", {})
        for container in spec.get("containers", []):
            for variable in container.get("env", []):
                if "PASSWORD" in variable["name"]:
                    assert "valueFrom" in variable, variable["name"]
