"""Merge: per-FOV trace CSVs with known rows into per-sample and tidy per-feature files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from common.errors import InvalidArgument
from services.microscopy.core.workflow.merge import BASE_COLUMNS, merge_samples, read_samples

FEATURES = ("area_ch_0", "intensity_total_ch_1")


def write_traces(folder: Path, fov: int, n_cells: int = 2, n_frames: int = 3) -> Path:
    """Cell c of FOV f at frame t: area = 100 f + 10 c + t; cell 1 is not good."""
    path = folder / f"fov_{fov:03d}" / f"movie_fov_{fov:03d}_traces.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*BASE_COLUMNS, *FEATURES, "parent"])
        for cell in range(n_cells):
            for frame in range(n_frames):
                good = cell != 1
                area = 100 * fov + 10 * cell + frame
                writer.writerow(
                    [fov, cell, frame, frame * 10.0, good, 5, 5, 0, 0, 9, 9, area, area * 2.5, -1]
                )
    return path


@pytest.fixture
def results(tmp_path: Path) -> Path:
    folder = tmp_path / "output"
    for fov in (0, 1, 2, 5):
        write_traces(folder, fov)
    return folder


def samples_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "samples.yaml"
    path.write_text(text)
    return path


def read_rows(path: str) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_one_merged_file_per_sample_and_tidy_files_per_feature(tmp_path, results):
    yaml_path = samples_file(
        tmp_path, "samples:\n  - {name: control, fovs: '0-1'}\n  - {name: treated, fovs: [5, 2]}\n"
    )
    summary = merge_samples(yaml_path, results, tmp_path / "merged")
    merged = tmp_path / "merged"
    assert summary.merged_files == [
        str(merged / "control_merged.csv"),
        str(merged / "treated_merged.csv"),
    ]
    assert sorted(Path(p).name for p in summary.feature_files) == [
        "control_area_ch_0.csv",
        "control_intensity_total_ch_1.csv",
        "treated_area_ch_0.csv",
        "treated_intensity_total_ch_1.csv",
    ]
    assert (summary.samples_processed, summary.files_created) == (2, 6)
    assert summary.total_cells == 4  # one good cell per FOV

    control = read_rows(summary.merged_files[0])
    assert len(control) == 2 * 2 * 3  # every row, good or not
    assert [row["fov"] for row in control[:1] + control[-1:]] == ["0", "1"]

    treated_area = read_rows(str(merged / "treated_area_ch_0.csv"))
    assert list(treated_area[0]) == ["time", "fov", "cell", "value"]
    assert {row["fov"] for row in treated_area} == {"2", "5"}
    assert all(row["cell"] == "0" for row in treated_area)  # only good rows
    by_key = {(row["fov"], row["time"]): float(row["value"]) for row in treated_area}
    assert by_key[("5", "20.0")] == 502.0
    intensity = read_rows(str(merged / "treated_intensity_total_ch_1.csv"))
    assert float(intensity[0]["value"]) == 200 * 2.5
    assert not list(merged.glob(".*.tmp"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("samples:\n  - {name: a, fovs: '3-1'}\n", "sample 'a': fovs item '3-1' ends before"),
        ("samples:\n  - {name: a, fovs: '0,x'}\n", "fovs item 'x' is not a number"),
        ("samples:\n  - {name: a, fovs: [-1]}\n", "negative"),
        ("samples:\n  - {name: a}\n", "needs `name` and `fovs`"),
        ("samples:\n  - {name: a, fovs: 0}\n  - {name: a, fovs: 1}\n", "a is used twice"),
        ("samples:\n  - {name: ../x, fovs: 0}\n", "sample name '../x'"),
        ("samples: [\n", "not valid YAML"),
        ("other: 1\n", "non-empty list"),
    ],
)
def test_bad_samples_yaml_is_named(tmp_path, results, text, message):
    with pytest.raises(InvalidArgument, match=message.replace("(", r"\(")):
        read_samples(samples_file(tmp_path, text))


def test_missing_fovs_are_named_and_nothing_is_written(tmp_path, results):
    yaml_path = samples_file(
        tmp_path, "samples:\n  - {name: control, fovs: '0-3'}\n  - {name: t, fovs: '5-6'}\n"
    )
    with pytest.raises(InvalidArgument) as raised:
        merge_samples(yaml_path, results, tmp_path / "merged")
    assert "sample 'control': FOV 3; sample 't': FOV 6" in raised.value.message
    assert not (tmp_path / "merged").exists()


def test_a_fov_with_other_columns_fails_without_leaving_files(tmp_path, results):
    odd = results / "fov_002" / "movie_fov_002_traces.csv"
    odd.write_text(",".join([*BASE_COLUMNS, "area_ch_0"]) + "\n")
    yaml_path = samples_file(tmp_path, "samples:\n  - {name: control, fovs: '0-2'}\n")
    with pytest.raises(InvalidArgument, match="other columns"):
        merge_samples(yaml_path, results, tmp_path / "merged")
    assert list((tmp_path / "merged").iterdir()) == []
