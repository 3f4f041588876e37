"""Analysis boxes and nuclei in PostGIS: writes (one transaction per box) and reads.

Overlaps count once. A nucleus is `visible` unless a newer box of its slide
holds its centroid; region statistics, viewport queries and exports read only
visible nuclei (through a partial GiST index on (slide_id, centroid)), so where
boxes overlap the newest analysis stands. The flag is maintained here, under a
per-slide advisory lock: inserting a box hides the older nuclei it covers;
deleting one shows again those no other newer box covers. A box keeps its own
run's figures (`total_nuclei`, counts) whatever covers it later.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from common.errors import InvalidArgument, NotFound
from services.spatial.core import cells, copy_rows
from services.spatial.core.bounds import Bounds
from services.spatial.core.cell_types import CELL_TYPES
from services.spatial.core.cells import IN_RECT
from services.spatial.core.nuclei import NucleiBatch
from services.spatial.core.statistics import Summary, summarize

# Nuclei encoded per step of a COPY (the next step is encoded while one is sent).
COPY_CHUNK = 10_000

# Safety cap of a viewport query (slidekick-api.md).
MAX_VIEWPORT_NUCLEI = 50_000


@dataclass(frozen=True)
class AnalysisBox:
    id: str
    slide_id: str
    label: str
    bounds: Bounds
    summary: Summary
    created_at: datetime

    @property
    def counts(self) -> list[int]:
        return [item.count for item in self.summary.cell_type_counts]


@dataclass(frozen=True)
class StoredRegion:
    """A stored region of a whole-slide analysis."""

    index: int
    bounds: Bounds
    nuclei: int
    stored_at: datetime


@dataclass(frozen=True)
class StoredNucleus:
    id: int
    x: float
    y: float
    cell_type: int
    cell_type_name: str
    probability: float


@dataclass(frozen=True)
class ViewportNuclei:
    nuclei: list[StoredNucleus]
    truncated: bool


def parse_id(value: str, what: str) -> uuid.UUID:
    """A UUID from a request field; InvalidArgument naming the field otherwise."""
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError):
        raise InvalidArgument(f"{what} {value!r} is not a UUID", **{what: value}) from None


def _row_bounds(row: asyncpg.Record) -> Bounds:
    return Bounds(row["x_min"], row["y_min"], row["x_max"], row["y_max"])


def _box(row: asyncpg.Record) -> AnalysisBox:
    bounds = _row_bounds(row)
    return AnalysisBox(
        id=str(row["id"]),
        slide_id=str(row["slide_id"]),
        label=row["label"],
        bounds=bounds,
        summary=summarize(row["cell_type_counts"], bounds, row["mpp"], row["analysed_px"]),
        created_at=row["created_at"],
    )


_REGION_COLUMNS = "region_index, x_min, y_min, x_max, y_max, nuclei, stored_at"


def _region(row: asyncpg.Record) -> StoredRegion:
    return StoredRegion(row["region_index"], _row_bounds(row), row["nuclei"], row["stored_at"])


# A nucleus `n`'s centroid in the half-open rectangle $2..$4 x $3..$5.
_N_IN_RECT = IN_RECT.replace("centroid", "n.centroid")

# A box newer than seq {seq} holds nucleus `n`'s centroid: an ordinary box by its
# rectangle, a whole-slide box by the regions it has stored so far.
_HELD_BY_NEWER = """EXISTS (
    SELECT 1 FROM analysis_boxes newer
    WHERE newer.slide_id = n.slide_id AND newer.seq > {seq}
      AND ST_X(n.centroid) >= newer.x_min AND ST_X(n.centroid) < newer.x_max
      AND ST_Y(n.centroid) >= newer.y_min AND ST_Y(n.centroid) < newer.y_max
      AND (NOT newer.whole_slide OR EXISTS (
          SELECT 1 FROM slide_analysis_regions r WHERE r.box_id = newer.id
            AND ST_X(n.centroid) >= r.x_min AND ST_X(n.centroid) < r.x_max
            AND ST_Y(n.centroid) >= r.y_min AND ST_Y(n.centroid) < r.y_max)))"""


def _check_inside(nuclei: NucleiBatch, bounds: Bounds) -> None:
    outside = len(nuclei) - int(nuclei.inside(*_corners(bounds)).sum())
    if outside:
        raise InvalidArgument(f"{outside} nuclei lie outside the box {bounds}")


async def _next_label(
    connection: asyncpg.Connection, slide: uuid.UUID, prefix: str, *, whole_slide: bool
) -> str:
    """The default label "<prefix> N": N counts the slide's boxes of the same
    kind (viewport or whole-slide), this one included."""
    existing = await connection.fetchval(
        "SELECT count(*) FROM analysis_boxes WHERE slide_id = $1 AND whole_slide = $2",
        slide,
        whole_slide,
    )
    return f"{prefix} {existing + 1}"


async def _insert_box_row(
    connection: asyncpg.Connection,
    slide: uuid.UUID,
    label: str,
    bounds: Bounds,
    mpp: float | None,
    counts: list[int],
    *,
    whole_slide: bool,
) -> asyncpg.Record:
    # A whole-slide box has analysed nothing yet; it grows region by region.
    analysed_px = 0.0 if whole_slide else None
    summary = summarize(counts, bounds, mpp, analysed_px)
    return await connection.fetchrow(
        """INSERT INTO analysis_boxes (id, slide_id, label, x_min, y_min, x_max, y_max,
               geom, mpp, total_nuclei, area_mm2, density_per_mm2, neoplastic_ratio,
               cell_type_counts, whole_slide, analysed_px)
           VALUES ($1, $2, $3, $4, $5, $6, $7, ST_MakeEnvelope($4, $5, $6, $7),
               $8, $9, $10, $11, $12, $13, $14, $15)
           RETURNING *""",
        uuid.uuid4(),
        slide,
        label,
        *_corners(bounds),
        mpp,
        summary.total_nuclei,
        summary.area_mm2,
        summary.density_per_mm2,
        summary.neoplastic_ratio,
        counts,
        whole_slide,
        analysed_px,
    )


async def _copy_nuclei(
    connection: asyncpg.Connection, box_id: uuid.UUID, slide: uuid.UUID, nuclei: NucleiBatch
) -> None:
    if len(nuclei):
        await connection.copy_to_table(
            "nuclei",
            source=_copy_data(box_id, slide, nuclei),
            columns=copy_rows.COLUMNS,
            format="binary",
        )


async def _has_newer_box(
    connection: asyncpg.Connection, slide: uuid.UUID, seq: int, bounds: Bounds
) -> bool:
    return await connection.fetchval(
        """SELECT EXISTS (SELECT 1 FROM analysis_boxes WHERE slide_id = $1 AND seq > $6
               AND geom && ST_MakeEnvelope($2, $3, $4, $5))""",
        slide,
        *_corners(bounds),
        seq,
    )


async def _lock_slide(connection: asyncpg.Connection, slide_id: uuid.UUID) -> None:
    """Serialise box writes of one slide, so seq order is commit order and the
    visible flags never see two boxes half-written."""
    await connection.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"spatial:{slide_id}")


class SpatialStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        # The pool's connections carry the binary geometry codec (codec.py).
        self.pool = pool

    # Writes ------------------------------------------------------------------------

    async def insert_box(
        self,
        slide_id: str,
        bounds: Bounds,
        mpp: float | None,
        nuclei: NucleiBatch,
        *,
        label: str = "",
    ) -> AnalysisBox:
        """Store an analysis: the box, then its nuclei by binary COPY, in one
        transaction. Should anything fail or the caller be cancelled, nothing stays."""
        slide = parse_id(slide_id, "slide_id")
        _check_inside(nuclei, bounds)
        counts = nuclei.counts()
        async with self.pool.acquire() as connection, connection.transaction():
            await _lock_slide(connection, slide)
            label = label or await _next_label(connection, slide, "Analysis", whole_slide=False)
            row = await _insert_box_row(
                connection, slide, label, bounds, mpp, counts, whole_slide=False
            )
            # The new box stands for its rectangle from now on: hide what older
            # boxes found there (before the COPY, so its own nuclei stay visible).
            await connection.execute(
                f"UPDATE nuclei SET visible = false WHERE visible AND slide_id = $1 AND {IN_RECT}",
                slide,
                *_corners(bounds),
            )
            await _copy_nuclei(connection, row["id"], slide, nuclei)
            await cells.store_cells(connection, slide, bounds, nuclei)
        return _box(row)

    async def create_whole_slide_box(
        self, slide_id: str, bounds: Bounds, mpp: float | None, *, label: str = ""
    ) -> AnalysisBox:
        """The (empty) box of a whole-slide analysis; `store_region` fills it."""
        slide = parse_id(slide_id, "slide_id")
        async with self.pool.acquire() as connection, connection.transaction():
            await _lock_slide(connection, slide)
            label = label or await _next_label(connection, slide, "Whole slide", whole_slide=True)
            row = await _insert_box_row(
                connection, slide, label, bounds, mpp, [0] * len(CELL_TYPES), whole_slide=True
            )
        return _box(row)

    async def store_region(
        self, box_id: str, job_id: str, index: int, bounds: Bounds, nuclei: NucleiBatch
    ) -> StoredRegion:
        """Store one region of a whole-slide box in one transaction: the older
        boxes' nuclei there hidden, its nuclei COPYed (hidden where a newer box
        holds them), cells and the box's figures updated, the region recorded.
        A region stored already is left as it is (a resumed job may repeat one).
        NotFound when the box was deleted meanwhile."""
        box = parse_id(box_id, "box_id")
        job = parse_id(job_id, "job_id")
        _check_inside(nuclei, bounds)
        async with self.pool.acquire() as connection, connection.transaction():
            slide = await connection.fetchval(
                "SELECT slide_id FROM analysis_boxes WHERE id = $1", box
            )
            if slide is not None:
                await _lock_slide(connection, slide)
            row = await connection.fetchrow(
                "SELECT * FROM analysis_boxes WHERE id = $1 AND whole_slide FOR UPDATE", box
            )
            if row is None:
                raise NotFound(
                    f"whole-slide analysis box {box_id} not found: it was deleted (or is not one)",
                    box_id=box_id,
                )
            done = await connection.fetchrow(
                f"SELECT {_REGION_COLUMNS} FROM slide_analysis_regions "
                "WHERE box_id = $1 AND region_index = $2",
                box,
                index,
            )
            if done is not None:
                return _region(done)
            # Older boxes' nuclei in the region give way; newer boxes keep theirs.
            await connection.execute(
                f"""UPDATE nuclei SET visible = false
                    WHERE visible AND slide_id = $1 AND {IN_RECT} AND box_id IN (
                        SELECT id FROM analysis_boxes WHERE slide_id = $1 AND seq < $6)""",
                slide,
                *_corners(bounds),
                row["seq"],
            )
            await _copy_nuclei(connection, box, slide, nuclei)
            if await _has_newer_box(connection, slide, row["seq"], bounds):
                # Where a newer box holds a centroid, the newer box stands.
                await connection.execute(
                    f"""UPDATE nuclei n SET visible = false
                        WHERE n.box_id = $6 AND n.slide_id = $1 AND {_N_IN_RECT}
                          AND {_HELD_BY_NEWER.format(seq="$7")}""",
                    slide,
                    *_corners(bounds),
                    box,
                    row["seq"],
                )
                await cells.recount_cells(connection, slide, bounds)
            else:  # the region's nuclei are all that is visible there now
                await cells.store_cells(connection, slide, bounds, nuclei)
            counts = [a + b for a, b in zip(row["cell_type_counts"], nuclei.counts(), strict=True)]
            analysed_px = (row["analysed_px"] or 0.0) + bounds.area_px
            summary = summarize(counts, _row_bounds(row), row["mpp"], analysed_px)
            await connection.execute(
                """UPDATE analysis_boxes SET total_nuclei = $2, area_mm2 = $3,
                       density_per_mm2 = $4, neoplastic_ratio = $5, cell_type_counts = $6,
                       analysed_px = $7
                   WHERE id = $1""",
                box,
                summary.total_nuclei,
                summary.area_mm2,
                summary.density_per_mm2,
                summary.neoplastic_ratio,
                counts,
                analysed_px,
            )
            stored = await connection.fetchrow(
                f"""INSERT INTO slide_analysis_regions
                        (box_id, job_id, region_index, x_min, y_min, x_max, y_max, nuclei)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {_REGION_COLUMNS}""",
                box,
                job,
                index,
                *_corners(bounds),
                len(nuclei),
            )
        return _region(stored)

    async def delete_box(self, box_id: str) -> int:
        """Delete a box and its nuclei; returns how many nuclei went. Older nuclei
        it covered count again where no other newer box covers them."""
        box = parse_id(box_id, "box_id")
        async with self.pool.acquire() as connection, connection.transaction():
            slide = await connection.fetchval(
                "SELECT slide_id FROM analysis_boxes WHERE id = $1", box
            )
            if slide is None:
                raise NotFound(f"analysis box {box_id} not found", box_id=box_id)
            await _lock_slide(connection, slide)
            deleted = await connection.fetchval(
                "WITH gone AS (DELETE FROM nuclei WHERE box_id = $1 RETURNING 1) "
                "SELECT count(*) FROM gone",
                box,
            )
            gone = await connection.fetchrow(
                "DELETE FROM analysis_boxes WHERE id = $1 RETURNING *", box
            )
            if gone is None:  # deleted meanwhile by another caller
                raise NotFound(f"analysis box {box_id} not found", box_id=box_id)
            await connection.execute(
                f"""UPDATE nuclei n SET visible = true
                   FROM analysis_boxes older
                   WHERE older.slide_id = $1 AND older.seq < $6
                     AND older.geom && ST_MakeEnvelope($2, $3, $4, $5)
                     AND n.box_id = older.id AND NOT n.visible
                     AND ST_X(n.centroid) >= $2 AND ST_X(n.centroid) < $4
                     AND ST_Y(n.centroid) >= $3 AND ST_Y(n.centroid) < $5
                     AND NOT {_HELD_BY_NEWER.format(seq="older.seq")}""",
                slide,
                gone["x_min"],
                gone["y_min"],
                gone["x_max"],
                gone["y_max"],
                gone["seq"],
            )
            await cells.recount_cells(
                connection,
                slide,
                Bounds(gone["x_min"], gone["y_min"], gone["x_max"], gone["y_max"]),
            )
        return deleted

    async def delete_slide(self, slide_id: str) -> tuple[int, int]:
        """Delete every analysis of a slide; returns (boxes, nuclei) removed."""
        slide = parse_id(slide_id, "slide_id")
        async with self.pool.acquire() as connection, connection.transaction():
            await _lock_slide(connection, slide)
            nuclei = await connection.fetchval(
                """WITH gone AS (
                       DELETE FROM nuclei WHERE box_id IN
                           (SELECT id FROM analysis_boxes WHERE slide_id = $1)
                       RETURNING 1)
                   SELECT count(*) FROM gone""",
                slide,
            )
            boxes = await connection.fetchval(
                """WITH gone AS (DELETE FROM analysis_boxes WHERE slide_id = $1 RETURNING 1)
                   SELECT count(*) FROM gone""",
                slide,
            )
            await connection.execute("DELETE FROM nucleus_cells WHERE slide_id = $1", slide)
        return boxes, nuclei

    # Reads --------------------------------------------------------------------------

    async def list_boxes(self, slide_id: str) -> list[AnalysisBox]:
        """A slide's boxes, newest first."""
        rows = await self.pool.fetch(
            "SELECT * FROM analysis_boxes WHERE slide_id = $1 ORDER BY seq DESC",
            parse_id(slide_id, "slide_id"),
        )
        return [_box(row) for row in rows]

    async def stored_regions(self, job_id: str) -> list[StoredRegion]:
        """The regions a whole-slide job has stored, in plan order."""
        rows = await self.pool.fetch(
            f"SELECT {_REGION_COLUMNS} FROM slide_analysis_regions WHERE job_id = $1 "
            "ORDER BY region_index",
            parse_id(job_id, "job_id"),
        )
        return [_region(row) for row in rows]

    async def get_box(self, box_id: str) -> AnalysisBox:
        row = await self.pool.fetchrow(
            "SELECT * FROM analysis_boxes WHERE id = $1", parse_id(box_id, "box_id")
        )
        if row is None:
            raise NotFound(f"analysis box {box_id} not found", box_id=box_id)
        return _box(row)

    async def region_counts(self, slide_id: str, bounds: Bounds) -> list[int]:
        """Visible nuclei per cell type whose centroid lies in `bounds`."""
        slide = parse_id(slide_id, "slide_id")
        arguments = cells.region_arguments(bounds)
        if arguments is None:  # smaller than a cell: count one by one
            rows = await self.pool.fetch(
                f"""SELECT cell_type AS t, count(*) AS n FROM nuclei
                    WHERE visible AND slide_id = $1 AND {IN_RECT}
                    GROUP BY cell_type""",
                slide,
                *_corners(bounds),
            )
        else:
            rows = await self.pool.fetch(cells.REGION_COUNTS, slide, *arguments)
        counts = [0] * len(CELL_TYPES)
        for row in rows:
            counts[row["t"]] = row["n"]
        return counts

    async def region_stats(self, slide_id: str, bounds: Bounds, mpp: float | None) -> Summary:
        return summarize(await self.region_counts(slide_id, bounds), bounds, mpp)

    async def viewport_nuclei(
        self, slide_id: str, bounds: Bounds, limit: int = MAX_VIEWPORT_NUCLEI
    ) -> ViewportNuclei:
        """Visible nuclei in `bounds`, at most `limit` (never above the safety cap)."""
        limit = min(limit, MAX_VIEWPORT_NUCLEI) if limit > 0 else MAX_VIEWPORT_NUCLEI
        rows = await self.pool.fetch(
            f"""SELECT id, ST_X(centroid) AS x, ST_Y(centroid) AS y, cell_type,
                       cell_type_name, probability
                FROM nuclei WHERE visible AND slide_id = $1 AND {IN_RECT}
                LIMIT $6""",
            parse_id(slide_id, "slide_id"),
            bounds.x_min,
            bounds.y_min,
            bounds.x_max,
            bounds.y_max,
            limit + 1,
        )
        nuclei = [StoredNucleus(**dict(row)) for row in rows[:limit]]
        return ViewportNuclei(nuclei, truncated=len(rows) > limit)

    async def box_nuclei(self, box_id: str) -> list[StoredNucleus]:
        """All nuclei a box's run found, in the order they were stored."""
        rows = await self.pool.fetch(
            """SELECT id, ST_X(centroid) AS x, ST_Y(centroid) AS y, cell_type,
                      cell_type_name, probability
               FROM nuclei WHERE box_id = $1 ORDER BY id""",
            parse_id(box_id, "box_id"),
        )
        return [StoredNucleus(**dict(row)) for row in rows]

    async def box_features(self, box_id: str, page: int = 5000) -> AsyncIterator[list[str]]:
        """The visible nuclei of a box as GeoJSON Feature texts, a page at a time."""
        box = await self.get_box(box_id)
        async for features in self._features(
            "visible AND box_id = $1", [parse_id(box.id, "box_id")], page
        ):
            yield features

    async def region_features(
        self, slide_id: str, bounds: Bounds, page: int = 5000
    ) -> AsyncIterator[list[str]]:
        """The visible nuclei in `bounds` as GeoJSON Feature texts, a page at a time."""
        arguments = [parse_id(slide_id, "slide_id"), *_corners(bounds)]
        async for features in self._features(
            f"visible AND slide_id = $1 AND {IN_RECT}", arguments, page
        ):
            yield features

    async def _features(self, where: str, arguments: list, page: int) -> AsyncIterator[list[str]]:
        async with self.pool.acquire() as connection, connection.transaction():
            cursor = connection.cursor(f"{FEATURE_SQL} WHERE {where} ORDER BY id", *arguments)
            batch: list[str] = []
            async for row in cursor:
                batch.append(row[0])
                if len(batch) == page:
                    yield batch
                    batch = []
            if batch:
                yield batch


