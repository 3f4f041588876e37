"""Nuclei into PostGIS and region statistics out, next to the reference way.

Both run against a throwaway PostgreSQL+PostGIS database on this machine, with
the spatial service's schema (migrations) and its store (services/spatial/core).

- Load: 100,000 nuclei with 20-vertex contours into one analysis box.
  ours: `SpatialStore.insert_box`: WKB encoded by shapely in bulk, binary COPY
  (asyncpg copy_records_to_table with a binary geometry codec), one transaction.
  reference: the reference's way: WKT by shapely, asyncpg `executemany` of
  INSERT ... ST_GeomFromText in pages of 500, same table and indexes.
  Best of two interleaved rounds each; target ours >= 3x the reference's rows/s.
- ROI statistics on one million nuclei over 10 slides, 4 overlapping boxes each.
  ours: `SpatialStore.region_counts`: visible nuclei only (overlaps counted
  once), partial GiST index on (slide_id, centroid).
  reference: `ST_Contains(ST_MakeEnvelope(...), geom)` with GROUP BY cell_type
  over a copy of every nucleus (overlaps counted twice, as the reference does),
  with the same composite GiST index. 300 viewport-sized rectangles (1,000 to
  3,000 px), each asked both ways in turn; p50 and p99 latency; target p50 <= 5 ms.
  Beside it, the database's own execution time of 100 of them (EXPLAIN ANALYZE),
  which a busy machine's scheduling does not inflate.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid

import numpy as np
import shapely

from benchmarks import scaled
from benchmarks.report import report
from common.db import open_service_database
from common.settings import DEFAULT_DATABASE_URL
from services.spatial.core import Bounds, NucleiBatch, SpatialStore, cells, register_geometry_codec
from services.spatial.service import MIGRATIONS
from tests.harness import create_test_database, drop_test_database

LOAD_NUCLEI = scaled(100_000, 2_000)
VERTICES = 20
PAGE = 500
SLIDES = scaled(10, 2)
BOXES_PER_SLIDE = scaled(4, 2)
NUCLEI_PER_BOX = scaled(25_000, 500)  # 10 x 4 x 25,000 = one million
QUERIES = scaled(300, 20)
SERVER_QUERIES = scaled(100, 5)
SLIDE_EXTENT = 8000.0


def nuclei(rng: np.random.Generator, bounds: Bounds, n: int, vertices: int = 0) -> NucleiBatch:
    x = np.minimum(rng.uniform(bounds.x_min, bounds.x_max, n), np.nextafter(bounds.x_max, 0))
    y = np.minimum(rng.uniform(bounds.y_min, bounds.y_max, n), np.nextafter(bounds.y_max, 0))
    contours = None
    if vertices:
        angles = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
        radii = rng.uniform(3, 6, (n, vertices))
        ring = np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=2)
        contours = list(ring + np.stack([x, y], axis=1)[:, None, :])
    return NucleiBatch(
        x=x,
        y=y,
        cell_type=rng.integers(0, 6, n),
        probability=rng.uniform(0.5, 1, n),
        area_um2=rng.uniform(10, 80, n),
        perimeter_um=rng.uniform(10, 40, n),
        contours=contours,
    )


async def reference_load(store: SpatialStore, slide: str, bounds: Bounds, batch: NucleiBatch):
    """The reference: WKT polygons, executemany of ST_GeomFromText, pages of 500."""
    box_id = uuid.uuid4()
    wkt = shapely.to_wkt(
        [shapely.Polygon(contour) for contour in batch.contours], rounding_precision=-1
    )
    names = ["Background", "Neoplastic", "Inflammatory", "Connective", "Dead", "Epithelial"]
    rows = [
        (
            box_id,
            uuid.UUID(slide),
            float(x),
            float(y),
            text,
            int(t),
            names[t],
            float(p),
            float(a),
            float(m),
        )
        for x, y, text, t, p, a, m in zip(
            batch.x,
            batch.y,
            wkt,
            batch.cell_type.tolist(),
            batch.probability,
            batch.area_um2,
            batch.perimeter_um,
            strict=True,
        )
    ]
    async with store.pool.acquire() as connection, connection.transaction():
        await connection.execute(
            """INSERT INTO analysis_boxes (id, slide_id, label, x_min, y_min, x_max, y_max, geom,
                   mpp, total_nuclei, area_mm2, density_per_mm2, neoplastic_ratio, cell_type_counts)
               VALUES ($1, $2, 'reference', $3, $4, $5, $6, ST_MakeEnvelope($3, $4, $5, $6),
                   0.25, 0, 0, 0, 0, '{0,0,0,0,0,0}')""",
            box_id,
            uuid.UUID(slide),
            bounds.x_min,
            bounds.y_min,
            bounds.x_max,
            bounds.y_max,
        )
        for start in range(0, len(rows), PAGE):
            await connection.executemany(
                """INSERT INTO nuclei (box_id, slide_id, centroid, contour, cell_type,
                       cell_type_name, probability, area_um2, perimeter_um)
                   VALUES ($1, $2, ST_MakePoint($3, $4), ST_GeomFromText($5, 0), $6, $7, $8,
                       $9, $10)""",
                rows[start : start + PAGE],
            )


async def bench_load(store: SpatialStore) -> None:
    rng = np.random.default_rng(1)
    bounds = Bounds(0, 0, 20_000, 20_000)
    batch = nuclei(rng, bounds, LOAD_NUCLEI, VERTICES)
    ours, reference = [], []
    for _ in range(2):
        slide = str(uuid.uuid4())
        started = time.perf_counter()
        await store.insert_box(slide, bounds, 0.25, batch)
        ours.append(LOAD_NUCLEI / (time.perf_counter() - started))
        slide = str(uuid.uuid4())
        started = time.perf_counter()
        await reference_load(store, slide, bounds, batch)
        reference.append(LOAD_NUCLEI / (time.perf_counter() - started))
    report(
        f"load {LOAD_NUCLEI:,} nuclei, {VERTICES}-vertex contours",
        max(ours),
        max(reference),
        "rows/s",
        ">= 3",
    )
    async with store.pool.acquire() as connection:
        # CASCADE: the tables that refer to the boxes (a whole-slide analysis's regions,
        # and whatever comes next) are emptied with them, as they were filled.
        await connection.execute("TRUNCATE nuclei, analysis_boxes CASCADE")


async def bench_roi(store: SpatialStore) -> None:
    rng = np.random.default_rng(2)
    slides = [str(uuid.uuid4()) for _ in range(SLIDES)]
    started = time.perf_counter()
    for slide in slides:
        for _ in range(BOXES_PER_SLIDE):
            x, y = rng.uniform(0, SLIDE_EXTENT - 4000, 2).round()
            bounds = Bounds(x, y, x + 4000, y + 4000)
            await store.insert_box(slide, bounds, 0.25, nuclei(rng, bounds, NUCLEI_PER_BOX))
    loaded_s = time.perf_counter() - started
    async with store.pool.acquire() as connection:
        # The reference keeps every analysis's nuclei as they are: overlaps twice.
        await connection.execute(
            """CREATE TABLE nuclei_reference AS
                   SELECT id, slide_id, centroid AS geom, cell_type FROM nuclei;
               CREATE INDEX ON nuclei_reference USING gist (slide_id, geom);
               ANALYZE nuclei_reference; ANALYZE nuclei; ANALYZE analysis_boxes"""
        )
        total = await connection.fetchval("SELECT count(*) FROM nuclei")
    print(f"   {total:,} nuclei over {SLIDES} slides loaded in {loaded_s:.0f}s", flush=True)

    reference_sql = """SELECT cell_type, count(*) FROM nuclei_reference
        WHERE slide_id = $1 AND ST_Contains(ST_MakeEnvelope($2, $3, $4, $5, 0), geom)
        GROUP BY cell_type"""
    ours, reference, server_ours, server_reference = [], [], [], []
    for _ in range(QUERIES):
        slide = slides[rng.integers(SLIDES)]
        side = rng.uniform(1000, 3000)
        x, y = rng.uniform(0, SLIDE_EXTENT - side, 2)
        roi = Bounds(x, y, x + side, y + side)
        started = time.perf_counter()
        await store.region_counts(slide, roi)
        ours.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        await store.pool.fetch(reference_sql, uuid.UUID(slide), x, y, x + side, y + side)
        reference.append((time.perf_counter() - started) * 1000)
        if len(server_ours) < SERVER_QUERIES:
            # The database's own time (EXPLAIN ANALYZE), free of client and scheduling delays.
            arguments = cells.region_arguments(roi)
            if arguments is not None:
                server_ours.append(
                    await _execution_ms(store, cells.REGION_COUNTS, slide, arguments)
                )
                server_reference.append(
                    await _execution_ms(store, reference_sql, slide, [x, y, x + side, y + side])
                )
    stored = f"{SLIDES * BOXES_PER_SLIDE * NUCLEI_PER_BOX:,} nuclei"
    _latency(f"ROI statistics p50 latency, {stored}", ours, reference, 50, "<= 5 ms")
    _latency(f"ROI statistics p99 latency, {stored}", ours, reference, 99)
    _latency("  p50 database execution (EXPLAIN ANALYZE)", server_ours, server_reference, 50)


async def _execution_ms(store: SpatialStore, sql: str, slide: str, arguments: list) -> float:
    plan = await store.pool.fetchval(
        f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {sql}", uuid.UUID(slide), *arguments
    )
    return json.loads(plan)[0]["Execution Time"]


def _latency(name: str, ours: list[float], reference: list[float], q: int, target: str = ""):
    mine, theirs = np.percentile(ours, q), np.percentile(reference, q)
    print(
        f"{name:<48} {mine:12.2f} ms        reference {theirs:12.2f} ms        "
        f"ratio {theirs / mine:6.2f} (reference/ours)" + (f"  (target {target})" if target else ""),
        flush=True,
    )


async def run() -> None:
    base = os.environ.get("MICROGRAPHIA_DATABASE_URL", DEFAULT_DATABASE_URL)
    url = await create_test_database(base)
    try:
        pool = await open_service_database(
            url, "spatial", [MIGRATIONS], init=register_geometry_codec
        )
        try:
            store = SpatialStore(pool)
            await bench_load(store)
            await bench_roi(store)
        finally:
            await pool.close()
    finally:
        await drop_test_database(url)


def main() -> None:
    asyncio.run(run())
