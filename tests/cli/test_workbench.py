"""`cells`, `mark`, `samples` and `fitted` against the real platform: a cell marked
bad from the terminal is gone from the merge and the fit, and comes back on undo."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.cli.helpers import failed, ok
from tests.microscopy.test_workflow_merge import write_traces


def flags(path: Path) -> dict[int, set[str]]:
    seen: dict[int, set[str]] = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            seen.setdefault(int(row["cell"]), set()).add(row["good"])
    return seen


def test_mark_samples_merge_fit_and_explore_from_the_terminal(cli, data_root):
    folder = data_root / "cli-workbench"
    traces = [write_traces(folder / "out", fov, n_cells=3, n_frames=6) for fov in (0, 1)]
    listed = ok(cli("cells", str(traces[0]), "--sort", "area_ch_0", "--desc", "--json"))
    assert [c["cell"] for c in listed["cells"]] == [2, 1, 0]  # area grows with the cell id
    assert listed["good_cells"] == 2  # write_traces makes cell 1 bad

    marked = ok(cli("mark", str(traces[0]), "--bad", "0:2", "--good", "0:1", "--json"))
    assert marked["cells_changed"] == 2
    assert flags(traces[0]) == {0: {"True"}, 1: {"True"}, 2: {"False"}}
    assert "2 cell(s) changed" not in cli("mark", str(traces[0]), "--bad", "0:2").stdout

    saved = ok(
        cli(
            "samples", "save", str(folder / "samples.yaml"), "--in", str(folder / "out"),
            "--sample", "control=0", "--sample", "treated=1",
            "--merge-into", str(folder / "merged"), "--json",
        )
    )  # fmt: skip
    assert saved["merge"]["stats"]["total_cells"] == 2 + 2
    shown = ok(cli("samples", "show", str(folder / "samples.yaml"), "--in", str(folder / "out"),
                   "--json"))  # fmt: skip
    assert shown["available_fovs"] == [0, 1]

    bad = cli("samples", "save", str(folder / "x.yaml"), "--in", str(folder / "out"),
              "--sample", "control=0-4", "--json")  # fmt: skip
    assert "FOV 2-4" in failed(bad, "INVALID_PARAMETERS")["error"]
    assert cli("mark", str(traces[0]), "--bad", "zero").exit_code == 2

    merged = folder / "merged" / "control_merged.csv"
    fit = ok(cli("fit", str(merged), "--model", "trivial", "--value-column", "area_ch_0",
                 "--json"))  # fmt: skip
    assert fit["summary"]["total_cells"] == 2  # cell 2 is left out
    table = ok(cli("fitted", fit["job_id"], "--csv", str(folder / "fitted.csv"), "--json"))
    assert {c["cell"] for c in table["cells"]} == {0, 1}
    assert (folder / "fitted.csv").read_text().startswith("sample,job_id,fov,cell")
