"""Core records as proto messages."""

from __future__ import annotations

import numpy as np
from pydantic import ValidationError

from common.cellpose import CellposeOptions
from common.errors import InvalidArgument
from micrographia.inference.v1 import inference_pb2 as pb
from services.inference.core import Nucleus, Progress, Summary
from services.inference.core.cellpose import FrameLabels, FramesSummary
from services.inference.core.cellpose.frames import FRAME_DTYPES


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


# ---------------------------------------------------------------- Cellpose


def cellpose_options(message: pb.CellposeOptions) -> CellposeOptions:
    """The request's options, unset ones Cellpose's defaults; InvalidArgument naming each
    bad one."""
    values = {
        name: getattr(message, name)
        for name in ("diameter", "flow_threshold", "cellprob_threshold", "min_size")
        if message.HasField(name)
    }
    try:
        return CellposeOptions(model=message.model or None, **values)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, item['loc']))}: {item['msg']}"
            for item in error.errors(include_url=False)
        )
        raise InvalidArgument(f"invalid Cellpose options: {problems}", field="options") from None


def frame_array(frame: pb.Frame, index: int) -> np.ndarray:
    """A Frame as a read-only 2-D array (no copy); InvalidArgument when it does not add up."""
    if frame.dtype not in FRAME_DTYPES:
        raise InvalidArgument(
            f"frame {index}: dtype {frame.dtype!r} is not one of {', '.join(FRAME_DTYPES)}",
            field="frames",
        )
    if frame.height < 1 or frame.width < 1:
        raise InvalidArgument(
            f"frame {index} is empty ({frame.height} x {frame.width})", field="frames"
        )
    dtype = np.dtype(frame.dtype)
    expected = frame.height * frame.width * dtype.itemsize
    if len(frame.data) != expected:
        raise InvalidArgument(
            f"frame {index}: {len(frame.data)} bytes for {frame.height} x {frame.width} "
            f"{frame.dtype} ({expected} expected)",
            field="frames",
        )
    return np.frombuffer(frame.data, dtype).reshape(frame.height, frame.width)


def frame_labels_message(event: FrameLabels) -> pb.SegmentFramesResponse:
    labels = event.labels
    dtype = "uint16" if event.count < 2**16 else "uint32"
    return pb.SegmentFramesResponse(
        labels=pb.FrameLabels(
            index=event.index,
            height=labels.shape[0],
            width=labels.shape[1],
            dtype=dtype,
            data=np.ascontiguousarray(labels, np.dtype(dtype).newbyteorder("<")).tobytes(),
            count=event.count,
        )
    )


def frames_progress_message(progress: Progress) -> pb.SegmentFramesResponse:
    return pb.SegmentFramesResponse(
        progress=pb.SegmentationProgress(
            current=progress.current,
            total=progress.total,
            percentage=progress.percentage,
            message=progress.message,
        )
    )


def frames_summary_message(summary: FramesSummary) -> pb.SegmentFramesResponse:
    return pb.SegmentFramesResponse(
        summary=pb.FramesSummary(
            frames=summary.frames,
            tiles=summary.tiles,
            cells=summary.cells,
            duration_s=summary.duration_s,
            device=summary.device,
        )
    )
