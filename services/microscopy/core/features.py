"""The built-in per-cell features the workflow extracts (ListFeaturesResponse).

What each computes is fixed by the reference science (pyama-reference.md,
"extraction"): phase-contrast features describe the cell mask, fluorescence
features sum or average background-corrected intensities over it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Feature:
    """One feature; fields map 1:1 to the proto's Feature."""

    id: str
    name: str
    description: str
    units: str


@dataclass(frozen=True, slots=True)
class FeatureCatalogue:
    """Features by channel kind (ListFeaturesResponse)."""

    phase_features: tuple[Feature, ...]
    fluorescence_features: tuple[Feature, ...]


PHASE_FEATURES: tuple[Feature, ...] = (
    Feature("area", "Cell Area", "Area of the cell in pixels", "pixels^2"),
    Feature("aspect_ratio", "Aspect Ratio", "Ratio of major to minor axis", "ratio"),
)

FLUORESCENCE_FEATURES: tuple[Feature, ...] = (
    Feature("intensity_total", "Total Intensity", "Sum of pixel intensities", "arbitrary"),
    Feature("intensity_mean", "Mean Intensity", "Mean of pixel intensities", "arbitrary"),
)


def feature_catalogue() -> FeatureCatalogue:
    """Every built-in feature, phase-contrast and fluorescence."""
    return FeatureCatalogue(PHASE_FEATURES, FLUORESCENCE_FEATURES)


def phase_feature_ids() -> frozenset[str]:
    """Ids valid for the phase-contrast channel."""
    return frozenset(f.id for f in PHASE_FEATURES)


def fluorescence_feature_ids() -> frozenset[str]:
    """Ids valid for fluorescence channels."""
    return frozenset(f.id for f in FLUORESCENCE_FEATURES)
