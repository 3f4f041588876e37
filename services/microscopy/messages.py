"""The core's results as proto messages. The core's dataclasses carry the proto's
field names, so each conversion is a field-for-field copy."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from google.protobuf import json_format

from common.errors import InvalidArgument
from common.jobs.rpc import timestamp
from micrographia.microscopy.v1 import microscopy_pb2 as pb
from services.microscopy.core import (
    DirectoryListing,
    FeatureCatalogue,
    FileEntry,
    FileInfo,
    MicroscopyMetadata,
    SearchResult,
)
from services.microscopy.core.workflow.cells import (
    CellPage,
    CellSummary,
    QualityChange,
    QualityRule,
)
from services.microscopy.core.workflow.merge import MergeSummary, Sample, format_ranges
from services.microscopy.recent import RecentFile

SORT_KEYS = {
    pb.SORT_KEY_UNSPECIFIED: "name",
    pb.SORT_KEY_NAME: "name",
    pb.SORT_KEY_SIZE: "size",
    pb.SORT_KEY_MODIFIED_TIME: "modified_time",
}
SORT_ORDERS = {
    pb.SORT_ORDER_UNSPECIFIED: "asc",
    pb.SORT_ORDER_ASC: "asc",
    pb.SORT_ORDER_DESC: "desc",
}


def sort_key(value: int) -> str:
    if value not in SORT_KEYS:
        raise InvalidArgument(f"unknown sort_by value {value}")
    return SORT_KEYS[value]


def sort_order(value: int) -> str:
    if value not in SORT_ORDERS:
        raise InvalidArgument(f"unknown sort_order value {value}")
    return SORT_ORDERS[value]


def metadata_message(metadata: MicroscopyMetadata) -> pb.MicroscopyMetadata:
    return pb.MicroscopyMetadata(**metadata.to_dict())  # None leaves an optional unset


def stored_metadata_message(stored: dict[str, Any]) -> pb.MicroscopyMetadata:
    """Metadata as the recent-files table stored it; fields a later version dropped
    are ignored, so old rows stay readable."""
    return json_format.ParseDict(stored, pb.MicroscopyMetadata(), ignore_unknown_fields=True)


def entry_message(entry: FileEntry) -> pb.FileEntry:
    return pb.FileEntry(
        name=entry.name,
        path=entry.path,
        is_directory=entry.is_directory,
        is_file=entry.is_file,
        size_bytes=entry.size_bytes,
        modified_time=timestamp(entry.modified_time),
        extension=entry.extension,
        is_microscopy_file=entry.is_microscopy_file,
    )


def features_message(catalogue: FeatureCatalogue) -> pb.ListFeaturesResponse:
    return pb.ListFeaturesResponse(
        phase_features=[pb.Feature(**asdict(f)) for f in catalogue.phase_features],
        fluorescence_features=[pb.Feature(**asdict(f)) for f in catalogue.fluorescence_features],
    )


def listing_message(listing: DirectoryListing) -> pb.ListDirectoryResponse:
    return pb.ListDirectoryResponse(
        directory_path=listing.directory_path,
        items=[entry_message(item) for item in listing.items],
        total_items=listing.total_items,
        filtered_items=listing.filtered_items,
    )


def search_message(result: SearchResult) -> pb.SearchFilesResponse:
    return pb.SearchFilesResponse(
        search_path=result.search_path,
        files=[entry_message(item) for item in result.files],
        total_found=result.total_found,
        search_time_s=result.search_time_s,
        truncated=result.truncated,
    )


def file_info_message(info: FileInfo) -> pb.GetFileInfoResponse:
    response = pb.GetFileInfoResponse(
        file_info=entry_message(info.file_info),
        is_microscopy_file=info.is_microscopy_file,
        metadata_error=info.metadata_error,
    )
    if info.metadata_preview is not None:
        response.metadata_preview.CopyFrom(metadata_message(info.metadata_preview))
    return response


def recent_message(recent: RecentFile) -> pb.RecentFile:
    return pb.RecentFile(
        path=recent.path,
        accessed_at=timestamp(recent.accessed_at),
        metadata=stored_metadata_message(recent.metadata),
    )


# ---------------------------------------------------------------- workflow


def _selection(selection: pb.ChannelSelection) -> dict[str, Any]:
    return {"channel": selection.channel, "features": list(selection.features)}


def workflow_config(request: pb.StartWorkflowRequest) -> dict[str, Any]:
    """The request in the configuration model's words (validated by `parse_config`).
    Unset optional parameters are left out, so they take the model's defaults."""
    channels: dict[str, Any] = {
        "fluorescence": [_selection(item) for item in request.channels.fluorescence]
    }
    if request.channels.HasField("phase"):
        channels["phase"] = _selection(request.channels.phase)
    return {
        "microscopy_path": request.microscopy_path,
        "output_dir": request.output_dir or None,
        "channels": channels,
        "parameters": json_format.MessageToDict(
            request.parameters, preserving_proto_field_name=True
        ),
    }


