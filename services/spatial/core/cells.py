"""Visible nuclei counted per 64 x 64 px cell (table `nucleus_cells`, migration 0003).

Region statistics sum the cells a rectangle holds whole and count nuclei one by
one only in the four strips along its edges, so their cost grows with the
rectangle's perimeter, not its area. The store keeps the cells exact in the
transaction that changes visible flags: a new box's whole cells are counted
here from its own nuclei (the older ones there are hidden now); the cells on
its edges, and every cell a deleted box touched, are counted again in SQL.
Cell (cx, cy) holds the points cx * 64 <= x < (cx + 1) * 64, likewise y.
"""

from __future__ import annotations

import asyncio
import math
import uuid

import asyncpg

from services.spatial.core.bounds import Bounds
from services.spatial.core.nuclei import NucleiBatch

# Centroid in the half-open rectangle $2..$4 x $3..$5. `&&` finds candidates
# through the index, but compares single-precision boxes rounded outwards; the
# exact comparisons decide (and drop the far edges).
IN_RECT = """centroid && ST_MakeEnvelope($2, $3, $4, $5)
    AND ST_X(centroid) >= $2 AND ST_X(centroid) < $4
    AND ST_Y(centroid) >= $3 AND ST_Y(centroid) < $5"""


# Edge of a cell, level-0 pixels.
CELL = 64

CELL_COUNT_COLUMNS = ("n0", "n1", "n2", "n3", "n4", "n5")

_RECOUNT_CELLS = f"""INSERT INTO nucleus_cells (slide_id, cy, cx, n0, n1, n2, n3, n4, n5)
    SELECT $1, floor(ST_Y(centroid) / {CELL})::int, floor(ST_X(centroid) / {CELL})::int,
        {", ".join(f"count(*) FILTER (WHERE cell_type = {t})" for t in range(6))}
    FROM nuclei WHERE visible AND slide_id = $1 AND {IN_RECT}
    GROUP BY 2, 3"""

_EDGE = """(centroid && ST_MakeEnvelope(${0}, ${1}, ${2}, ${3})
    AND ST_X(centroid) >= ${0} AND ST_X(centroid) < ${2}
    AND ST_Y(centroid) >= ${1} AND ST_Y(centroid) < ${3})"""

# Counts per type: cells $2 <= cy < $3, $4 <= cx < $5 summed, plus the nuclei of
# the four edge strips ($6.. $21) counted one by one.
REGION_COUNTS = f"""SELECT t, sum(n)::bigint AS n FROM (
    SELECT unnest(ARRAY[0, 1, 2, 3, 4, 5]) AS t,
           unnest(ARRAY[sum(n0), sum(n1), sum(n2), sum(n3), sum(n4), sum(n5)]) AS n
    FROM nucleus_cells WHERE slide_id = $1 AND cy >= $2 AND cy < $3 AND cx >= $4 AND cx < $5
    UNION ALL
    SELECT cell_type, count(*) FROM nuclei
    WHERE visible AND slide_id = $1 AND (
        {" OR ".join(_EDGE.format(*range(6 + 4 * k, 10 + 4 * k)) for k in range(4))})
    GROUP BY cell_type
) parts WHERE n IS NOT NULL GROUP BY t"""


CellRange = tuple[int, int, int, int]  # cx0, cy0, cx1, cy1: half-open cell indices


def _cells_touched(bounds: Bounds) -> CellRange:
    return (
        math.floor(bounds.x_min / CELL),
        math.floor(bounds.y_min / CELL),
        math.ceil(bounds.x_max / CELL),
        math.ceil(bounds.y_max / CELL),
    )


def _cells_within(bounds: Bounds) -> CellRange | None:
    """The cells `bounds` holds whole, or None when it holds none."""
    cx0, cx1 = math.ceil(bounds.x_min / CELL), math.floor(bounds.x_max / CELL)
    cy0, cy1 = math.ceil(bounds.y_min / CELL), math.floor(bounds.y_max / CELL)
    return (cx0, cy0, cx1, cy1) if cx0 < cx1 and cy0 < cy1 else None


def _ring(outer: CellRange, inner: CellRange) -> list[CellRange]:
    """`outer` minus `inner` as up to four ranges."""
    ox0, oy0, ox1, oy1 = outer
    ix0, iy0, ix1, iy1 = inner
    ranges = [
        (ox0, oy0, ox1, iy0),  # above
        (ox0, iy1, ox1, oy1),  # below
        (ox0, iy0, ix0, iy1),  # left
        (ix1, iy0, ox1, iy1),  # right
    ]
    return [r for r in ranges if r[0] < r[2] and r[1] < r[3]]


async def _delete_cells(connection: asyncpg.Connection, slide: uuid.UUID, cells: CellRange) -> None:
    cx0, cy0, cx1, cy1 = cells
    await connection.execute(
        "DELETE FROM nucleus_cells WHERE slide_id = $1 AND cy >= $2 AND cy < $3 "
        "AND cx >= $4 AND cx < $5",
        slide,
        cy0,
        cy1,
        cx0,
        cx1,
    )


async def _count_cells(connection: asyncpg.Connection, slide: uuid.UUID, cells: CellRange) -> None:
    """Count the (deleted) cells of a range again from the visible nuclei."""
    await connection.execute(_RECOUNT_CELLS, slide, *(index * CELL for index in cells))


async def store_cells(
    connection: asyncpg.Connection, slide: uuid.UUID, bounds: Bounds, nuclei: NucleiBatch
) -> None:
    """Cells after a new box: those it holds whole count just its nuclei (older
    ones there are hidden now), counted here; the ring it cuts is counted again."""
    touched = _cells_touched(bounds)
    await _delete_cells(connection, slide, touched)
    within = _cells_within(bounds)
    if within is None:
        await _count_cells(connection, slide, touched)
        return
    cy, cx, counts = await asyncio.to_thread(nuclei.cell_counts, CELL, *within)
    rows = zip([slide] * len(cy), cy.tolist(), cx.tolist(), *counts.T.tolist(), strict=True)
    await connection.copy_records_to_table(
        "nucleus_cells", records=rows, columns=("slide_id", "cy", "cx", *CELL_COUNT_COLUMNS)
    )
    for cells in _ring(touched, within):
        await _count_cells(connection, slide, cells)


async def recount_cells(connection: asyncpg.Connection, slide: uuid.UUID, bounds: Bounds) -> None:
    """Count again every cell `bounds` touches (after its visible flags changed)."""
    touched = _cells_touched(bounds)
    await _delete_cells(connection, slide, touched)
    await _count_cells(connection, slide, touched)


def region_arguments(bounds: Bounds) -> list[float] | None:
    """Cell range held whole and the four edge strips, or None when the
    rectangle holds no whole cell."""
    within = _cells_within(bounds)
    if within is None:
        return None
    cx0, cy0, cx1, cy1 = within
    ix0, ix1, iy0, iy1 = cx0 * CELL, cx1 * CELL, cy0 * CELL, cy1 * CELL
    b = bounds
    strips = [
        (b.x_min, b.y_min, b.x_max, iy0),  # above
        (b.x_min, iy1, b.x_max, b.y_max),  # below
        (b.x_min, iy0, ix0, iy1),  # left
        (ix1, iy0, b.x_max, iy1),  # right
    ]
    return [cy0, cy1, cx0, cx1, *(value for strip in strips for value in strip)]
