"""process, merge, fit, models and jobs ls|show|cancel|watch against the real
services: a movie with known cells processed, merged and fitted; traces with a known
truth; real instrument files;
unknown jobs; Ctrl-C that cancels the job it follows."""

from __future__ import annotations

import asyncio
import csv
import json
import math
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
import tifffile
from mcp import Client

from testing.synthetic_tiff import write_synthetic_ome_tiff
from tests.cli.helpers import failed, invoke, ok

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMELAPSE = "nd2/arcadia-example-timelapse.nd2"


# ---------------------------------------------------------------- jobs


def test_jobs_ls_lists_the_active_jobs(cli):
    data = ok(cli("jobs", "ls", "--json"))
    assert data["total_active"] == len(data["active_jobs"])
    table = cli("jobs", "ls")
    assert table.exit_code == 0
    assert "active jobs" in table.stdout


@pytest.mark.parametrize("command", ["show", "cancel", "watch"])
def test_an_unknown_job_is_job_not_found(cli, command):
    job_id = str(uuid.uuid4())
    outcome = cli("jobs", command, job_id, "--json")
    body = failed(outcome, "JOB_NOT_FOUND")
    assert body["status"] == 404
    plain = cli("jobs", command, job_id, "--kind", "fitting")
    assert plain.exit_code == 1
    assert "JOB_NOT_FOUND" in plain.stderr


def test_an_unknown_kind_is_a_usage_error(cli):
    outcome = cli("jobs", "show", str(uuid.uuid4()), "--kind", "painting")
    assert outcome.exit_code == 2
    assert "--kind" in outcome.stderr


# ---------------------------------------------------------------- process and merge


# (y, x, radius) of each cell at frame 0; every cell drifts one pixel right per frame.
CELLS = ((60, 50, 14), (150, 120, 12), (220, 200, 13), (90, 210, 11))
SIZE = 288  # over 256 px: background correction wants more than one tile per axis


def cell_planes(fov: int, t: int) -> list[np.ndarray]:
    """Phase: textured discs on a quiet background; fluorescence: +400 in each disc."""
    rng = np.random.default_rng([fov, t])
    phase = rng.normal(1000, 8, (SIZE, SIZE))
    yy, xx = np.mgrid[:SIZE, :SIZE]
    fluorescence = 150.0 + xx * 0.5 + rng.normal(0, 4, (SIZE, SIZE))
    for y, x, radius in CELLS:
        inside = (yy - y - fov) ** 2 + (xx - x - t) ** 2 <= radius**2
        phase[inside] = rng.normal(1000, 150, int(inside.sum()))
        fluorescence[inside] += 400.0
    return [np.clip(np.rint(p), 0, 65535).astype(np.uint16) for p in (phase, fluorescence)]


@pytest.fixture(scope="module")
def cell_movie(data_root) -> Path:
    """Two FOVs of six frames, four cells each, as a multi-image OME-TIFF."""
    folder = data_root / "cli-process"
    folder.mkdir(exist_ok=True)
    path = folder / "cells.ome.tif"
    with tifffile.TiffWriter(path, ome=True) as writer:
        for fov in range(2):
            planes = np.stack([np.stack(cell_planes(fov, t)) for t in range(6)])
            writer.write(planes, metadata={"axes": "TCYX"})
    return path


@pytest.fixture(scope="module")
def processed(platform, cell_movie) -> dict:
    """The movie processed once by `micrographia process`."""
    folder = cell_movie.parent
    config = folder / "config.yaml"
    config.write_text(
        "channels:\n"
        "  pc: {channel: 0, features: [area]}\n"
        "  fl: [{channel: 1, features: [intensity_total]}]\n"
        "params: {min_frames: 3}\n"
    )
    out = folder / "out"
    outcome = invoke(
        platform.base_url,
        *("process", str(cell_movie), "--out", str(out)),
        *("--config", str(config), "--fovs", "0-1", "--workers", "2", "--json"),
    )
    return {"outcome": outcome, "folder": folder, "out": out}


def test_process_runs_the_workflow_and_prints_its_results(processed):
    results = ok(processed["outcome"])
    assert results["output_dir"] == str(processed["out"])
    assert len(results["traces"]) == 2
    assert all(Path(trace).is_file() for trace in results["traces"])
    # Cells found and kept as good (the border margin drops those near the edge).
    assert 0 < results["stats"]["total_cells"] <= 2 * len(CELLS)


