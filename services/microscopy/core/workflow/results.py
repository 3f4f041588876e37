"""The results index: `<output_dir>/results_index.yaml`, what a finished run produced.

Written last (by temporary name and rename), so its presence means the run
completed; it lists each FOV's trace CSV and counts, the totals and where the
configuration is, for people, merge and the frame overlay.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from services.microscopy.core.workflow.config import WorkflowPlan, write_atomically

RESULTS_INDEX_NAME = "results_index.yaml"


def results_index_path(output_dir: str | Path) -> Path:
    return Path(output_dir) / RESULTS_INDEX_NAME


def write_results_index(plan: WorkflowPlan, summary: dict[str, Any]) -> Path:
    """Write the index of a finished run; returns its path."""
    index = {
        "microscopy_path": str(plan.microscopy_path),
        **summary,
    }
    path = results_index_path(plan.output_dir)
    write_atomically(path, yaml.safe_dump(index, sort_keys=False))
    return path


def read_results_index(output_dir: str | Path) -> dict[str, Any] | None:
    """The index of a finished run in `output_dir`; None when there is none."""
    path = results_index_path(output_dir)
    if not path.is_file():
        return None
    return yaml.safe_load(path.read_text())
