"""Core records as proto messages."""

from __future__ import annotations

from micrographia.inference.v1 import inference_pb2 as pb
from services.inference.core import Nucleus, Progress, Summary


def nucleus_message(nucleus: Nucleus, include_contour: bool) -> pb.Nucleus:
    x_min, y_min, x_max, y_max = nucleus.bounds
    message = pb.Nucleus(
        x=nucleus.x,
        y=nucleus.y,
        cell_type=nucleus.cell_type,
        cell_type_name=nucleus.cell_type_name,
        probability=nucleus.probability,
        area_um2=nucleus.area_um2,
        perimeter_um=nucleus.perimeter_um,
        area_px=nucleus.area_px,
        x_min=x_min,
        y_min=y_min,
        x_max=x_max,
        y_max=y_max,
    )
    if include_contour:
        message.contour.extend(pb.Point(x=float(x), y=float(y)) for x, y in nucleus.contour)
    return message


def progress_message(progress: Progress) -> pb.SegmentRegionResponse:
    return pb.SegmentRegionResponse(
        progress=pb.SegmentationProgress(
            current=progress.current,
            total=progress.total,
            percentage=progress.percentage,
            message=progress.message,
        )
    )


def summary_message(summary: Summary) -> pb.SegmentRegionResponse:
    plan = summary.plan
    return pb.SegmentRegionResponse(
        summary=pb.SegmentationSummary(
            total_nuclei=summary.total_nuclei,
            patches=summary.patches,
            duration_s=summary.duration_s,
            x=plan.x,
            y=plan.y,
            width=plan.width,
            height=plan.height,
            mpp=plan.resolution.mpp or 0.0,
            read_level=plan.resolution.level,
            scale=plan.resolution.scale,
            notes=list(summary.notes),
            tiles=len(plan.tiles),
        )
    )
