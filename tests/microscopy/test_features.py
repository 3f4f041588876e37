"""The feature catalogue as the REST contract documents it."""

from __future__ import annotations

from dataclasses import asdict

from services.microscopy.core.features import (
    feature_catalogue,
    fluorescence_feature_ids,
    phase_feature_ids,
)


def test_catalogue_matches_the_documented_features() -> None:
    catalogue = feature_catalogue()
    assert [asdict(f) for f in catalogue.phase_features] == [
        {"id": "area", "name": "Cell Area", "description": "Area of the cell in pixels",
         "units": "pixels^2"},
        {"id": "aspect_ratio", "name": "Aspect Ratio",
         "description": "Ratio of major to minor axis", "units": "ratio"},
    ]  # fmt: skip
    fluorescence = {f.id: f for f in catalogue.fluorescence_features}
    assert list(fluorescence) == ["intensity_total", "intensity_mean"]
    assert asdict(fluorescence["intensity_total"]) == {
        "id": "intensity_total", "name": "Total Intensity",
        "description": "Sum of pixel intensities", "units": "arbitrary",
    }  # fmt: skip
    assert fluorescence["intensity_mean"].name == "Mean Intensity"
    assert phase_feature_ids() == {"area", "aspect_ratio"}
    assert fluorescence_feature_ids() == {"intensity_total", "intensity_mean"}
