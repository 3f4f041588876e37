"""Render a kustomization as `kustomize build` does, for the features k8s/ uses.

No kustomize binary installs from PyPI or Debian (bookworm's kubernetes-client
is 1.20, with a kustomize that predates `labels` and `replicas`), so the tests
render with this small renderer, and check it against `kubectl kustomize` (or
`kustomize build`) wherever one is on PATH.

Supported: resources (files and kustomization folders), patches (strategic
merge, from a file or inline, matched by the patch's own kind and name or by a
`target`), namespace, labels (metadata only), replicas and images, applied in
kustomize's order. A kustomization that uses anything else is refused, so a new
feature can't be silently ignored.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]

SUPPORTED = {
    *("apiVersion", "kind", "resources", "patches"),
    *("namespace", "labels", "replicas", "images"),
}

CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "IngressClass",
    "PersistentVolume",
    "PriorityClass",
    "StorageClass",
}

# Strategic merge keys of the lists our patches touch (from the Kubernetes API
# types' patchMergeKey); every other list is replaced whole, as kustomize does.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
}

WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


class UnsupportedKustomization(ValueError):
    """The kustomization uses a feature this renderer does not implement."""


def render(folder: Path) -> list[Manifest]:
    """Every manifest `kustomize build folder` would print (order aside)."""
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise UnsupportedKustomization(f"{folder}: {sorted(unknown)} not supported")
    manifests: list[Manifest] = []
    for entry in kustomization.get("resources", []):
        path = folder / entry
        if path.is_dir():
            manifests += render(path)
        elif path.is_file():
            manifests += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
        else:
            raise FileNotFoundError(f"{path}, listed in {folder}, does not exist")
    for patch in kustomization.get("patches", []):
        apply_patch(manifests, folder, patch)
    if "namespace" in kustomization:
        for manifest in manifests:
            if manifest["kind"] not in CLUSTER_SCOPED:
                manifest["metadata"]["namespace"] = kustomization["namespace"]
    for label in kustomization.get("labels", []):
        add_labels(manifests, label)
    for replicas in kustomization.get("replicas", []):
        set_replicas(manifests, replicas)
    for image in kustomization.get("images", []):
        set_image(manifests, image)
    return manifests


def apply_patch(manifests: list[Manifest], folder: Path, entry: Manifest) -> None:
    if "path" in entry:
        patches = [doc for doc in yaml.safe_load_all((folder / entry["path"]).read_text()) if doc]
    else:
        patches = [doc for doc in yaml.safe_load_all(entry["patch"]) if doc]
    for patch in patches:
        if not isinstance(patch, dict):
            raise UnsupportedKustomization(f"{folder}: only strategic merge patches are supported")
        target = entry.get("target") or {"kind": patch["kind"], "name": patch["metadata"]["name"]}
        if set(target) - {"kind", "name"}:
            raise UnsupportedKustomization(f"{folder}: patch targets by kind and name only")
        matches = [
            manifest
            for manifest in manifests
            if manifest["kind"] == target["kind"] and manifest["metadata"]["name"] == target["name"]
        ]
        if not matches:
            raise LookupError(f"{folder}: patch target {target} matches no resource")
        for manifest in matches:
            body = {key: value for key, value in patch.items() if key not in ("apiVersion", "kind")}
            body.get("metadata", {}).pop("name", None)
            manifest.update(merge(manifest, body))


def merge(original: Any, patch: Any, key: str | None = None) -> Any:
    """Strategic merge: maps merge, null deletes, lists merge by their key or are replaced."""
    if isinstance(original, dict) and isinstance(patch, dict):
        merged = dict(original)
        for name, value in patch.items():
            if value is None:
                merged.pop(name, None)
            elif name in merged:
                merged[name] = merge(merged[name], value, name)
            else:
                merged[name] = copy.deepcopy(value)
        return merged
    if isinstance(original, list) and isinstance(patch, list) and MERGE_KEYS.get(key or ""):
        # As kustomize orders them: the patch's items (merged into their originals),
        # then the originals the patch does not name.
        field = MERGE_KEYS[key or ""]
        originals = {item[field]: item for item in original}
        named = {item[field] for item in patch}
        merged = [
            merge(originals[item[field]], item) if item[field] in originals else copy.deepcopy(item)
            for item in patch
        ]
        return merged + [copy.deepcopy(item) for item in original if item[field] not in named]
    return copy.deepcopy(patch)


def add_labels(manifests: list[Manifest], entry: Manifest) -> None:
    if entry.get("includeSelectors") or entry.get("includeTemplates"):
        raise UnsupportedKustomization("labels: only metadata labels are supported")
    for manifest in manifests:
        manifest["metadata"].setdefault("labels", {}).update(entry["pairs"])


def set_replicas(manifests: list[Manifest], entry: Manifest) -> None:
    matches = [
        m for m in manifests if m["kind"] in WORKLOADS and m["metadata"]["name"] == entry["name"]
    ]
    if not matches:
        raise LookupError(f"replicas: no workload named {entry['name']}")
    for manifest in matches:
        manifest["spec"]["replicas"] = entry["count"]


def set_image(manifests: list[Manifest], entry: Manifest) -> None:
    for container in containers(manifests):
        name, tag = split_image(container["image"])
        if name != entry["name"]:
            continue
        new_name = entry.get("newName", name)
        if "digest" in entry:
            container["image"] = f"{new_name}@{entry['digest']}"
        else:
            new_tag = entry.get("newTag", tag)
            container["image"] = f"{new_name}:{new_tag}" if new_tag else new_name


def split_image(image: str) -> tuple[str, str | None]:
    """("registry:5000/name", "tag") from "registry:5000/name:tag"."""
    name, _, _digest = image.partition("@")
    head, _, last = name.rpartition("/")
    if ":" in last:
        last, tag = last.split(":", 1)
        return f"{head}/{last}" if head else last, tag
    return name, None


def pod_spec(manifest: Manifest) -> Manifest | None:
    """The pod template's spec of a workload, None for anything else."""
    if manifest["kind"] not in WORKLOADS:
        return None
    return manifest["spec"]["template"]["spec"]


def containers(manifests: list[Manifest]) -> list[Manifest]:
    found = []
    for manifest in manifests:
        spec = pod_spec(manifest)
        if spec is not None:
            found += spec.get("initContainers", []) + spec["containers"]
    return found


def kustomize_command() -> list[str] | None:
    """The real kustomize on this machine, if any."""
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


def render_with_kustomize(folder: Path, command: list[str]) -> list[Manifest]:
    result = subprocess.run(
        [*command, str(folder)], capture_output=True, text=True, timeout=120, check=True
    )
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]
