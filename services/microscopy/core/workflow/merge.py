"""Merge per-FOV trace CSVs into samples (pyama-reference.md, "Files").

samples.yaml: `samples: [{name: control, fovs: "0-5, 7"}, ...]` (`fovs` a range
string or a list of ints). For each sample:
- `<name>_merged.csv`: every row of its FOVs' trace CSVs, FOVs ascending (the file
  pyama-api.md names);
- `<name>_<feature>_ch_<c>.csv` per feature column: `time, fov, cell, value`, only
  `good` rows (the reference's tidy files). Columns after the features that are
  not features (`parent`) stay in the merged file only.
Everything is checked before anything is written (a bad range or a FOV without
traces is an error naming them); rows are streamed, never all in memory; files are
written under temporary names and renamed when all are complete.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from common.errors import InvalidArgument
from services.microscopy.core.workflow.config import parse_ranges, write_atomically
from services.microscopy.core.workflow.pipeline import TRACE_COLUMNS as BASE_COLUMNS

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_TRUE = {"true", "1", "yes"}
# Feature columns are `<feature>_ch_<channel>`; others after them (`parent`) are not.
_FEATURE_COLUMN = re.compile(r"^[a-z0-9_]+_ch_\d+$")


@dataclass(frozen=True)
class Sample:
    name: str
    fovs: tuple[int, ...]


@dataclass
class MergeSummary:
    """What a merge wrote (MergeResultsResponse)."""

    output_dir: str
    merged_files: list[str] = field(default_factory=list)
    feature_files: list[str] = field(default_factory=list)
    samples_processed: int = 0
    total_cells: int = 0

    @property
    def files_created(self) -> int:
        return len(self.merged_files) + len(self.feature_files)


def read_samples(path: Path) -> list[Sample]:
    """The samples of a samples.yaml; InvalidArgument naming what is wrong."""
    try:
        document = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise InvalidArgument(f"{path.name} is not valid YAML: {error}", path=path) from None
    entries = document.get("samples") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise InvalidArgument(
            f"{path.name} must hold a non-empty list `samples: [{{name, fovs}}, ...]`", path=path
        )
    return samples_of(entries)


def samples_of(entries: list[Any]) -> list[Sample]:
    """Samples from `[{name, fovs}, ...]` (fovs a range string or a list of ints):
    names unique and plain, ranges well formed; InvalidArgument naming what is wrong."""
    if not entries:
        raise InvalidArgument("define at least one sample", field="samples")
    samples: list[Sample] = []
    for number, entry in enumerate(entries):
        if not isinstance(entry, dict) or "name" not in entry or "fovs" not in entry:
            raise InvalidArgument(f"sample #{number} needs `name` and `fovs`", field="samples")
        name = str(entry["name"])
        if not _NAME.fullmatch(name):
            raise InvalidArgument(
                f"sample name {name!r} must be letters, digits, '_', '-' or '.'", field="samples"
            )
        samples.append(Sample(name, _sample_fovs(name, entry["fovs"])))
    names = [sample.name for sample in samples]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InvalidArgument(f"sample name {', '.join(repeated)} is used twice", field="samples")
    return samples


def format_ranges(fovs: tuple[int, ...]) -> str:
    """(0, 1, 2, 3, 7) -> "0-3, 7": the range string a person writes."""
    parts: list[str] = []
    start = previous = None
    for fov in sorted(fovs):
        if previous is not None and fov == previous + 1:
            previous = fov
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = fov
    if start is not None:
        parts.append(str(start) if start == previous else f"{start}-{previous}")
    return ", ".join(parts)


def available_fovs(input_dir: Path) -> list[int]:
    """FOVs of a workflow's output folder that have a trace CSV."""
    found = []
    for folder in input_dir.glob("fov_[0-9][0-9][0-9]*"):
        suffix = folder.name[len("fov_") :]
        if suffix.isdigit() and find_traces(input_dir, int(suffix)) is not None:
            found.append(int(suffix))
    return sorted(found)


def check_samples_exist(samples: list[Sample], fovs: list[int], input_dir: Path) -> None:
    """InvalidArgument naming every sample FOV without traces in `input_dir`."""
    present = set(fovs)
    missing = {
        sample.name: [fov for fov in sample.fovs if fov not in present] for sample in samples
    }
    missing = {name: values for name, values in missing.items() if values}
    if missing:
        named = "; ".join(
            f"sample {name!r}: FOV {format_ranges(tuple(values))}"
            for name, values in missing.items()
        )
        have = format_ranges(tuple(fovs)) or "none"
        raise InvalidArgument(
            f"no trace CSV in {input_dir} for {named} (FOVs with traces: {have})",
            field="samples",
            missing=named,
        )


def write_samples(path: Path, samples: list[Sample]) -> None:
    """The samples.yaml merge reads, `fovs` as range strings; written whole or not at all."""
    document = {
        "samples": [{"name": sample.name, "fovs": format_ranges(sample.fovs)} for sample in samples]
    }
    write_atomically(path, yaml.safe_dump(document, sort_keys=False))


