"""The Kubernetes manifests: every overlay renders, every manifest is valid against
the Kubernetes schemas, and the wiring holds: each address a process is given
reaches a Service port that reaches a container, each reference names something
that exists, and the NetworkPolicies allow exactly the calls the services make."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from common.settings import DEFAULT_PORTS, SERVICE_NAMES
from tests.conftest import REPO_ROOT
from tests.platform.kustomize import (
    Manifest,
    UnsupportedKustomization,
    containers,
    kustomize_command,
    merge,
    pod_spec,
    render,
    render_with_kustomize,
)
from tests.platform.network_policy import Endpoint, allows

K8S = REPO_ROOT / "k8s"
NAMESPACE = "micrographia"
OVERLAYS = ("dev", "gpu")
# Every overlay is checked against the oldest and the newest API we support.
KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")

# Who calls whom. The edge calls every service; among the services, as DESIGN.md
# says (and test_call_graph_covers_the_code checks against the code).
CALLS = {
    "edge": set(SERVICE_NAMES),
    "slides": {"spatial"},  # DeleteSlideAnalyses when a slide is deleted
    "spatial": {"slides", "inference"},  # viewport analysis: regions, then HoVerNet
    "inference": {"slides"},  # regions of a whole-slide job
    "microscopy": {"inference"},  # Cellpose labels (from the service or its Dask workers)
}
DATABASE_USERS = {"microscopy", "analysis", "slides", "spatial"}
DASK_CLIENTS = {"microscopy", "analysis"}
ALLOWED = (
    {(caller, callee) for caller, callees in CALLS.items() for callee in callees}
    | {(user, "postgis") for user in DATABASE_USERS}
    | {(client, "dask-scheduler") for client in DASK_CLIENTS}
    | {("dask-worker", "dask-scheduler"), ("dask-scheduler", "dask-worker")}
    | {("dask-worker", "dask-worker"), ("ingress-nginx", "edge")}
    | {("dask-worker", "inference")}  # a workflow FOV's Cellpose labels
)


def by_kind(manifests: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def workloads(manifests: list[Manifest]) -> dict[str, Manifest]:
    return {m["metadata"]["name"]: m for m in manifests if pod_spec(m) is not None}


def pod_labels(workload: Manifest) -> dict[str, str]:
    return workload["spec"]["template"]["metadata"]["labels"]


def named_ports(workload: Manifest) -> dict[str, int]:
    return {
        port["name"]: port["containerPort"]
        for container in pod_spec(workload)["containers"]
        for port in container.get("ports", [])
        if "name" in port
    }


def container_ports(workload: Manifest) -> set[int]:
    return {
        port["containerPort"]
        for container in pod_spec(workload)["containers"]
        for port in container.get("ports", [])
    }


def selected(manifests: list[Manifest], service: Manifest) -> list[Manifest]:
    selector = service["spec"]["selector"]
    return [
        w
        for w in workloads(manifests).values()
        if all(pod_labels(w).get(key) == value for key, value in selector.items())
    ]


def secret_data(secret: Manifest) -> dict[str, str]:
    return {**secret.get("data", {}), **secret.get("stringData", {})}


@pytest.fixture(scope="module")
def base() -> list[Manifest]:
    return render(K8S / "base")


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request) -> list[Manifest]:
    return render(K8S / "overlays" / request.param)


# --- The renderer ---------------------------------------------------------------


@pytest.mark.parametrize("folder", ["base", *(f"overlays/{name}" for name in OVERLAYS)])
def test_renderer_agrees_with_kustomize(folder):
    command = kustomize_command()
    if command is None:
        pytest.skip("no kustomize or kubectl on PATH to compare the renderer with")
    ours = {(m["kind"], m["metadata"]["name"]): m for m in render(K8S / folder)}
    theirs = {
        (m["kind"], m["metadata"]["name"]): m for m in render_with_kustomize(K8S / folder, command)
    }
    assert ours.keys() == theirs.keys()
    for key, manifest in ours.items():
        assert manifest == theirs[key], key


def test_strategic_merge_merges_by_key_and_deletes_on_null():
    """As `kubectl kustomize` does it (checked by hand with kustomize v5.5)."""
    env = [{"name": name, "value": "1"} for name in "ABC"]
    original = {
        "replicas": 2,
        "containers": [{"name": "a", "env": env, "args": ["--old"]}, {"name": "b"}],
        "tolerations": [{"key": "old"}],
    }
    patch = {
        "replicas": None,
        "containers": [
            {"name": "a", "env": [{"name": "B", "value": "2"}, {"name": "D", "value": "4"}]},
            {"name": "b", "args": ["--new"]},
        ],
        "tolerations": [{"key": "new"}],
    }
    merged = merge(original, patch)
    assert "replicas" not in merged
    assert merged["tolerations"] == [{"key": "new"}], "lists without a merge key are replaced"
    first, second = merged["containers"]
    assert second == {"name": "b", "args": ["--new"]}
    assert first["args"] == ["--old"]
    # The patch's entries first, merged into theirs; then the ones it does not name.
    assert [(e["name"], e["value"]) for e in first["env"]] == [
        ("B", "2"),
        ("D", "4"),
        ("A", "1"),
        ("C", "1"),
    ]


def test_renderer_refuses_what_it_does_not_implement(tmp_path: Path):
    (tmp_path / "kustomization.yaml").write_text(
        yaml.safe_dump({"configMapGenerator": [{"name": "x", "literals": ["A=1"]}]})
    )
    with pytest.raises(UnsupportedKustomization, match="configMapGenerator"):
        render(tmp_path)


# --- Schemas --------------------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_is_valid_against_the_kubernetes_schemas(overlay, version):
    kubernetes_validate = pytest.importorskip(
        "kubernetes_validate", reason="kubernetes-validate (dev extra) ships the schemas"
    )
    import jsonschema  # kubernetes-validate's own dependency

    for manifest in overlay:
        # strict: an unknown (misspelt) field is an error, not silently dropped.
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except jsonschema.ValidationError as error:
            where = "/".join(str(part) for part in error.absolute_path)
            name = f"{manifest['kind']} {manifest['metadata']['name']}"
            pytest.fail(f"{name} {where}: {error.message}", pytrace=False)


# --- What the base deploys ------------------------------------------------------


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_every_service_has_a_deployment_with_grpc_probes(base, name):
    port = DEFAULT_PORTS[name]
    container = by_kind(base, "Deployment")[name]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", f"services.{name}"]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["grpc"]["port"] == port
    service = by_kind(base, "Service")[name]
    assert service["spec"]["clusterIP"] == "None", "headless, for round-robin balancing"
    assert service["spec"]["ports"][0]["port"] == port


def test_inference_may_take_minutes_to_load_its_model(base):
    container = by_kind(base, "Deployment")["inference"]["spec"]["template"]["spec"]
    probe = container["containers"][0]["startupProbe"]
    assert probe["periodSeconds"] * probe["failureThreshold"] >= 600


def test_every_container_has_requests_and_limits_and_runs_as_non_root(overlay):
    for workload in workloads(overlay).values():
        spec = pod_spec(workload)
        assert spec.get("enableServiceLinks") is False, workload["metadata"]["name"]
        for container in spec["containers"]:
            assert {"cpu", "memory"} <= set(container["resources"]["requests"])
            assert {"cpu", "memory"} <= set(container["resources"]["limits"])
            if "micrographia" in container["image"]:
                assert spec["securityContext"]["runAsNonRoot"] is True
                assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_edge_postgis_and_dask_are_deployed(base):
    assert (
        by_kind(base, "HorizontalPodAutoscaler")["edge"]["spec"]["scaleTargetRef"]["name"] == "edge"
    )
    assert "replicas" not in by_kind(base, "Deployment")["edge"]["spec"], "the HPA owns it"
    edge = by_kind(base, "Deployment")["edge"]["spec"]["template"]["spec"]["containers"][0]
    for probe in ("livenessProbe", "readinessProbe"):
        assert edge[probe]["httpGet"]["path"] == "/livez", "no backend call in a probe"
    postgis = by_kind(base, "StatefulSet")["postgis"]
    assert postgis["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "pgdata"
    assert {"dask-scheduler", "dask-worker"} <= set(by_kind(base, "Deployment"))
    worker = by_kind(base, "Deployment")["dask-worker"]["spec"]["template"]["spec"]
    assert worker["containers"][0]["image"].startswith("ghcr.io/micrographia/"), "our image"
    settings = by_kind(base, "ConfigMap")["micrographia-settings"]["data"]
    for name in SERVICE_NAMES:
        assert settings[f"MICROGRAPHIA_{name.upper()}_ADDRESS"].startswith("dns:///")


def test_ingress_streams_server_sent_events_and_large_uploads(overlay):
    annotations = by_kind(overlay, "Ingress")["edge"]["metadata"]["annotations"]
    prefix = "nginx.ingress.kubernetes.io/"
    assert int(annotations[prefix + "proxy-read-timeout"]) >= 3600
    assert int(annotations[prefix + "proxy-send-timeout"]) >= 3600
    assert annotations[prefix + "proxy-buffering"] == "off"
    assert annotations[prefix + "proxy-body-size"].endswith("g")


def test_secrets_are_placeholders_in_the_base(base):
    for value in secret_data(by_kind(base, "Secret")["micrographia-secrets"]).values():
        assert "REPLACE-ME" in value


def test_gpu_overlay_gives_inference_a_gpu_and_scales_it():
    gpu = render(K8S / "overlays" / "gpu")
    spec = by_kind(gpu, "Deployment")["inference"]["spec"]
    pod = spec["template"]["spec"]
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert pod["nodeSelector"]
    assert any(t["key"] == "nvidia.com/gpu" for t in pod["tolerations"])
    assert "replicas" not in spec, "the HPA owns it"
    hpa = by_kind(gpu, "HorizontalPodAutoscaler")["inference"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "inference"


def test_dev_overlay_runs_one_of_everything():
    dev = render(K8S / "overlays" / "dev")
    for name, workload in workloads(dev).items():
        assert workload["spec"].get("replicas", 1) == 1, name
    assert by_kind(dev, "HorizontalPodAutoscaler")["edge"]["spec"]["minReplicas"] == 1
    assert all(":dev" in c["image"] for c in containers(dev) if "micrographia" in c["image"])


# --- Wiring ---------------------------------------------------------------------


def configured_values(manifests: list[Manifest]) -> dict[str, str]:
    """Every setting a process gets: the ConfigMap, literal env values, the Secret."""
    values = dict(by_kind(manifests, "ConfigMap")["micrographia-settings"]["data"])
    for container in containers(manifests):
        for env in container.get("env", []):
            if "value" in env:
                values[env["name"]] = env["value"]
    values["database-url"] = secret_data(by_kind(manifests, "Secret")["micrographia-secrets"])[
        "database-url"
    ]
    return values


def host_and_port(address: str) -> tuple[str, int]:
    """("slides", 50053) from "dns:///slides:50053", "tcp://x:1" or "postgresql://u:p@x:1/db"."""
    if address.startswith("dns:///"):
        address = "//" + address.removeprefix("dns:///")
    elif "://" not in address:
        address = "//" + address
    parts = urlsplit(address)
    return parts.hostname, parts.port


def test_every_configured_address_reaches_a_container(overlay):
    services = by_kind(overlay, "Service")
    values = configured_values(overlay)
    addresses = {
        key: value
        for key, value in values.items()
        if key.endswith("_ADDRESS") or key in ("MICROGRAPHIA_DASK_SCHEDULER", "database-url")
    }
    assert len(addresses) == len(SERVICE_NAMES) + 2
    for key, address in addresses.items():
        host, port = host_and_port(address)
        name = host.split(".")[0]
        assert name in services, f"{key}={address}: no Service {name}"
        ports = {p["port"]: p for p in services[name]["spec"]["ports"]}
        assert port in ports, f"{key}={address}: Service {name} has ports {sorted(ports)}"
        backends = selected(overlay, services[name])
        assert backends, f"Service {name} selects no pod"
        target = ports[port].get("targetPort", port)
        for workload in backends:
            resolved = named_ports(workload).get(target) if isinstance(target, str) else target
            assert resolved in container_ports(workload), f"{key}: {name}:{port} reaches no port"


def test_every_service_selects_pods_with_its_target_ports(overlay):
    for name, service in by_kind(overlay, "Service").items():
        backends = selected(overlay, service)
        assert backends, f"Service {name} selects no pod"
        for workload in backends:
            for port in service["spec"]["ports"]:
                target = port.get("targetPort", port["port"])
                if isinstance(target, str):
                    assert target in named_ports(workload), f"{name}: no port named {target}"
                else:
                    assert target in container_ports(workload), f"{name}: nothing on {target}"


def test_every_workload_selector_matches_its_pods(overlay):
    for name, workload in workloads(overlay).items():
        selector = workload["spec"]["selector"]["matchLabels"]
        assert selector.items() <= pod_labels(workload).items(), name


def test_every_replicated_workload_has_a_disruption_budget_that_selects_it(overlay):
    budgets = by_kind(overlay, "PodDisruptionBudget")
    for name, budget in budgets.items():
        selector = budget["spec"]["selector"]["matchLabels"]
        assert any(
            selector.items() <= pod_labels(w).items() for w in workloads(overlay).values()
        ), f"PodDisruptionBudget {name} selects no pod"
    singletons = {"postgis", "dask-scheduler"}  # one replica: "one at a time" guards nothing
    assert set(budgets) == set(workloads(overlay)) - singletons


def test_every_reference_names_something_that_exists(overlay):
    config_maps = {name: set(m["data"]) for name, m in by_kind(overlay, "ConfigMap").items()}
    secrets = {name: set(secret_data(m)) for name, m in by_kind(overlay, "Secret").items()}
    claims = set(by_kind(overlay, "PersistentVolumeClaim"))
    for name, workload in workloads(overlay).items():
        spec = pod_spec(workload)
        templates = workload["spec"].get("volumeClaimTemplates", [])
        volumes = {v["name"] for v in spec.get("volumes", [])}
        volumes |= {template["metadata"]["name"] for template in templates}
        for volume in spec.get("volumes", []):
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims, name
        for container in spec["containers"]:
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in config_maps, name
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets, name
            for env in container.get("env", []):
                ref = env.get("valueFrom", {})
                if "configMapKeyRef" in ref:
                    ref = ref["configMapKeyRef"]
                    assert ref["key"] in config_maps[ref["name"]], f"{name}: {env['name']}"
                if "secretKeyRef" in ref:
                    ref = ref["secretKeyRef"]
                    assert ref["key"] in secrets[ref["name"]], f"{name}: {env['name']}"
            for mount in container.get("volumeMounts", []):
                assert mount["name"] in volumes, f"{name}: no volume {mount['name']}"
    scaled = {m["kind"]: set() for m in overlay}
    for m in overlay:
        scaled[m["kind"]].add(m["metadata"]["name"])
    for name, hpa in by_kind(overlay, "HorizontalPodAutoscaler").items():
        target = hpa["spec"]["scaleTargetRef"]
        assert target["name"] in scaled.get(target["kind"], set()), f"HPA {name}"
    services = by_kind(overlay, "Service")
    for rule in by_kind(overlay, "Ingress")["edge"]["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            names = {p.get("name") for p in services[backend["name"]]["spec"]["ports"]}
            assert backend["port"]["name"] in names


def test_database_url_carries_the_postgis_password(overlay):
    data = secret_data(by_kind(overlay, "Secret")["micrographia-secrets"])
    url = urlsplit(data["database-url"])
    postgis = pod_spec(by_kind(overlay, "StatefulSet")["postgis"])["containers"][0]
    env = {e["name"]: e for e in postgis["env"]}
    assert url.username == env["POSTGRES_USER"]["value"]
    assert url.path.lstrip("/") == env["POSTGRES_DB"]["value"]
    key = env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"]
    assert url.password == data[key]


def claim_at(workload: Manifest, path: str) -> str | None:
    """The PersistentVolumeClaim a workload's containers see at `path`, if any."""
    spec = pod_spec(workload)
    claims = {
        v["name"]: v["persistentVolumeClaim"]["claimName"]
        for v in spec.get("volumes", [])
        if "persistentVolumeClaim" in v
    }
    for container in spec["containers"]:
        for mount in container.get("volumeMounts", []):
            if mount["mountPath"] == path or path.startswith(mount["mountPath"] + "/"):
                return claims.get(mount["name"])
    return None


