"""Where a slide has tissue: a mask from a low-resolution image of it.

The idea of tiatoolbox's OtsuTissueMasker and MorphologicalMasker: Otsu
thresholds separate tissue from the bright, grey glass, then small specks are
removed and the mask is dilated so tissue borders (where the thresholds are
unsure) are kept. Stained tissue is both coloured and darker than glass, so a
pixel is tissue when its saturation or its darkness passes its threshold. Each
threshold is Otsu's, kept within a plausible band: an image that is all glass
(nothing passes the floor) stays empty, and one that is all tissue is not split
in two by Otsu (everything above the ceiling passes).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage import filters, morphology

# Saturation, (max - min) / max of RGB: glass ~0.02, stained tissue 0.15 and more.
SATURATION_BAND = (0.06, 0.15)
# Darkness, 1 - grey / 255: glass ~0.05, tissue 0.15 and more.
DARKNESS_BAND = (0.10, 0.25)


def _threshold(values: np.ndarray, band: tuple[float, float]) -> float:
    low, high = band
    if float(values.max()) <= float(values.min()):
        return low if float(values.max()) < low else high
    return float(np.clip(filters.threshold_otsu(values), low, high))


def tissue_mask(rgb: np.ndarray, *, min_object_px: int = 16, dilation_px: int = 2) -> np.ndarray:
    """Boolean mask (rows x columns) of tissue in an RGB uint8 image.

    Specks smaller than `min_object_px` pixels go; the rest is dilated by a disk
    of `dilation_px` pixels and small holes are filled.
    """
    if rgb.ndim != 3 or rgb.shape[2] < 3 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError(f"an RGB image is needed, got shape {rgb.shape}")
    pixels = rgb[..., :3].astype(np.float32)
    brightest = pixels.max(axis=2)
    saturation = (brightest - pixels.min(axis=2)) / np.maximum(brightest, 1.0)
    darkness = 1.0 - pixels.mean(axis=2) / 255.0
    mask = (saturation >= _threshold(saturation, SATURATION_BAND)) | (
        darkness >= _threshold(darkness, DARKNESS_BAND)
    )
    mask = morphology.remove_small_objects(mask, max_size=max(min_object_px - 1, 0))
    if dilation_px > 0 and mask.any():
        mask = ndimage.binary_dilation(mask, structure=morphology.disk(dilation_px).astype(bool))
    return morphology.remove_small_holes(mask, max_size=max(min_object_px * 4 - 1, 0))