def _sample_fovs(name: str, fovs: Any) -> tuple[int, ...]:
    try:
        if isinstance(fovs, list):
            if not fovs or not all(isinstance(v, int) and not isinstance(v, bool) for v in fovs):
                raise ValueError("fovs must be a range string or a non-empty list of integers")
            if any(v < 0 for v in fovs):
                raise ValueError(f"fovs {fovs} has a negative FOV")
            return tuple(sorted(set(fovs)))
        return tuple(parse_ranges(str(fovs), what="fovs"))
    except ValueError as error:
        raise InvalidArgument(f"sample {name!r}: {error}", sample=name) from None


def find_traces(input_dir: Path, fov: int) -> Path | None:
    """`<input_dir>/fov_XXX/<base>_fov_XXX_traces.csv`, or None."""
    folder = input_dir / f"fov_{fov:03d}"
    found = sorted(folder.glob(f"*_fov_{fov:03d}_traces.csv"))
    return found[0] if found else None


def merge_samples(sample_yaml: Path, input_dir: Path, output_dir: Path) -> MergeSummary:
    """Write every sample's merged and tidy files into `output_dir`."""
    samples = read_samples(sample_yaml)
    traces: dict[int, Path] = {}
    missing: dict[str, list[int]] = {}
    for sample in samples:
        for fov in sample.fovs:
            path = traces.get(fov) or find_traces(input_dir, fov)
            if path is None:
                missing.setdefault(sample.name, []).append(fov)
            else:
                traces[fov] = path
    if missing:
        named = "; ".join(
            f"sample {name!r}: FOV {', '.join(map(str, fovs))}" for name, fovs in missing.items()
        )
        raise InvalidArgument(
            f"no trace CSV in {input_dir} for {named}", input_dir=input_dir, missing=named
        )
    output_dir.mkdir(parents=True, exist_ok=True)
    summary = MergeSummary(str(output_dir))
    written: list[tuple[Path, Path]] = []  # (temporary, final)
    try:
        for sample in samples:
            cells = _merge_sample(sample, traces, output_dir, written)
            summary.total_cells += cells
            summary.samples_processed += 1
        for temporary, final in written:
            os.replace(temporary, final)
    finally:
        for temporary, _ in written:
            temporary.unlink(missing_ok=True)
    for _, final in written:
        target = summary.merged_files if final.name.endswith("_merged.csv") else None
        (target if target is not None else summary.feature_files).append(str(final))
    return summary


def _merge_sample(
    sample: Sample,
    traces: dict[int, Path],
    output_dir: Path,
    written: list[tuple[Path, Path]],
) -> int:
    """Stream the sample's FOVs into its files; returns its number of good cells."""

    def temporary_for(final: Path) -> Path:
        temporary = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        written.append((temporary, final))
        return temporary

    merged_path = output_dir / f"{sample.name}_merged.csv"
    header: list[str] | None = None
    tidy: dict[str, Any] = {}
    good_cells: set[tuple[int, int]] = set()
    with contextlib.ExitStack() as files:

        def open_for_writing(final: Path) -> Any:
            return csv.writer(files.enter_context(open(temporary_for(final), "w", newline="")))

        merged = open_for_writing(merged_path)
        for fov in sample.fovs:
            with open(traces[fov], newline="") as source:
                reader = csv.reader(source)
                columns = next(reader, None)
                if columns is None:
                    raise InvalidArgument(f"{traces[fov]} is empty", path=traces[fov])
                if header is None:
                    header = columns
                    _check_columns(traces[fov], header)
                    merged.writerow(header)
                    for index, column in enumerate(header):
                        if index >= len(BASE_COLUMNS) and _FEATURE_COLUMN.fullmatch(column):
                            tidy[column] = (
                                index,
                                open_for_writing(output_dir / f"{sample.name}_{column}.csv"),
                            )
                            tidy[column][1].writerow(["time", "fov", "cell", "value"])
                elif columns != header:
                    raise InvalidArgument(
                        f"{traces[fov]} has other columns than the sample's first FOV "
                        f"(was it processed with another configuration?)",
                        path=traces[fov],
                    )
                for row in reader:
                    merged.writerow(row)
                    if row[4].strip().lower() not in _TRUE:
                        continue
                    good_cells.add((int(row[0]), int(row[1])))
                    for index, writer in tidy.values():
                        writer.writerow([row[3], row[0], row[1], row[index]])
    return len(good_cells)


def _check_columns(path: Path, header: list[str]) -> None:
    if tuple(header[: len(BASE_COLUMNS)]) != BASE_COLUMNS:
        raise InvalidArgument(
            f"{path} is not a trace CSV: its columns start {header[: len(BASE_COLUMNS)]}, "
            f"expected {list(BASE_COLUMNS)}",
            path=path,
        )