def test_merge_writes_one_file_per_sample(cli, processed):
    ok(processed["outcome"])
    folder = processed["folder"]
    samples = "samples:\n  - {name: control, fovs: '0'}\n  - {name: treated, fovs: '1'}\n"
    (folder / "samples.yaml").write_text(samples)
    merged = ok(
        cli(
            *("merge", str(folder / "samples.yaml")),
            *("--in", str(processed["out"]), "--out", str(folder / "merged"), "--json"),
        )
    )
    assert merged["stats"]["samples_processed"] == 2
    processed_cells = processed["outcome"].data["stats"]["total_cells"]
    assert merged["stats"]["total_cells"] == processed_cells
    for name in ("control", "treated"):
        assert str(folder / "merged" / f"{name}_merged.csv") in merged["merged_files"]
        assert (folder / "merged" / f"{name}_merged.csv").is_file()

    # The README's third command: fit a sample's cells.
    control = folder / "merged" / "control_merged.csv"
    fitted = ok(cli("fit", str(control), "--model", "maturation", "--json"))
    with control.open() as handle:
        rows = list(csv.DictReader(handle))
    cells = {(row["fov"], row["cell"]) for row in rows}
    bad = {(row["fov"], row["cell"]) for row in rows if row["good"].lower() not in ("true", "1")}
    # Cells the workflow flagged not good are left out of fitting by default.
    assert fitted["summary"]["total_cells"] == len(cells - bad) > 0


def test_merge_names_a_missing_fov(cli, processed):
    ok(processed["outcome"])
    folder = processed["folder"]
    (folder / "bad.yaml").write_text("samples:\n  - {name: control, fovs: '0-3'}\n")
    outcome = cli(
        *("merge", str(folder / "bad.yaml")),
        *("--in", str(processed["out"]), "--out", str(folder / "bad-merged"), "--json"),
    )
    body = failed(outcome, outcome.data.get("error_code", "?"))
    assert body["status"] in (400, 404)
    assert "FOV" in body["error"]


def test_process_refuses_a_bad_config_before_a_job(cli, shared_data, data_root, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("channels:\n  phase: {channel: 7}\n")
    out = data_root / "cli-bad-config"
    outcome = cli(
        "process",
        str(shared_data / TIMELAPSE),
        "--out",
        str(out),
        "--config",
        str(config),
        "--json",
    )
    body = failed(outcome, "INVALID_PARAMETERS")
    assert "channel 7" in body["error"]
    assert not out.exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--segmentation", "delta"], "supported: logstd, cellpose"),
        (["--segmentation", "cellpose", "--diameter", "5000"], "parameters.cellpose.diameter"),
    ],
)
def test_process_checks_the_segmentation_options_before_a_job(cli, data_root, options, message):
    (data_root / "cli-segmentation").mkdir(exist_ok=True)
    movie = write_synthetic_ome_tiff(
        data_root / "cli-segmentation" / "movie.ome.tif",
        n_frames=2,
        n_channels=1,
        height=32,
        width=32,
    )
    out = data_root / "cli-bad-segmentation"
    outcome = cli("process", str(movie), "--out", str(out), *options, "--json")
    body = failed(outcome, "INVALID_PARAMETERS")
    assert message in body["error"]
    assert not out.exists()


