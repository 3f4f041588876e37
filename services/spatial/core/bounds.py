"""Rectangles in level-0 pixels: clamping to the slide, viewports at a zoom level.

A rectangle holds a point when x_min <= x < x_max and y_min <= y < y_max
(half-open), so two boxes that share an edge never both hold a nucleus on it.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.errors import InvalidArgument


@dataclass(frozen=True)
class Bounds:
    x_min: float
    y_min: float
    x_max: float
    y_max: float

    @property
    def width(self) -> float:
        return self.x_max - self.x_min

    @property
    def height(self) -> float:
        return self.y_max - self.y_min

    @property
    def area_px(self) -> float:
        return self.width * self.height

    def area_mm2(self, mpp: float | None) -> float:
        """Area in square millimetres; 0 when the slide does not say its pixel size."""
        return self.area_px * mpp * mpp * 1e-6 if mpp else 0.0

    def clamped(self, width_px: float, height_px: float) -> Bounds:
        """This rectangle cut to the slide's extent; InvalidArgument when nothing is left."""
        values = (self.x_min, self.y_min, self.x_max, self.y_max)
        if not all(value == value and abs(value) != float("inf") for value in values):
            raise InvalidArgument(f"bounds must be finite numbers, got {values}")
        clamped = Bounds(
            max(self.x_min, 0.0),
            max(self.y_min, 0.0),
            min(self.x_max, float(width_px)),
            min(self.y_max, float(height_px)),
        )
        if clamped.width <= 0 or clamped.height <= 0:
            raise InvalidArgument(
                f"region x {self.x_min}..{self.x_max}, y {self.y_min}..{self.y_max} lies "
                f"outside the slide (0..{width_px} x 0..{height_px}) or is empty",
                x_min=self.x_min,
                y_min=self.y_min,
                x_max=self.x_max,
                y_max=self.y_max,
            )
        return clamped


def viewport_bounds(x: float, y: float, width: float, height: float, level: int) -> Bounds:
    """A viewport's level-0 rectangle. Its coordinates are level 0 whatever `level`
    says: the level is the viewer's zoom hint (Slidekick's reference front end sends
    round(log2(image pixels per screen pixel)), past the slide's own pyramid when
    zoomed out), so any level from 0 up is accepted and none rescales."""
    if level < 0:
        raise InvalidArgument(f"level must be 0 or more, got {level}", level=level)
    if not (width > 0 and height > 0):
        raise InvalidArgument(f"width and height must be positive, got {width} x {height}")
    return Bounds(x, y, x + width, y + height)
