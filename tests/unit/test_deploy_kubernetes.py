"""The Kubernetes deploy kit validates as `kubectl apply --dry-run=client` would: every core
object against Kubernetes' own OpenAPI schemas (kubernetes-validate, strict: no unknown field),
KEDA's objects against models generated from KEDA's CRDs; and the objects agree with each other
and with the hub's settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import latest_version

from hub.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "kubernetes"
KEDA_KINDS = {"ScaledObject", "TriggerAuthentication"}


def objects() -> list[tuple[str, dict[str, Any]]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    out = []
    for name in kustomization["resources"]:
        for obj in yaml.safe_load_all((K8S / name).read_text()):
            if obj:
                out.append((name, obj))
    return out


def by_kind(kind: str) -> dict[str, Any]:
    return next(o for _, o in objects() if o["kind"] == kind)


def test_the_kustomization_lists_every_manifest() -> None:
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    kinds = {o["kind"] for _, o in objects()}
    assert {"Deployment", "Service", "ConfigMap", "Secret", "PodDisruptionBudget"} <= kinds
    assert kinds >= KEDA_KINDS


@pytest.mark.parametrize(
    ("name", "obj"),
    [(n, o) for n, o in objects() if o["kind"] not in KEDA_KINDS],
    ids=lambda v: v if isinstance(v, str) else v["kind"],
)
def test_each_core_object_is_valid_for_kubernetes(name: str, obj: dict[str, Any]) -> None:
    kubernetes_validate.validate(obj, latest_version(), strict=True)


def test_the_validator_refuses_an_unknown_field_and_a_wrong_type() -> None:
    deployment = by_kind("Deployment")
    deployment["spec"]["replicaz"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, latest_version(), strict=True)
    deployment = by_kind("Deployment")
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, latest_version(), strict=True)


def _keda_model(kind: str) -> Any:
    from cloudcoil.models.keda import v1alpha1

    return getattr(v1alpha1, kind)


def _known_fields_only(given: Any, parsed: Any, where: str = "") -> list[str]:
    """Fields of ``given`` that the model dropped (it ignores unknown fields)."""
    if isinstance(given, dict) and isinstance(parsed, dict):
        problems = [f"{where}.{k}" for k in given if k not in parsed]
        for k, v in given.items():
            if k in parsed:
                problems += _known_fields_only(v, parsed[k], f"{where}.{k}")
        return problems
    if isinstance(given, list) and isinstance(parsed, list):
        return [p for g, q in zip(given, parsed, strict=False) for p in _known_fields_only(g, q, where)]
    return []


@pytest.mark.parametrize("kind", sorted(KEDA_KINDS))
def test_each_keda_object_is_valid_for_kedas_crds(kind: str) -> None:
    obj = by_kind(kind)
    parsed = _keda_model(kind).model_validate(obj)
    dumped = parsed.model_dump(by_alias=True, exclude_none=True, mode="json")
    assert not _known_fields_only(obj, dumped), "fields KEDA does not know"


def test_the_keda_check_can_fail() -> None:
    scaled = by_kind("ScaledObject")
    del scaled["spec"]["scaleTargetRef"]
    with pytest.raises(ValueError, match="scaleTargetRef"):
        _keda_model("ScaledObject").model_validate(scaled)
    scaled = by_kind("ScaledObject")
    scaled["spec"]["triggers"][0]["metdata"] = scaled["spec"]["triggers"][0].pop("metadata")
    with pytest.raises(ValueError):
        _keda_model("ScaledObject").model_validate(scaled)


def test_the_objects_agree_with_each_other() -> None:
    deployment, service = by_kind("Deployment"), by_kind("Service")
    pdb, scaled = by_kind("PodDisruptionBudget"), by_kind("ScaledObject")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert scaled["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert pdb["spec"]["minAvailable"] < scaled["spec"]["minReplicaCount"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert service["spec"]["ports"][0]["targetPort"] in ports
    config = by_kind("ConfigMap")["data"]
    assert int(config["HUB_HTTP_PORT"]) == ports[container["readinessProbe"]["httpGet"]["port"]]
    refs = {r[next(iter(r))]["name"] for r in container["envFrom"]}
    assert refs == {by_kind("ConfigMap")["metadata"]["name"], by_kind("Secret")["metadata"]["name"]}
    auth = by_kind("TriggerAuthentication")
    secret_keys = set(by_kind("Secret")["stringData"])
    assert {t["key"] for t in auth["spec"]["secretTargetRef"]} <= secret_keys
    from consumers import ALL

    assert {t["metadata"]["queueName"] for t in scaled["spec"]["triggers"]} == {c.queue for c in ALL}


def test_the_settings_in_the_configmap_and_secret_load(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {**by_kind("ConfigMap")["data"], **by_kind("Secret")["stringData"]}
    for key, value in env.items():
        if key.startswith("HUB_"):
            monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.broker_url is not None and settings.broker_url.count(";") == 2
    assert settings.http_host == "0.0.0.0"


def test_the_local_cluster_script_is_valid_shell() -> None:
    out = subprocess.run(
        ["bash", "-n", str(DEPLOY / "rabbitmq" / "local-cluster.sh")], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr


def test_check_jsonschema_agrees_that_the_asyncapi_document_is_valid() -> None:
    """A second validator, the check-jsonschema command, on the AsyncAPI document."""
    root = DEPLOY.parent
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--schemafile",
            str(root / "tests" / "vendor" / "asyncapi" / "3.0.0.json"),
            str(root / "schemas" / "asyncapi.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
