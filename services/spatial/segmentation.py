"""What the viewport and the whole-slide analysis share about the inference
service: the request for a region, and its nuclei as the core's columns."""

from __future__ import annotations

import numpy as np

from common.errors import InvalidArgument, ProcessingError
from micrographia.inference.v1 import inference_pb2
from services.spatial.core import Bounds, NucleiBatch


def segment_request(
    slide_id: str, bounds: Bounds, level: int = 0
) -> inference_pb2.SegmentRegionRequest:
    """SegmentRegion for a whole-pixel level-0 rectangle, with contours (stored)."""
    return inference_pb2.SegmentRegionRequest(
        slide_id=slide_id,
        x=int(bounds.x_min),
        y=int(bounds.y_min),
        width=int(bounds.width),
        height=int(bounds.height),
        level=level,
        include_contours=True,
    )


def nuclei_batch(nuclei: list[inference_pb2.Nucleus], bounds: Bounds) -> NucleiBatch:
    """Inference nuclei as columns; only those whose centroid lies in the box."""
    inside = [
        n
        for n in nuclei
        if bounds.x_min <= n.x < bounds.x_max and bounds.y_min <= n.y < bounds.y_max
    ]
    try:
        return NucleiBatch(
            x=[n.x for n in inside],
            y=[n.y for n in inside],
            cell_type=[n.cell_type for n in inside],
            probability=[n.probability for n in inside],
            area_um2=[n.area_um2 for n in inside],
            perimeter_um=[n.perimeter_um for n in inside],
            contours=[
                np.array([(p.x, p.y) for p in n.contour], np.float64).reshape(-1, 2) for n in inside
            ],
        )
    except InvalidArgument as error:
        raise ProcessingError(f"the inference service sent bad nuclei: {error.message}") from None
