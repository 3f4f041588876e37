"""The one processing configuration: REST and MCP forms, its schema, and every check
made before a job exists (against a real synthetic file and real data roots)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from common.errors import InvalidArgument, PermissionDenied
from services.microscopy.core import DataRoots, open_reader
from services.microscopy.core.workflow.config import (
    ProcessingConfig,
    config_schema,
    config_yaml,
    parse_config,
    parse_ranges,
    plan_workflow,
)
from services.microscopy.core.workflow.runner import fov_tasks
from testing.synthetic_tiff import write_synthetic_ome_tiff

REST_FORM = {
    "microscopy_path": "/data/experiment.ome.tif",
    "output_dir": "/data/output",
    "channels": {
        "phase": {"channel": 0, "features": ["area", "aspect_ratio"]},
        "fluorescence": [{"channel": 1, "features": ["intensity_total"]}],
    },
    "parameters": {"fov_start": 0, "fov_end": 2, "batch_size": 2, "n_workers": 4},
}
MCP_FORM = {
    "microscopy_path": "/data/experiment.ome.tif",
    "output_dir": "/data/output",
    "channels": {
        "pc": {"channel": 0, "features": ["area", "aspect_ratio"]},
        "fl": [{"channel": 1, "features": ["intensity_total"]}],
    },
    "params": {"positions": "0-2", "batch_size": 2, "n_workers": 4},
}


def test_rest_and_mcp_forms_are_one_model():
    rest, mcp = parse_config(REST_FORM), parse_config(MCP_FORM)
    assert rest.channels == mcp.channels
    assert rest.parameters.fovs(10) == mcp.parameters.fovs(10) == [0, 1, 2]
    assert mcp.parameters.segmentation_method == "logstd"
    assert mcp.parameters.background_weight == 1.0
    assert (mcp.parameters.min_frames, mcp.parameters.border_margin) == (30, 50)


def test_positions_range_strings():
    assert parse_ranges("0-3, 7,5") == [0, 1, 2, 3, 5, 7]
    assert parse_ranges("4") == [4]
    for bad, named in [("3-1", "'3-1'"), ("a", "'a'"), ("-2", "'-2'"), ("1,,2", "empty")]:
        with pytest.raises(ValueError, match=named):
            parse_ranges(bad)


def test_schema_describes_both_forms_defaults_and_the_supported_method():
    schema = config_schema()
    assert schema["$schema"].endswith("2020-12/schema")
    assert set(schema["required"]) == {"microscopy_path", "channels"}
    parameters = schema["$defs"]["ProcessingParameters"]["properties"]
    assert parameters["segmentation_method"]["default"] == "logstd"
    assert "logstd" in parameters["segmentation_method"]["description"]
    assert parameters["background_weight"]["maximum"] == 1.0
    assert "MCP: `pc`" in schema["$defs"]["Channels"]["properties"]["phase"]["description"]
    # What the schema describes is what the model accepts.
    assert ProcessingConfig.model_validate(REST_FORM)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"params": {"segmentation_method": "delta"}},
            "segmentation method 'delta' is not supported; supported: logstd, cellpose",
        ),
        (
            {"channels": {"pc": {"channel": 0, "features": ["volume"]}}},
            "unknown feature id 'volume' for the phase; supported: area, aspect_ratio",
        ),
        (
            {"channels": {"pc": {"channel": 0}, "fl": [{"channel": 1, "features": ["area"]}]}},
            "unknown feature id 'area' for the fluorescence channel 1",
        ),
        ({"params": {"positions": "5-2"}}, "positions item '5-2' ends before it starts"),
        ({"params": {"background_weight": 1.5}}, "params.background_weight"),
        ({"params": {"fov_start": 4, "fov_end": 2}}, "fov_end 2 is before fov_start 4"),
        ({"channels": {"fl": []}}, "channels.phase: Field required"),
        ({"params": {"colour": "red"}}, "params.colour: Extra inputs are not permitted"),
    ],
)
def test_bad_configs_are_named(change, message):
    with pytest.raises(InvalidArgument) as raised:
        parse_config({**MCP_FORM, **change})
    assert message in raised.value.message
    assert raised.value.code == "INVALID_PARAMETERS"


@pytest.fixture(scope="module")
def movie(tmp_path_factory) -> tuple[DataRoots, Path]:
    """A real 2-channel file with one FOV, 4 frames, inside a real data root."""
    root = tmp_path_factory.mktemp("root")
    path = write_synthetic_ome_tiff(
        root / "movie.ome.tif", n_frames=4, n_channels=2, height=32, width=48
    )
    return DataRoots([root]), path


def _plan(movie, **changes):
    roots, path = movie
    config = parse_config({**MCP_FORM, "microscopy_path": str(path), "output_dir": None, **changes})
    with open_reader(path) as reader:
        return plan_workflow(config, reader.metadata, roots)


def test_plan_against_the_file(movie):
    _, path = movie
    plan = _plan(movie, params={"positions": "0"})
    assert plan.fovs == (0,) and plan.n_frames == 4 and plan.frame_shape == (32, 48)
    assert plan.output_dir == path.parent / "movie_output"  # default beside the file
    (task,) = fov_tasks(plan)
    assert task.microscopy_path == str(path) and task.output_dir == str(plan.output_dir)
    assert [spec.channel for spec in task.fluorescence] == [1]
    written = yaml.safe_load(config_yaml(plan))
    assert written["fovs"] == [0] and written["channels"]["phase"]["features"] == [
        "area",
        "aspect_ratio",
    ]
    assert written["parameters"]["background_method"] == "pspline"
    chosen = yaml.safe_load(config_yaml(_plan(movie, params={"background_method": "reference"})))
    assert chosen["parameters"]["background_method"] == "reference"
    # processing_config.yaml is enough to re-run: it validates into the same configuration.
    rerun = parse_config({key: value for key, value in written.items() if key != "fovs"})
    assert rerun.channels == plan.config.channels and rerun.parameters == plan.config.parameters


def test_channel_and_fov_outside_the_file(movie):
    with pytest.raises(InvalidArgument, match=r"channel 2 is outside the file, which has 2"):
        _plan(movie, channels={"pc": {"channel": 0}, "fl": [{"channel": 2}]})
    with pytest.raises(InvalidArgument, match=r"FOV 1, 3 is outside the file, which has 1 FOV"):
        _plan(movie, params={"positions": "0,1,3"})


def test_output_outside_the_data_roots_is_forbidden(movie, tmp_path):
    with pytest.raises(PermissionDenied):
        _plan(movie, output_dir=str(tmp_path / "elsewhere"))
    with pytest.raises(PermissionDenied):
        _plan(movie, output_dir="../../escape")
