"""Fluorescence background methods, by name (the `background_method` parameter).

Each method fits a compact model of one frame's background from the frame and its
cell mask (the `correction` step stores it, a few KB per frame) and renders the
background map B from it (the `extraction` step measures I - w*B).

- `pspline` (default): a robust penalized spline surface through the cell-free pixels
  of the whole frame, edges and corners included (background_spline.py);
- `reference`: the reference's spline through 256 px tile medians, clamped beyond the
  outer tile centres, kept bit for bit for comparison (background_reference.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import background_reference, background_spline


@dataclass(frozen=True)
class BackgroundMethod:
    name: str
    description: str
    model_shape: Callable[[tuple[int, int]], tuple[int, int]]
    fit: Callable[[np.ndarray, np.ndarray], np.ndarray]  # (frame, cell mask) -> model
    render: Callable[[np.ndarray, tuple[int, int]], np.ndarray]  # (model, shape) -> B


def _tile_grid(shape: tuple[int, int]) -> tuple[int, int]:
    h, w = shape
    return (
        len(background_reference.tile_edges(h)) - 2,
        len(background_reference.tile_edges(w)) - 2,
    )


METHODS: dict[str, BackgroundMethod] = {
    method.name: method
    for method in (
        BackgroundMethod(
            "pspline",
            "robust penalized spline surface fitted to the cell-free pixels of the whole "
            "frame, edges and corners included",
            background_spline.model_shape,
            background_spline.fit,
            background_spline.render,
        ),
        BackgroundMethod(
            "reference",
            "the reference's bicubic spline through 256 px tile medians, constant beyond "
            "the outer tile centres",
            _tile_grid,
            background_reference.tile_medians,
            background_reference.background_from_medians,
        ),
    )
}
DEFAULT_METHOD = "pspline"


def method(name: str) -> BackgroundMethod:
    """The method called `name`; ValueError listing the methods otherwise."""
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(
            f"background method {name!r} is not supported; supported: {', '.join(METHODS)}"
        ) from None


def background_map(
    frame: np.ndarray, cell_mask: np.ndarray, method_name: str = DEFAULT_METHOD
) -> np.ndarray:
    """The background B (float32, same shape as `frame`) of one fluorescence frame."""
    chosen = method(method_name)
    return chosen.render(chosen.fit(frame, cell_mask), frame.shape)