def workflow_results_message(job_id: str, result: dict[str, Any]) -> pb.GetWorkflowResultsResponse:
    stats = result["stats"]
    return pb.GetWorkflowResultsResponse(
        job_id=job_id,
        output_dir=result["output_dir"],
        config_file=result["config_file"],
        traces=result["traces"],
        stats=pb.WorkflowStats(
            total_cells=stats["total_cells"],
            total_frames=stats["total_frames"],
            processing_time_s=stats["processing_time_s"],
        ),
        results_index=result["results_index"],
    )


def merge_message(summary: MergeSummary) -> pb.MergeResultsResponse:
    return pb.MergeResultsResponse(
        message=f"Merged {summary.samples_processed} sample(s) into {summary.files_created} files",
        output_dir=summary.output_dir,
        merged_files=summary.merged_files,
        feature_files=summary.feature_files,
        stats=pb.MergeStats(
            samples_processed=summary.samples_processed,
            total_cells=summary.total_cells,
            files_created=summary.files_created,
        ),
    )


def cell_message(cell: CellSummary) -> pb.CellSummary:
    return pb.CellSummary(
        fov=cell.fov,
        cell=cell.cell,
        good=cell.good,
        n_frames=cell.n_frames,
        first_frame=cell.first_frame,
        last_frame=cell.last_frame,
        parent=cell.parent,
        daughters=cell.daughters,
        feature_means=cell.feature_means,
    )


def cell_page_message(path: str, page: CellPage) -> pb.ListCellsResponse:
    return pb.ListCellsResponse(
        traces_path=path,
        total_cells=page.total_cells,
        good_cells=page.good_cells,
        all_cells=page.all_cells,
        features=page.features,
        cells=[cell_message(cell) for cell in page.cells],
    )


def quality_rule(message: pb.QualityRule) -> QualityRule:
    for name in ("min_frames", "border_margin"):
        if message.HasField(name) and getattr(message, name) < 0:
            raise InvalidArgument(f"rule.{name} must be >= 0", field=f"rule.{name}")
    return QualityRule(
        min_frames=message.min_frames if message.HasField("min_frames") else None,
        border_margin=message.border_margin if message.HasField("border_margin") else None,
        good=message.good,
    )


def quality_message(path: str, change: QualityChange) -> pb.SetCellQualityResponse:
    return pb.SetCellQualityResponse(
        traces_path=path,
        cells_changed=change.cells_changed,
        marked=[pb.CellMark(fov=f, cell=c, good=g) for (f, c), g in change.marked.items()],
        good_cells=change.good_cells,
        total_cells=change.total_cells,
    )


def samples_message(samples: list[Sample]) -> list[pb.SampleDefinition]:
    return [pb.SampleDefinition(name=s.name, fovs=format_ranges(s.fovs)) for s in samples]
