"""The dense front half of HoVerNet's post-processing, in torch on the maps' device.

tiatoolbox's `HoVerNet._proc_np_hv` starts with whole-canvas filters: the
nuclear threshold, min-max normalised horizontal and vertical maps, a 21-tap
Sobel of each, the Sobel responses min-max normalised and inverted, their
maximum (the "edge" map: 1 inside a nucleus' flat centre, 0 on its boundary
ridge). Those run here, on the GPU while the maps are still there (or on CPU
tensors, the same code), so only a uint8 mask and one float32 map travel back
instead of three float32 maps. What follows (connected components, hole
filling, the watershed) is `watershed.py`, on the CPU.

Matches OpenCV: the Sobel coefficients are `cv2.getDerivKernels`' own,
applied as separable correlations in float64 with OpenCV's default border
(reflect-101, torch's "reflect"); normalisations are computed in float64 and
rounded to float32 as `cv2.normalize(..., NORM_MINMAX, CV_32F)` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import torch
import torch.nn.functional as F

# tiatoolbox's choices at 0.25 um/px (scale factor 1).
SOBEL_SIZE = 21
NUCLEAR_THRESHOLD = 0.5


@dataclass(frozen=True)
class Edges:
    """What the CPU half needs from a canvas, on the maps' device."""

    nuclear: torch.Tensor  # H x W uint8: probability >= 0.5
    edges: torch.Tensor  # H x W float32: max of the inverted, normalised Sobel maps

    def to_host(self, non_blocking: bool = False) -> Edges:
        """Copies in pinned memory (CUDA), so a non-blocking copy overlaps the device."""
        if self.nuclear.device.type == "cpu":
            return self
        return Edges(
            copy_to_pinned(self.nuclear, non_blocking), copy_to_pinned(self.edges, non_blocking)
        )


def hv_edges(
    nuclear_probability: torch.Tensor, hv: torch.Tensor, computed: torch.Tensor | None = None
) -> Edges:
    """`nuclear_probability` H x W, `hv` 2 x H x W (horizontal, vertical), float32.

    `computed` (H x W bool, None: all of it): where the maps were computed, on a
    canvas whose margin was run only in part (zeros elsewhere). The min-max
    normalisations then take their extremes from computed pixels only (the
    Sobel's from those whose whole 21-tap window is computed), so the zeros and
    the steps at their borders change nothing where the maps were computed."""
    with torch.inference_mode():
        nuclear = (nuclear_probability >= NUCLEAR_THRESHOLD).to(torch.uint8)
        planes = _min_max(hv.to(torch.float64), computed)
        sobel = _sobel(planes) if hv.device.type != "cpu" else _sobel_opencv(planes)
        windows = None if computed is None else _whole_windows(computed)
        inverted = 1 - _min_max(sobel, windows)
        return Edges(nuclear, torch.maximum(inverted[0], inverted[1]))


def _whole_windows(computed: torch.Tensor) -> torch.Tensor:
    """The pixels whose SOBEL_SIZE-square window lies wholly in `computed` (the
    canvas' own border reflects, so it takes nothing away)."""
    missing = (~computed).to(torch.float32)[None, None]
    r = SOBEL_SIZE // 2
    missing = F.max_pool2d(F.pad(missing, (r, r, 0, 0), value=0.0), (1, SOBEL_SIZE), stride=1)
    missing = F.max_pool2d(F.pad(missing, (0, 0, r, r), value=0.0), (SOBEL_SIZE, 1), stride=1)
    return missing[0, 0] == 0


def _sobel(planes: torch.Tensor) -> torch.Tensor:
    """d/dx of plane 0 and d/dy of plane 1 (float64), as cv2.Sobel(ksize=21,
    CV_64F): separable correlations with OpenCV's own coefficients, as sums of
    shifted views (no convolution algorithm to pick, the same on any device)."""
    derivative, smoothing = _sobel_kernels()
    padded = F.pad(planes.to(torch.float64)[:, None], (SOBEL_SIZE // 2,) * 4, mode="reflect")[:, 0]
    horizontal = _correlate(_correlate(padded[0], derivative, 1), smoothing, 0)
    vertical = _correlate(_correlate(padded[1], derivative, 0), smoothing, 1)
    return torch.stack([horizontal, vertical])


def _correlate(plane: torch.Tensor, kernel: tuple[float, ...], dim: int) -> torch.Tensor:
    """`plane` correlated with `kernel` along `dim`, keeping only full windows."""
    length = plane.shape[dim] - len(kernel) + 1
    out = plane.narrow(dim, 0, length) * kernel[0]
    for shift, weight in enumerate(kernel[1:], start=1):
        if weight:
            out.add_(plane.narrow(dim, shift, length), alpha=weight)
    return out


def _sobel_opencv(planes: torch.Tensor) -> torch.Tensor:
    """`_sobel` on CPU tensors, by OpenCV itself: the same numbers (the tests
    check), many times faster than torch's float64 convolution on a CPU."""
    import cv2

    h, v = planes.numpy()
    return torch.from_numpy(
        np.stack(
            [
                cv2.Sobel(h, cv2.CV_64F, 1, 0, ksize=SOBEL_SIZE),
                cv2.Sobel(v, cv2.CV_64F, 0, 1, ksize=SOBEL_SIZE),
            ]
        )
    )


def _min_max(planes: torch.Tensor, where: torch.Tensor | None = None) -> torch.Tensor:
    """Each float64 plane scaled to [0, 1] in float32 exactly as cv2.normalize
    (NORM_MINMAX, CV_32F) does: scale = float(1 / (max - min)), shift =
    -float(min * scale), then x * scale + shift in double, rounded to float32;
    a flat plane becomes 0. `where`: the pixels that give the extremes (all)."""
    flat = planes.flatten(1) if where is None or not bool(where.any()) else planes[:, where]
    low, high = flat.min(dim=1).values, flat.max(dim=1).values
    span = high - low
    scale = torch.where(span > np.finfo(np.float64).eps, 1 / span, torch.zeros_like(span))
    scale = _to_float32(scale)
    shift = -_to_float32(low * scale)
    return (planes * scale[:, None, None] + shift[:, None, None]).to(torch.float32)


def _to_float32(values: torch.Tensor) -> torch.Tensor:
    return values.to(torch.float32).to(torch.float64)


@cache
def _sobel_kernels() -> tuple[tuple[float, ...], tuple[float, ...]]:
    """OpenCV's derivative and smoothing coefficients for a 21-tap Sobel."""
    import cv2

    derivative, smoothing = cv2.getDerivKernels(1, 0, SOBEL_SIZE, normalize=False, ktype=cv2.CV_64F)
    return tuple(derivative.ravel().tolist()), tuple(smoothing.ravel().tolist())


def copy_to_pinned(tensor: torch.Tensor, non_blocking: bool) -> torch.Tensor:
    """A host copy of a device tensor, in pinned memory."""
    host = torch.empty(tensor.shape, dtype=tensor.dtype, pin_memory=True)
    host.copy_(tensor, non_blocking=non_blocking)
    return host
