"""What a microscopist does with a workflow's outputs: look at the cells, mark them
good or bad, group FOVs into samples (services/microscopy/core/workflow/cells.py,
merge.py, cell_strip.py hold the work; this keeps paths inside the data roots and
marks away from folders a running workflow writes)."""

from __future__ import annotations

from pathlib import Path

from common import errors
from common.jobs import JobStatus
from services.microscopy.core.workflow import cells
from services.microscopy.core.workflow.cell_strip import (
    cell_at,
    render_cell_strip,
    render_cells_frame,
)
from services.microscopy.core.workflow.merge import (
    MergeSummary,
    Sample,
    available_fovs,
    check_samples_exist,
    read_samples,
    samples_of,
    write_samples,
)
from services.microscopy.workflows import WORKFLOW_JOB, Workflows


def _required(value: str, name: str) -> str:
    if not value:
        raise errors.InvalidArgument(f"{name} is required", field=name)
    return value


class WorkflowOutputs:
    """Cells, quality marks and samples of the workflow outputs inside the data roots."""

    def __init__(self, workflows: Workflows) -> None:
        self.workflows = workflows
        self.roots = workflows.files.roots
        self.workers = workflows.workers

    def traces(self, traces_path: str) -> Path:
        """A trace CSV's real path (403 outside the roots, 404 missing, 400 a folder)."""
        path = self.roots.resolve(_required(traces_path, "traces_path"))
        if not path.is_file():
            raise errors.InvalidArgument(f"{traces_path} is not a file", field="traces_path")
        return path

    # ------------------------------------------------------------ cells

    async def list_cells(self, traces_path: str, **options) -> tuple[Path, cells.CellPage]:
        path = await self.workers.run(self.traces, traces_path)
        page = await self.workers.run(lambda: cells.list_cells(path, **options))
        return path, page

    async def cell(self, traces_path: str, fov: int, cell: int) -> tuple[Path, cells.CellTrace]:
        path = await self.workers.run(self.traces, traces_path)
        return path, await self.workers.run(cells.cell_trace, path, fov, cell)

    async def cell_strip(
        self, traces_path: str, fov: int, cell: int, channel: int, n_crops: int, crop_size: int
    ) -> tuple[bytes, list[int]]:
        path = await self.workers.run(self.traces, traces_path)
        return await self.workers.run(
            render_cell_strip, path, fov, cell, channel, n_crops, crop_size
        )

    async def cells_frame(self, traces_path: str, t: int, channel: int, max_size: int):
        path = await self.workers.run(self.traces, traces_path)
        return await self.workers.run(render_cells_frame, path, t, channel, max_size)

    async def find_cell(self, traces_path: str, t: int, x: int, y: int) -> tuple[int, int | None]:
        """(the CSV's FOV, the cell at (x, y) of frame t or None)."""
        path = await self.workers.run(self.traces, traces_path)
        cell = await self.workers.run(cell_at, path, t, x, y)
        fov = await self.workers.run(cells.fov_of, path)
        return fov, cell

    async def set_quality(
        self,
        traces_path: str,
        marks: list[tuple[int, int, bool]],
        rule: cells.QualityRule | None,
    ) -> tuple[Path, cells.QualityChange]:
        """Mark cells; ALREADY_EXISTS (409) while a workflow job writes the CSV's folder
        (its extraction step could replace the file under the marks)."""
        path = await self.workers.run(self.traces, traces_path)
        active, _ = await self.workflows.jobs.store.list(
            (JobStatus.PENDING, JobStatus.RUNNING), WORKFLOW_JOB, limit=1000
        )
        for job in active:
            output_dir = job.labels.get("output_dir")
            if output_dir and path.is_relative_to(output_dir):
                raise errors.AlreadyExists(
                    f"job {job.id} is writing {output_dir}; mark cells once it has finished",
                    job_id=job.id,
                    output_dir=output_dir,
                )
        change = await self.workers.run(cells.set_quality, path, marks, rule)
        return path, change

    # ------------------------------------------------------------ samples

    def _input_dir(self, input_dir: str) -> Path:
        folder = self.roots.resolve(input_dir)
        if not folder.is_dir():
            raise errors.InvalidArgument(f"{input_dir} is not a folder", field="input_dir")
        return folder

    def get_samples(self, sample_yaml: str, input_dir: str) -> tuple[str, list[Sample], list[int]]:
        """The YAML's samples (none when no path is given) and the FOVs of `input_dir`. Blocking."""
        fovs = available_fovs(self._input_dir(input_dir)) if input_dir else []
        if not sample_yaml:
            return "", [], fovs
        path = self.roots.resolve(sample_yaml)
        if not path.is_file():
            raise errors.InvalidArgument(f"{sample_yaml} is not a file", field="sample_yaml")
        return str(path), read_samples(path), fovs

    def save_samples(
        self, sample_yaml: str, entries: list[dict], input_dir: str, merge_output_dir: str
    ) -> tuple[str, list[Sample], MergeSummary | None]:
        """Validate the samples against the FOVs of `input_dir`, write the YAML, merge
        when `merge_output_dir` is set. Blocking."""
        path = self.roots.resolve(_required(sample_yaml, "sample_yaml"), must_exist=False)
        if path.suffix.lower() not in (".yaml", ".yml"):
            raise errors.InvalidArgument(
                f"{path.name}: a samples file ends in .yaml or .yml", field="sample_yaml"
            )
        if not path.parent.is_dir():
            raise errors.InvalidArgument(
                f"folder {path.parent} does not exist", field="sample_yaml"
            )
        samples = samples_of(entries)
        folder = self._input_dir(_required(input_dir, "input_dir"))
        check_samples_exist(samples, available_fovs(folder), folder)
        write_samples(path, samples)
        merged = None
        if merge_output_dir:
            merged = self.workflows.merge(str(path), str(folder), merge_output_dir)
        return str(path), samples, merged
