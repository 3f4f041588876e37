"""Which installed distributions does our code import when a process starts?

`python -m tests.platform.imports MODULE` imports MODULE, reads the source of
every project module that import loaded, and prints, as JSON, each third-party
module those sources import (at the top or inside functions) with the
distribution that provides it. Run in a subprocess so that imports from one
check don't leak into the next.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = {"micrographia", "common", "services", "edge", "tests"}


PROJECT_PACKAGES = {"common", "services", "edge", "cli", "micrographia"}


def project_sources() -> list[Path]:
    """Source files of the project modules loaded so far (generated code aside)."""
    found = []
    for module in list(sys.modules.values()):
        path = Path(getattr(module, "__file__", None) or "/")
        if path.suffix != ".py" or ROOT not in path.parents or path.stem.endswith("_pb2_grpc"):
            continue
        # Only the project's packages: a virtualenv inside the checkout (.venv) is not ours.
        if path.relative_to(ROOT).parts[0] in PROJECT_PACKAGES:
            found.append(path)
    return found


def imported_names(source: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from pkg import x`: x may be a submodule (namespace packages need it).
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return {
        name
        for name in names
        if name.split(".")[0] not in PROJECT | set(sys.stdlib_module_names) | {"__future__"}
    }


def owner(name: str, candidates: dict[str, list[str]]) -> str | None:
    """The distribution that installed module `name` (namespace packages have several)."""
    origin = Path(_origin(name)).resolve()
    for distribution in candidates.get(name.split(".")[0], []):
        files = importlib.metadata.distribution(distribution).files or []
        if any(str(origin).endswith(str(Path(file))) for file in files):
            return distribution
    return None


def _origin(name: str) -> str | None:
    """The file module `name` comes from; None for an attribute or a namespace package."""
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError:
        return None
    except ValueError:
        # Loaded already with its __spec__ cleared (some packages' lazy shims do this).
        return getattr(sys.modules.get(name), "__file__", None)
    return spec.origin if spec is not None and spec.origin != "namespace" else None


def is_module(name: str) -> bool:
    """A module with code of its own (not an attribute, not a namespace package)."""
    return _origin(name) is not None


def third_party_imports(module: str) -> dict[str, str | None]:
    """Each third-party module our code imports, and the distribution that installed it."""
    importlib.import_module(module)
    candidates = importlib.metadata.packages_distributions()
    names = set().union(*(imported_names(source) for source in project_sources()))
    return {name: owner(name, candidates) for name in names if is_module(name)}


if __name__ == "__main__":
    json.dump(third_party_imports(sys.argv[1]), sys.stdout, indent=1, sort_keys=True)