def test_data_folders_are_on_the_shared_volumes(overlay):
    values = configured_values(overlay)
    deployed = workloads(overlay)
    claims = by_kind(overlay, "PersistentVolumeClaim")
    readers = {
        "MICROGRAPHIA_SLIDES_DIR": ["slides"],
        "MICROGRAPHIA_DATA_ROOTS": ["microscopy", "analysis", "dask-worker"],
    }
    for key, names in readers.items():
        for folder in values[key].split(":"):
            for name in names:
                claim = claim_at(deployed[name], folder)
                assert claim, f"{name} does not mount {key}={folder}"
                assert "ReadWriteMany" in claims[claim]["spec"]["accessModes"], claim
    weights = values["MICROGRAPHIA_INFERENCE_WEIGHTS"]
    if weights.startswith("/"):
        assert claim_at(deployed["inference"], weights), f"inference cannot read {weights}"


# --- Network policies -----------------------------------------------------------


def endpoints(manifests: list[Manifest]) -> dict[str, Endpoint]:
    found = {
        name: Endpoint(name, NAMESPACE, pod_labels(workload), named_ports(workload))
        for name, workload in workloads(manifests).items()
    }
    found["ingress-nginx"] = Endpoint(
        "ingress-nginx", "ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"}
    )
    return found


