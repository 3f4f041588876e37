"""The Kubernetes manifests: every service deployed with native gRPC probes on
its port, the edge autoscaled, GPUs for inference in the gpu overlay."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from common.settings import DEFAULT_PORTS, SERVICE_NAMES
from tests.conftest import REPO_ROOT

K8S = REPO_ROOT / "k8s"


def documents(folder: Path) -> list[dict]:
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    found = []
    for resource in kustomization.get("resources", []):
        path = folder / resource
        if path.is_dir():
            found += documents(path)
        else:
            assert path.is_file(), f"{path} listed in {folder} does not exist"
            found += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


@pytest.fixture(scope="module")
def base() -> list[dict]:
    return documents(K8S / "base")


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_every_service_has_a_deployment_with_grpc_probes(base, name):
    port = DEFAULT_PORTS[name]
    container = by_kind(base, "Deployment")[name]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", f"services.{name}"]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["grpc"]["port"] == port
    assert {"requests", "limits"} <= set(container["resources"])
    service = by_kind(base, "Service")[name]
    assert service["spec"]["clusterIP"] == "None", "headless, for round-robin balancing"
    assert service["spec"]["ports"][0]["port"] == port


def test_edge_postgis_and_dask_are_deployed(base):
    assert (
        by_kind(base, "HorizontalPodAutoscaler")["edge"]["spec"]["scaleTargetRef"]["name"] == "edge"
    )
    assert "postgis" in by_kind(base, "StatefulSet")
    assert {"dask-scheduler", "dask-worker"} <= set(by_kind(base, "Deployment"))
    settings = by_kind(base, "ConfigMap")["micrographia-settings"]["data"]
    for name in SERVICE_NAMES:
        assert settings[f"MICROGRAPHIA_{name.upper()}_ADDRESS"].startswith("dns:///")


def test_gpu_overlay_gives_inference_a_gpu():
    overlay = K8S / "overlays" / "gpu"
    patch = yaml.safe_load((overlay / "inference-gpu.yaml").read_text())
    container = patch["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert patch["spec"]["template"]["spec"]["nodeSelector"]
    documents(overlay)  # every listed resource exists


def test_dev_overlay_resolves():
    assert documents(K8S / "overlays" / "dev")
