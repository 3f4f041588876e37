"""The six PanNuke cell types HoVerNet predicts, with the colours exports carry.

Colours are HoVerNet's PanNuke overlay colours; QuPath refuses a
classification without one.
"""

from __future__ import annotations

from typing import NamedTuple


class CellType(NamedTuple):
    index: int
    name: str
    color: tuple[int, int, int]


CELL_TYPES = (
    CellType(0, "Background", (0, 0, 0)),
    CellType(1, "Neoplastic", (255, 0, 0)),
    CellType(2, "Inflammatory", (0, 255, 0)),
    CellType(3, "Connective", (0, 0, 255)),
    CellType(4, "Dead", (255, 255, 0)),
    CellType(5, "Non-Neoplastic Epithelial", (255, 165, 0)),
)
CELL_TYPE_NAMES = tuple(cell_type.name for cell_type in CELL_TYPES)

BACKGROUND, NEOPLASTIC, INFLAMMATORY, CONNECTIVE, DEAD, EPITHELIAL = range(6)
