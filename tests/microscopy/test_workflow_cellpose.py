"""segmentation_method "cellpose" through the whole real path: REST and MCP, the
microscopy service's FOV workers, SegmentFrames on the inference service, tracking
and extraction. The oracle network (testing/cellpose_oracle.py) must give
back every painted cell on 2048 x 2048 frames; random weights run end to end;
missing weights and bad options are refused before a job exists."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile
from mcp import Client

from testing.cellpose_oracle import (
    PaintedCell,
    crowded_cells,
    match,
    paint_cells,
)
from testing.synthetic_tiff import write_synthetic_ome_tiff
from tests.microscopy.edge_api import data_of, error_of
from tests.microscopy.test_workflow_api import wait_for

SIZE = 2048
# Pixels the cells move right per frame: none, so that the oracle's second frame is
# its first again (its masks-to-flows takes minutes per 2048 px frame on a busy CPU).
DRIFT = 0


def cellpose_host(platform):
    return platform.runners["inference"].service.servicer.cellpose


def body_for(movie: Path, output: Path, **parameters) -> dict:
    return {
        "microscopy_path": str(movie),
        "output_dir": str(output),
        "channels": {
            "phase": {"channel": 0, "features": ["area"]},
            "fluorescence": [{"channel": 1, "features": ["intensity_total"]}],
        },
        "parameters": {"fov_start": 0, "fov_end": 0, "min_frames": 1} | parameters,
    }


def write_painted_movie(path: Path, cells: list[PaintedCell], n_frames: int) -> list[np.ndarray]:
    """T x C(2) x SIZE x SIZE: painted cells (phase) and 100 + 500 inside cells (gfp);
    returns each frame's true labels."""
    truths, planes = [], []
    for t in range(n_frames):
        moved = [PaintedCell(c.y, c.x + DRIFT * t, c.radius) for c in cells]
        frame, truth = paint_cells((SIZE, SIZE), moved)
        gfp = np.where(truth > 0, 600, 100).astype(np.uint16)
        planes += [frame, gfp]
        truths.append(truth)
    tifffile.imwrite(
        path,
        np.stack(planes).reshape(n_frames, 2, SIZE, SIZE),
        ome=True,
        photometric="minisblack",
        metadata={"axes": "TCYX", "Channel": {"Name": ["phase", "gfp"]}},
    )
    return truths


@pytest.mark.slow
def test_oracle_cells_come_back_whole_and_apart_through_the_workflow(
    edge, data_root, oracle_cellpose
):
    cells, pairs = crowded_cells(SIZE)
    folder = data_root / "cellpose-oracle"
    folder.mkdir(exist_ok=True)
    truths = write_painted_movie(folder / "painted.ome.tif", cells, n_frames=2)
    output = folder / "out"
    body = body_for(folder / "painted.ome.tif", output, segmentation_method="cellpose")
    job_id = data_of(edge.post("/api/processing/workflow/start", json=body))["job_id"]
    status = wait_for(edge, job_id, {"completed", "failed", "cancelled"}, timeout=1200)
    assert status["status"] == "completed", status

    fov_dir = output / "fov_000"
    labels = np.load(next(fov_dir.glob("*_labels.npy")), mmap_mode="r")
    tracks_of_cell: dict[int, set[int]] = {k: set() for k in range(1, len(cells) + 1)}
    for t, truth in enumerate(truths):
        found = np.asarray(labels[t])
        matches = match(truth, found)
        # Every cell found, whole (on tile seams too), IoU >= 0.9 ...
        ious = {k: iou for k, (_, iou) in matches.items()}
        assert min(ious.values()) >= 0.9, sorted(ious.items(), key=lambda item: item[1])[:5]
        # ... each its own object: touching pairs apart, nothing merged.
        assert len({label for label, _ in matches.values()}) == len(cells)
        for first, second in pairs:
            assert matches[first + 1][0] != matches[second + 1][0]
        assert int(found.max()) == len(cells)
        for k, (label, _) in matches.items():
            tracks_of_cell[k].add(label)
    # Tracking kept each cell's identity from frame to frame.
    assert all(len(tracks) == 1 for tracks in tracks_of_cell.values())

    traces = pd.read_csv(next(fov_dir.glob("*_traces.csv")))
    assert traces["cell"].nunique() == len(cells)
    assert len(traces) == 2 * len(cells)
    true_area = np.pi * 13.0**2
    assert traces["area_ch_0"].between(0.8 * true_area, 1.2 * true_area).all()
    # Pixels inside the cell are 600 over a background the correction removes.
    per_pixel = traces["intensity_total_ch_1"] / traces["area_ch_0"]
    assert per_pixel.between(400, 600).all(), per_pixel.describe()
    assert oracle_cellpose.batches > 0
    config = (output / "processing_config.yaml").read_text()
    assert "segmentation_method: cellpose" in config


