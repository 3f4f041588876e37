"""Counts per cell type -> the documented summaries and derived clinical metrics."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from services.spatial.core.bounds import Bounds
from services.spatial.core.cell_types import (
    BACKGROUND,
    CELL_TYPE_NAMES,
    DEAD,
    EPITHELIAL,
    INFLAMMATORY,
    NEOPLASTIC,
)


@dataclass(frozen=True)
class CellTypeCount:
    cell_type: int
    cell_type_name: str
    count: int
    fraction: float


@dataclass(frozen=True)
class Summary:
    """Figures of a region: ROI statistics and an analysis box's own run."""

    total_nuclei: int
    area_mm2: float
    density_per_mm2: float
    neoplastic_ratio: float
    cell_type_counts: list[CellTypeCount]


@dataclass(frozen=True)
class BoxMetrics:
    """Derived clinical metrics (slidekick-api.md); None where a ratio divides by zero."""

    shannon_h: float
    inflammatory_index: float | None
    immune_tumour_ratio: float | None
    ne_epithelial_ratio: float | None
    viability: float | None


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def summarize(
    counts: Sequence[int], bounds: Bounds, mpp: float | None, area_px: float | None = None
) -> Summary:
    """`counts[t]` nuclei of type t in `bounds` -> totals, density, every type's share.
    `area_px`: the area they were found in when it is not all of `bounds` (a
    whole-slide analysis: its tissue regions)."""
    total = int(sum(counts))
    area_mm2 = bounds.area_mm2(mpp) if area_px is None else area_px * (mpp or 0.0) ** 2 * 1e-6
    breakdown = [
        CellTypeCount(index, name, int(counts[index]), counts[index] / total if total else 0.0)
        for index, name in enumerate(CELL_TYPE_NAMES)
    ]
    return Summary(
        total_nuclei=total,
        area_mm2=area_mm2,
        density_per_mm2=total / area_mm2 if area_mm2 else 0.0,
        neoplastic_ratio=counts[NEOPLASTIC] / total if total else 0.0,
        cell_type_counts=breakdown,
    )


def box_metrics(counts: Sequence[int]) -> BoxMetrics:
    total = int(sum(counts))
    shares = [count / total for count in counts if count] if total else []
    return BoxMetrics(
        shannon_h=-sum(p * math.log(p) for p in shares) + 0.0,
        inflammatory_index=_ratio(counts[INFLAMMATORY], total - counts[BACKGROUND]),
        immune_tumour_ratio=_ratio(counts[INFLAMMATORY], counts[NEOPLASTIC]),
        ne_epithelial_ratio=_ratio(counts[NEOPLASTIC], counts[EPITHELIAL]),
        viability=_ratio(total - counts[DEAD], total),
    )