async def _copy_data(
    box_id: uuid.UUID, slide: uuid.UUID, nuclei: NucleiBatch, chunk: int = COPY_CHUNK
) -> AsyncIterator[bytes]:
    """Binary COPY data, encoded a chunk at a time in a worker thread (CPU work,
    off the event loop), the next chunk while the database takes in this one."""
    nuclei = await asyncio.to_thread(nuclei.in_grid_order, cells.CELL)
    parts = [nuclei[start : start + chunk] for start in range(0, len(nuclei), chunk)]
    ahead = asyncio.ensure_future(asyncio.to_thread(_nucleus_rows, box_id, slide, parts[0]))
    try:
        yield copy_rows.HEADER
        for index in range(len(parts)):
            rows = await ahead
            if index + 1 < len(parts):
                ahead = asyncio.ensure_future(
                    asyncio.to_thread(_nucleus_rows, box_id, slide, parts[index + 1])
                )
            yield rows
        yield copy_rows.TRAILER
    finally:
        ahead.cancel()


def _nucleus_rows(box_id: uuid.UUID, slide: uuid.UUID, nuclei: NucleiBatch) -> bytes:
    return copy_rows.nucleus_rows(box_id, slide, nuclei)


def _corners(bounds: Bounds) -> list[float]:
    return [bounds.x_min, bounds.y_min, bounds.x_max, bounds.y_max]


# One nucleus as a QuPath detection (GeoJSON Feature): a stable UUID derived from
# the box and nucleus ids, the contour (or the centroid when it had no area) in
# level-0 pixels, the classification with its colour, and the measurements.
_COLOURS = " ".join(
    f"WHEN {cell_type.index} THEN json_build_array({', '.join(map(str, cell_type.color))})"
    for cell_type in CELL_TYPES
)
FEATURE_SQL = f"""SELECT json_build_object(
    'type', 'Feature',
    'id', md5(box_id::text || ':' || id::text)::uuid,
    'geometry', ST_AsGeoJSON(coalesce(contour, centroid))::json,
    'properties', json_build_object(
        'objectType', 'detection',
        'classification', json_build_object(
            'name', cell_type_name, 'color', CASE cell_type {_COLOURS} END),
        'measurements', json_build_object(
            'Area µm^2', area_um2, 'Perimeter µm', perimeter_um, 'Probability', probability)
    ))::text
FROM nuclei"""
