"""The Kubernetes manifests in deploy/k8s: valid against the Kubernetes JSON schemas (offline, strict, with
kubernetes-validate), consistent with each other, and with the code they run (profile, adapters, CLI)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate import ValidationError, validate
from typer.testing import CliRunner

from agentgraph.agents import DEFAULT_AGENTS
from agentgraph.cli import app
from agentgraph.router import ROUTER_ADAPTER
from agentgraph.serving.client import BASE_MODEL_NAME
from agentgraph.serving.profile import get_profile
from agentgraph.settings import Settings

MANIFESTS = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
KUBERNETES_VERSION = "1.37.0"
WORKLOADS = ("Deployment", "StatefulSet", "Job")


def load(folder: Path) -> list[dict[str, Any]]:
    """Every resource of every YAML file in `folder`."""
    resources = []
    for path in sorted(folder.glob("*.yaml")):
        resources += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return resources


def validate_manifests(folder: Path) -> int:
    """Validate every resource strictly (unknown fields are errors); how many were validated."""
    resources = load(folder)
    for resource in resources:
        validate(resource, KUBERNETES_VERSION, strict=True)
    return len(resources)


def find(resources: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name!r}"
    return matches[0]


def pod_spec(resource: dict[str, Any]) -> dict[str, Any]:
    return resource["spec"]["template"]["spec"]


def container(resource: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in pod_spec(resource)["containers"] if c["name"] == name)


def plain_env(spec: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in spec.get("env", []) if "value" in e}


@pytest.fixture(scope="module")
def resources() -> list[dict[str, Any]]:
    return load(MANIFESTS)


def test_every_manifest_is_valid_kubernetes(resources):
    assert validate_manifests(MANIFESTS) == len(resources)
    kinds = {r["kind"] for r in resources}
    assert {"Namespace", "Secret", "StatefulSet", "Service", "Deployment", "Job", "PersistentVolumeClaim"} <= kinds


@pytest.mark.parametrize(
    "breakage",
    [
        pytest.param(lambda r: r["spec"].update(replicas="two"), id="wrong-type"),
        pytest.param(lambda r: r["spec"]["template"]["spec"].update(containerz=[]), id="unknown-field"),
        pytest.param(lambda r: r["spec"]["template"]["spec"]["containers"][0].pop("name"), id="missing-required-field"),
    ],
)
def test_a_broken_manifest_fails_validation(tmp_path, breakage):
    copy = tmp_path / "k8s"
    shutil.copytree(MANIFESTS, copy)
    path = copy / "50-agentgraph.yaml"
    docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    breakage(next(d for d in docs if d["kind"] == "Deployment"))
    path.write_text(yaml.safe_dump_all(docs))

    with pytest.raises(ValidationError):
        validate_manifests(copy)


def test_vllm_serves_the_base_model_and_every_adapter_with_the_gpu_profile(resources):
    profile = get_profile("qwen3-gpu")
    vllm = container(find(resources, "Deployment", "vllm"), "vllm")
    args = vllm["args"]
    options = dict(a.removeprefix("--").split("=", 1) for a in args if a.startswith("--") and "=" in a)
    modules_at = args.index("--lora-modules")
    modules = dict(a.split("=", 1) for a in args[modules_at + 1 :] if not a.startswith("--"))

    expected = {ROUTER_ADAPTER, "tools"} | {agent.adapter_name for agent in DEFAULT_AGENTS}
    assert set(modules) == expected and len(expected) == 5
    assert "--enable-lora" in args and int(options["max-loras"]) >= len(expected)
    assert "--enable-auto-tool-choice" in args
    assert options["tool-call-parser"] == profile.tool_call_parser
    assert options["dtype"] == profile.dtype
    assert options["served-model-name"] == BASE_MODEL_NAME
    assert vllm["resources"]["limits"]["nvidia.com/gpu"] == "1"

    mounts = {m["mountPath"]: m["name"] for m in vllm["volumeMounts"]}
    claims = {
        v["name"]: v["persistentVolumeClaim"]["claimName"]
        for v in pod_spec(find(resources, "Deployment", "vllm"))["volumes"]
        if "persistentVolumeClaim" in v
    }
    for path in modules.values():
        volume = next(name for mount, name in mounts.items() if path.startswith(mount + "/"))
        find(resources, "PersistentVolumeClaim", claims[volume])


def test_the_workers_run_the_service_against_the_vllm_service_and_the_shared_database(resources, monkeypatch, tmp_path):
    workers = find(resources, "Deployment", "agentgraph")
    main = container(workers, "agentgraph")
    assert main["command"][:2] == ["agentgraph", "service"]
    # the options it uses exist (an unknown option fails before --help is handled)
    assert CliRunner().invoke(app, [*main["command"][1:], "--help"]).exit_code == 0

    for name in list(os.environ):
        if name.startswith("AGENTGRAPH_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AGENTGRAPH_CONFIG", str(tmp_path / "none.toml"))
    for name, value in plain_env(main).items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.model.profile == "qwen3-gpu"

    vllm = find(resources, "Service", "vllm")
    port = vllm["spec"]["ports"][0]["port"]
    assert settings.server.urls == [f"http://{vllm['metadata']['name']}:{port}/v1"]

    database = next(e for e in main["env"] if e["name"] == "AGENTGRAPH_DATABASE_URL")["valueFrom"]["secretKeyRef"]
    secret = find(resources, "Secret", database["name"])
    url = secret["stringData"][database["key"]]
    postgres = find(resources, "Service", "postgres")
    assert url.startswith("postgresql://") and f"@{postgres['metadata']['name']}:{postgres['spec']['ports'][0]['port']}/" in url


def test_the_job_migrates_the_schema(resources):
    job = find(resources, "Job", "agentgraph-db-upgrade")
    upgrade = container(job, "upgrade")
    assert upgrade["command"] == ["agentgraph", "db", "upgrade"]
    assert CliRunner().invoke(app, [*upgrade["command"][1:], "--help"]).exit_code == 0
    assert any(e["name"] == "AGENTGRAPH_DATABASE_URL" and "secretKeyRef" in e["valueFrom"] for e in upgrade["env"])


def test_references_between_manifests_resolve(resources):
    secrets = {r["metadata"]["name"]: set(r.get("stringData", {})) | set(r.get("data", {})) for r in resources if r["kind"] == "Secret"}
    claims = {r["metadata"]["name"] for r in resources if r["kind"] == "PersistentVolumeClaim"}
    namespaces = {r["metadata"]["name"] for r in resources if r["kind"] == "Namespace"}
    workloads = [r for r in resources if r["kind"] in WORKLOADS]

    for resource in resources:
        if resource["kind"] != "Namespace":
            assert resource["metadata"]["namespace"] in namespaces
    for workload in workloads:
        spec = pod_spec(workload)
        assert spec.get("enableServiceLinks") is False, workload["metadata"]["name"]
        for c in spec.get("initContainers", []) + spec["containers"]:
            for env in c.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["key"] in secrets.get(ref["name"], set()), f"{ref} is not in a Secret"
        for volume in spec.get("volumes", []):
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims
    for service in (r for r in resources if r["kind"] == "Service"):
        selector = service["spec"]["selector"]
        targets = [w for w in workloads if selector.items() <= w["spec"]["template"]["metadata"]["labels"].items()]
        assert targets, f"service {service['metadata']['name']} selects no pods"
        ports = {p["name"] for w in targets for c in pod_spec(w)["containers"] for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports
    statefulset = find(resources, "StatefulSet", "postgres")
    assert statefulset["spec"]["volumeClaimTemplates"] and statefulset["spec"]["serviceName"] == "postgres"


def test_the_agentgraph_image_is_the_one_the_dockerfile_builds():
    dockerfile = MANIFESTS.parent / "Dockerfile"
    text = dockerfile.read_text()
    tag = next(line.split(" -t ", 1)[1].split()[0] for line in text.splitlines() if "docker build" in line)
    images = {
        c["image"]
        for resource in load(MANIFESTS)
        if resource["kind"] in WORKLOADS
        for c in pod_spec(resource).get("initContainers", []) + pod_spec(resource)["containers"]
        if c["image"].startswith("agentgraph:")
    }
    assert images == {tag}, f"manifests use {images}, deploy/Dockerfile builds {tag}"
    root = MANIFESTS.parents[1]
    copied = [part for line in text.splitlines() if line.startswith("COPY ") for part in line.split()[1:-1]]
    assert copied and all((root / path).exists() for path in copied), [p for p in copied if not (root / p).exists()]
    assert "-c constraints.txt" in text and "vllm" not in text.split("RUN pip install", 1)[1].split("\n")[0]


def test_the_workers_take_the_first_admin_key_from_a_secret(resources, monkeypatch, tmp_path):
    from agentgraph.apikeys import MIN_TOKEN_CHARS

    main = container(find(resources, "Deployment", "agentgraph"), "agentgraph")
    (entry,) = [e for e in main["env"] if e["name"] == "AGENTGRAPH_SERVICE__BOOTSTRAP_ADMIN_KEY"]
    assert "value" not in entry  # never written into the manifest itself
    ref = entry["valueFrom"]["secretKeyRef"]
    secret = find(resources, "Secret", ref["name"])
    placeholder = secret["stringData"][ref["key"]]
    # a Secret applied without replacing the placeholder stops the service instead of serving a known key
    assert len(placeholder) < MIN_TOKEN_CHARS

    for name in list(os.environ):
        if name.startswith("AGENTGRAPH_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AGENTGRAPH_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv(entry["name"], "agk_" + "k" * 43)
    key = Settings().service.bootstrap_admin_key
    assert key is not None and key.get_secret_value() == "agk_" + "k" * 43 and "k" * 43 not in repr(Settings().service)
