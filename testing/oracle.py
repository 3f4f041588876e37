"""An oracle in HoVerNet's place: known nuclei in, HoVerNet's three maps out.

Test and benchmark slides paint each nucleus as a dark disc (or any shape) on a
light background, its colour naming its type (`TYPE_COLOURS`). The oracle finds
the painted nuclei in each input patch and writes, for the patch's centre, the
maps a perfect HoVerNet would: probability 1 on nuclei, horizontal and vertical
distances to each nucleus' centroid scaled to [-1, 1] per side (HoVerNet's
training targets), and the type. It sees only pixels, like the network, so the
whole path around it (grid, batching, stitching, resampling, post-processing,
coordinates) is checked against the painted truth.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

import numpy as np
from scipy import ndimage

from common.errors import Cancelled
from services.inference.core.predictor import Maps

# Type index -> RGB of its nuclei (index 0, background, is never painted).
TYPE_COLOURS = {
    1: (40, 20, 90),
    2: (20, 60, 20),
    3: (90, 30, 30),
    4: (20, 20, 20),
    5: (30, 70, 110),
}
BACKGROUND = (235, 225, 235)
# A pixel is nuclear when its mean channel value is below this.
DARK = 160


class OraclePredictor:
    """A `Predictor` whose maps are the painted nuclei's ideal HoVerNet outputs."""

    device = "cpu"

    def __init__(self, patch_input: int = 256, patch_output: int = 164) -> None:
        self.patch_input = patch_input
        self.patch_output = patch_output

    def predict(
        self, batches: Iterable[np.ndarray], cancelled: threading.Event | None = None
    ) -> Iterator[Maps]:
        for batch in batches:
            if cancelled is not None and cancelled.is_set():
                raise Cancelled("segmentation cancelled before a batch")
            maps = [self.patch_maps(patch) for patch in batch]
            yield Maps.from_arrays(
                np.stack([m[0] for m in maps]),
                np.stack([m[1] for m in maps]),
                np.stack([m[2] for m in maps]),
            )

    def patch_maps(self, patch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        nuclear = patch.mean(axis=2) < DARK
        labels, _ = ndimage.label(nuclear)
        hv = np.zeros((*patch.shape[:2], 2), np.float32)
        tp = np.zeros(patch.shape[:2], np.uint8)
        colours = np.array([TYPE_COLOURS[t] for t in sorted(TYPE_COLOURS)], np.float32)
        for index, box in enumerate(ndimage.find_objects(labels), start=1):
            if box is None:
                continue
            mask = labels[box] == index
            ys, xs = np.nonzero(mask)
            for channel, offsets in ((0, xs - xs.mean()), (1, ys - ys.mean())):
                scaled = offsets.astype(np.float32)
                if (offsets < 0).any():
                    scaled[offsets < 0] /= -offsets.min()
                if (offsets > 0).any():
                    scaled[offsets > 0] /= offsets.max()
                hv[box][..., channel][mask] = scaled
            mean_colour = patch[box][mask].astype(np.float32).mean(axis=0)
            nearest = int(np.argmin(((colours - mean_colour) ** 2).sum(axis=1)))
            tp[box][mask] = sorted(TYPE_COLOURS)[nearest]
        c = (self.patch_input - self.patch_output) // 2
        window = (slice(c, c + self.patch_output), slice(c, c + self.patch_output))
        return nuclear[window].astype(np.float32), hv[window], tp[window]