def test_an_unreadable_config_is_a_usage_error(cli, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("channels: [unclosed\n")
    outcome = cli("process", "movie.nd2", "--out", "out", "--config", str(config), "--json")
    body = failed(outcome, "INVALID_PARAMETERS", exit_code=2)
    assert "cannot read the config" in body["error"]


def test_process_outside_the_data_roots_is_refused(cli, shared_data):
    outcome = cli("process", str(shared_data / TIMELAPSE), "--out", "/etc/micrographia", "--json")
    failed(outcome, "FORBIDDEN")


# ---------------------------------------------------------------- fitting

TRUTH = {"amplitude": 2.0, "rate": 0.3, "offset": 0.1}


def maturation(t: float, amplitude: float, rate: float, offset: float) -> float:
    return amplitude * (1 - math.exp(-rate * t)) + offset


@pytest.fixture
def traces(data_root: Path) -> Path:
    """20 cells following the maturation model exactly, each with its own amplitude."""
    path = data_root / f"cli-traces-{uuid.uuid4().hex[:6]}.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["cell", "time", "value"])
        for cell in range(20):
            amplitude = TRUTH["amplitude"] * (1 + 0.02 * cell)
            for step in range(40):
                t = step * 0.5
                writer.writerow([cell, t, maturation(t, amplitude, TRUTH["rate"], TRUTH["offset"])])
    return path


def test_models_lists_maturation(cli):
    models = ok(cli("models", "--json"))
    names = {model["name"]: model for model in models}
    assert "maturation" in names
    assert {p["name"] for p in names["maturation"]["parameters"]} >= {"rate", "amplitude"}
    table = cli("models")
    assert "maturation" in table.stdout


def test_fit_recovers_the_known_rate(cli, traces):
    results = ok(
        cli(
            *("fit", str(traces), "--model", "maturation"),
            *("--param", "rate=0.2", "--bounds", "rate=0.01:1", "--json"),
        )
    )
    assert results["model_type"] == "maturation"
    assert results["summary"]["total_cells"] == 20
    assert results["summary"]["successful_fits"] == 20
    rate = {p["name"]: p for p in results["parameters"]}["rate"]
    assert abs(rate["mean"] - TRUTH["rate"]) < 0.01
    summary = cli("fit", str(traces), "--model", "maturation")
    assert summary.exit_code == 0
    assert "20 of 20 cells fitted" in summary.stdout


def test_fit_no_wait_then_watch_and_show(cli, traces):
    started = ok(cli("fit", str(traces), "--model", "maturation", "--no-wait", "--json"))
    job_id = started["job_id"]
    final = ok(cli("jobs", "watch", job_id, "--json"))
    assert final["status"] == "completed"
    shown = ok(cli("jobs", "show", job_id, "--json"))
    assert shown["progress"]["total_cells"] == 20
    again = cli("jobs", "cancel", job_id, "--json")
    failed(again, "JOB_ALREADY_COMPLETED")


@pytest.mark.parametrize(
    ("args", "code", "exit_code", "words"),
    [
        (["--model", "no-such-model"], "INVALID_PARAMETERS", 1, "no-such-model"),
        (["--model", "maturation", "--param", "rate"], "INVALID_PARAMETERS", 2, "NAME=VALUE"),
        (["--model", "maturation", "--bounds", "rate=1"], "INVALID_PARAMETERS", 2, "LOW:HIGH"),
        (["--model", "maturation", "--param", "rate=fast"], "INVALID_PARAMETERS", 2, "number"),
    ],
)
def test_fit_refuses_bad_input_by_name(cli, traces, args, code, exit_code, words):
    outcome = cli("fit", str(traces), *args, "--json")
    body = failed(outcome, code, exit_code)
    assert words in body["error"]


def test_fit_of_a_missing_csv_is_file_not_found(cli, data_root):
    outcome = cli("fit", str(data_root / "missing.csv"), "--model", "maturation", "--json")
    failed(outcome, "FILE_NOT_FOUND")


# ---------------------------------------------------------------- Ctrl-C


def _simulated_workflow(platform) -> str:
    """A 60-second simulated workflow job (the MCP tool's `fake` task)."""

    async def create() -> str:
        async with Client(f"{platform.base_url}/mcp") as client:
            config = {"channels": {"pc": {"channel": 0}}}
            arguments = {"file_path": "unused", "config": config, "fake": True}
            result = await client.call_tool("create_processing_task", arguments)
        text = result.content[0].text
        assert not result.is_error, text
        return json.loads(text)["id"]

    return asyncio.run(create())


def _sigint_ignored_and_blocked() -> None:
    """What a child inherits from a parent that ignores SIGINT (a shell's `&` without
    job control; a test runner started that way) or blocks it: the CLI's Ctrl-C was
    lost there, and the whole suite ran so on a fresh machine."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


@pytest.mark.parametrize(
    "started",
    [None, _sigint_ignored_and_blocked],
    ids=["from-a-terminal", "sigint-ignored-and-blocked-by-its-parent"],
)
def test_ctrl_c_asks_and_cancels_the_followed_job(platform, cli, started):
    job_id = _simulated_workflow(platform)
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "--url", platform.base_url, "jobs", "watch", job_id],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=started,
    )
    try:
        first = process.stderr.readline()  # printed once the job is being followed
        assert first.startswith(f"Following workflow job {job_id}"), first
        process.stdin.write("y\n")
        process.stdin.flush()
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=60)
        assert process.returncode == 130, rest
    finally:
        if process.poll() is None:
            process.kill()
    output = first + rest
    assert f"Cancel workflow job {job_id}?" in output
    assert "Traceback" not in output
    status = ok(cli("jobs", "show", job_id, "--json"))
    assert status["status"] in {"cancelling", "cancelled"} or status.get("cancel_requested")