def listening_port(manifests: list[Manifest], name: str) -> int:
    """The port callers use: the Service's target, or any port for Dask workers."""
    service = by_kind(manifests, "Service").get(name)
    if service is None:
        return 40123  # Dask workers listen on ports of their choosing
    workload = workloads(manifests)[name]
    target = service["spec"]["ports"][0].get("targetPort", service["spec"]["ports"][0]["port"])
    return named_ports(workload)[target] if isinstance(target, str) else target


def test_network_policies_allow_exactly_the_calls_the_platform_makes(overlay):
    policies = list(by_kind(overlay, "NetworkPolicy").values())
    everyone = endpoints(overlay)
    stranger = Endpoint("stranger", "default", {"app.kubernetes.io/name": "edge"})
    for target_name in workloads(overlay):
        target = everyone[target_name]
        port = listening_port(overlay, target_name)
        for source_name, source in [*everyone.items(), ("stranger", stranger)]:
            expected = (source_name, target_name) in ALLOWED
            assert allows(policies, source, target, port) == expected, (
                f"{source_name} -> {target_name}:{port} should be "
                f"{'allowed' if expected else 'denied'}"
            )


def test_every_pod_resolves_names_and_only_inference_reaches_out(overlay):
    policies = list(by_kind(overlay, "NetworkPolicy").values())
    dns = Endpoint("kube-dns", "kube-system", {"k8s-app": "kube-dns"})
    internet = Endpoint("internet", ip="140.82.112.3")
    for name, source in endpoints(overlay).items():
        if source.namespace != NAMESPACE:
            continue
        assert allows(policies, source, dns, 53, "UDP"), f"{name} cannot resolve names"
        assert allows(policies, source, internet, 443) == (name == "inference"), name
    # A rule's ports are honoured: the Dask dashboard is not open to the scheduler's clients.
    everyone = endpoints(overlay)
    assert not allows(policies, everyone["microscopy"], everyone["dask-scheduler"], 8787)


def test_call_graph_covers_the_code():
    """The peers a service reaches, its database and its Dask use are all in the graph,
    so a new call can't ship without its NetworkPolicy."""
    for name in SERVICE_NAMES:
        code = "\n".join(p.read_text() for p in (REPO_ROOT / "services" / name).rglob("*.py"))
        named = re.findall(r"""(?:channel|address_of)\(\s*["'](\w+)["']""", code)
        peers = (set(named) | set(re.findall(r"\.(\w+)_address\b", code))) & set(SERVICE_NAMES)
        assert peers <= CALLS.get(name, set()), f"{name} calls {peers}: update CALLS and k8s/"
        if "database_url" in code:
            assert name in DATABASE_USERS, f"{name} uses the database: update k8s/"
        if "dask_scheduler" in code:
            assert name in DASK_CLIENTS, f"{name} submits to Dask: update k8s/"
