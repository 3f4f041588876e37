"""The spatial core's records as spatial.proto messages."""

from __future__ import annotations

from dataclasses import asdict

from google.protobuf.timestamp_pb2 import Timestamp

from micrographia.slides.v1 import slides_pb2
from micrographia.spatial.v1 import spatial_pb2 as pb
from services.spatial.core import AnalysisBox, Bounds, BoxMetrics, StoredNucleus, Summary


def slide_mpp(slide: slides_pb2.Slide) -> float | None:
    """The slide's microns per pixel; None when it does not say."""
    return slide.mpp if slide.HasField("mpp") else None


def bounds_message(bounds: Bounds) -> pb.Bounds:
    return pb.Bounds(**asdict(bounds))


def box_message(box: AnalysisBox) -> pb.AnalysisBox:
    created_at = Timestamp()
    created_at.FromDatetime(box.created_at)
    summary = box.summary
    return pb.AnalysisBox(
        id=box.id,
        slide_id=box.slide_id,
        label=box.label,
        bounds=bounds_message(box.bounds),
        total_nuclei=summary.total_nuclei,
        area_mm2=summary.area_mm2,
        density_per_mm2=summary.density_per_mm2,
        neoplastic_ratio=summary.neoplastic_ratio,
        cell_type_counts=[pb.CellTypeCount(**asdict(c)) for c in summary.cell_type_counts],
        created_at=created_at,
    )


def metrics_message(metrics: BoxMetrics) -> pb.BoxMetrics:
    return pb.BoxMetrics(**asdict(metrics))


def nucleus_message(nucleus: StoredNucleus) -> pb.Nucleus:
    return pb.Nucleus(**asdict(nucleus))


def roi_stats_message(
    slide_id: str, bounds: Bounds, summary: Summary, mpp: float | None
) -> pb.GetRoiStatsResponse:
    return pb.GetRoiStatsResponse(
        slide_id=slide_id,
        total_nuclei=summary.total_nuclei,
        area_mm2=summary.area_mm2,
        density_per_mm2=summary.density_per_mm2,
        neoplastic_ratio=summary.neoplastic_ratio,
        cell_type_breakdown=[pb.CellTypeCount(**asdict(c)) for c in summary.cell_type_counts],
        mpp=mpp or 0.0,
        bounds_l0=bounds_message(bounds),
    )