@pytest.fixture(scope="module")
def small_movie(data_root: Path) -> Path:
    folder = data_root / "cellpose-small"
    folder.mkdir(exist_ok=True)
    return write_synthetic_ome_tiff(
        folder / "movie.ome.tif", n_frames=2, n_channels=2, height=48, width=48
    )


@pytest.mark.slow
def test_random_weights_run_end_to_end_through_rest_and_mcp(
    platform, edge, small_movie, cellpose_sam_cut
):
    """The real network (Cellpose-SAM, random weights, cut to two blocks) on the
    service's CPU runtime: its cells mean nothing, but every step runs and both
    front doors complete a job."""
    options = {"diameter": 30, "flow_threshold": 0.4, "cellprob_threshold": 0, "min_size": 15}
    body = body_for(
        small_movie, small_movie.parent / "rest", segmentation_method="cellpose", cellpose=options
    )
    job_id = data_of(edge.post("/api/processing/workflow/start", json=body))["job_id"]

    async def mcp_job() -> str:
        async with Client(f"{platform.base_url}/mcp") as client:
            result = await client.call_tool(
                "create_processing_task",
                {
                    "file_path": str(small_movie),
                    "config": {
                        "channels": {"pc": {"channel": 0, "features": ["area"]}},
                        "params": {
                            "positions": "0",
                            "segmentation_method": "cellpose",
                            "cellpose": {"model": "random", "min_size": 5},
                        },
                        "output_dir": str(small_movie.parent / "mcp"),
                    },
                },
            )
            assert not result.is_error, result.content[0].text
            return json.loads(result.content[0].text)["id"]

    mcp_id = asyncio.run(mcp_job())
    for job in (job_id, mcp_id):
        status = wait_for(edge, job, {"completed", "failed", "cancelled"}, timeout=1200)
        assert status["status"] == "completed", status
    info = cellpose_host(platform)
    assert info is cellpose_sam_cut and info.loaded and info.model == "random"
    assert info.runtime == platform.runners["inference"].service.host.runtime
    masks = np.load(next((small_movie.parent / "rest" / "fov_000").glob("*_mask.npy")))
    assert masks.dtype == np.int32 and masks.shape == (2, 48, 48)


def test_missing_weights_refuse_cellpose_before_a_job_and_logstd_still_runs(
    edge, small_movie, cellpose_without_weights
):
    before = data_of(edge.get("/jobs"))["total_active"]
    output = small_movie.parent / "refused"
    body = error_of(
        edge.post(
            "/api/processing/workflow/start",
            json=body_for(small_movie, output, segmentation_method="cellpose"),
        ),
        400,
        "FAILED_PRECONDITION",
    )
    assert "MICROGRAPHIA_CELLPOSE_WEIGHTS" in body["error"]
    assert "/nonexistent/cpsam.pt does not exist" in body["error"]
    assert data_of(edge.get("/jobs"))["total_active"] == before
    assert not output.exists()

    health = edge.get("/health").json()
    inference = health["backends"]["inference"]
    assert inference["status"] == "serving"
    assert "MICROGRAPHIA_CELLPOSE_WEIGHTS" in inference["error"]

    logstd = data_of(
        edge.post(
            "/api/processing/workflow/start", json=body_for(small_movie, small_movie.parent / "ls")
        )
    )["job_id"]
    assert wait_for(edge, logstd, {"completed", "failed"}, timeout=300)["status"] == "completed"


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"segmentation_method": "delta"}, "supported: logstd, cellpose"),
        (
            {"segmentation_method": "cellpose", "cellpose": {"flow_threshold": -1}},
            "parameters.cellpose.flow_threshold",
        ),
        (
            {"segmentation_method": "cellpose", "cellpose": {"cellprob_threshold": 9}},
            "parameters.cellpose.cellprob_threshold",
        ),
        (
            {"segmentation_method": "cellpose", "cellpose": {"min_size": -3}},
            "parameters.cellpose.min_size",
        ),
        (
            {"segmentation_method": "cellpose", "cellpose": {"diameter": 5000}},
            "parameters.cellpose.diameter",
        ),
    ],
)
def test_bad_cellpose_options_are_refused_before_a_job(edge, small_movie, parameters, message):
    output = small_movie.parent / "bad"
    body = error_of(
        edge.post(
            "/api/processing/workflow/start", json=body_for(small_movie, output, **parameters)
        ),
        400,
        "INVALID_PARAMETERS",
    )
    assert message in body["error"] or message in json.dumps(body["details"])
    assert not output.exists()


def test_a_model_the_service_does_not_serve_is_refused(edge, small_movie):
    body = error_of(
        edge.post(
            "/api/processing/workflow/start",
            json=body_for(
                small_movie,
                small_movie.parent / "other-model",
                segmentation_method="cellpose",
                cellpose={"model": "cyto3"},
            ),
        ),
        400,
        "FAILED_PRECONDITION",
    )
    assert "'cyto3' is not served" in body["error"] and "'random'" in body["error"]
