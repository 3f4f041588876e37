"""The spatial core on a real PostGIS: schema, binary COPY, overlaps counted once,
box lifecycle, repair of invalid outlines, QuPath features."""

from __future__ import annotations

import asyncio
import json
import math
import uuid

import numpy as np
import pytest
import shapely

from common.errors import InvalidArgument, NotFound
from services.spatial.core import Bounds, NucleiBatch, box_metrics, copy_rows
from services.spatial.core import store as store_module
from services.spatial.core.geojson import feature_collection
from services.spatial.core.nuclei import contour_polygons

from .conftest import GroundTruth, synthetic_nuclei

MPP = 0.25


def new_slide() -> str:
    return str(uuid.uuid4())


def test_a_box_keeps_its_run_and_its_nuclei_are_found(loop_thread, store):
    rng = np.random.default_rng(1)
    slide = new_slide()
    bounds = Bounds(1000, 2000, 3000, 2500)
    nuclei = synthetic_nuclei(rng, bounds, 500, contours=True)
    box = loop_thread.run(store.insert_box(slide, bounds, MPP, nuclei))

    assert box.label == "Analysis 1" and box.slide_id == slide
    assert box.summary.total_nuclei == 500
    assert box.counts == np.bincount(nuclei.cell_type, minlength=6).tolist()
    assert box.summary.area_mm2 == pytest.approx(2000 * 500 * MPP**2 * 1e-6)
    assert box.summary.density_per_mm2 == pytest.approx(500 / box.summary.area_mm2)
    assert box.summary.neoplastic_ratio == pytest.approx(box.counts[1] / 500)
    assert [c.cell_type for c in box.summary.cell_type_counts] == list(range(6))
    assert loop_thread.run(store.get_box(box.id)) == box

    found = loop_thread.run(store.viewport_nuclei(slide, bounds))
    assert len(found.nuclei) == 500 and not found.truncated
    by_position = sorted((n.x, n.y, n.cell_type) for n in found.nuclei)
    expected = sorted(
        zip(nuclei.x.tolist(), nuclei.y.tolist(), nuclei.cell_type.tolist(), strict=True)
    )
    assert by_position == expected
    capped = loop_thread.run(store.viewport_nuclei(slide, bounds, limit=100))
    assert len(capped.nuclei) == 100 and capped.truncated


def test_overlapping_boxes_count_once_and_delete_restores(loop_thread, store):
    rng = np.random.default_rng(2)
    slide = new_slide()
    truth = GroundTruth([])
    for bounds in (
        Bounds(0, 0, 1000, 1000),
        Bounds(500, 500, 1500, 1500),  # overlaps the first
        Bounds(400, 400, 700, 700),  # inside both
        Bounds(1000, 0, 2000, 1000),  # shares an edge with the first
    ):
        nuclei = synthetic_nuclei(rng, bounds, 2000)
        box = loop_thread.run(store.insert_box(slide, bounds, MPP, nuclei))
        truth.boxes.append((box.id, bounds, nuclei))

    rois = [Bounds(0, 0, 2000, 1500), Bounds(450, 450, 650, 900), Bounds(999.5, 0, 1000.5, 1000)]
    for roi in rois:
        counts = loop_thread.run(store.region_counts(slide, roi))
        assert counts == truth.visible_counts(roi).tolist(), roi
    # The whole slide: every place counted once, so fewer than all nuclei stored.
    everything = Bounds(0, 0, 2000, 1500)
    assert sum(loop_thread.run(store.region_counts(slide, everything))) < 8000

    # A box's detail keeps its own run though newer boxes cover part of it.
    first = loop_thread.run(store.get_box(truth.boxes[0][0]))
    assert first.summary.total_nuclei == 2000

    newest_first = [box.id for box in loop_thread.run(store.list_boxes(slide))]
    assert newest_first == [box_id for box_id, _, _ in reversed(truth.boxes)]

    # Deleting the middle box lets what it hid count again, unless a newer box covers it.
    middle = truth.boxes[1][0]
    assert loop_thread.run(store.delete_box(middle)) == 2000
    truth.remove(middle)
    for roi in rois:
        counts = loop_thread.run(store.region_counts(slide, roi))
        assert counts == truth.visible_counts(roi).tolist(), roi
    with pytest.raises(NotFound):
        loop_thread.run(store.get_box(middle))
    with pytest.raises(NotFound):
        loop_thread.run(store.delete_box(middle))

    assert loop_thread.run(store.delete_slide(slide)) == (3, 6000)
    assert loop_thread.run(store.list_boxes(slide)) == []
    assert sum(loop_thread.run(store.region_counts(slide, everything))) == 0


def test_a_failed_or_cancelled_insert_leaves_nothing(loop_thread, store, monkeypatch):
    rng = np.random.default_rng(3)
    slide = new_slide()
    bounds = Bounds(0, 0, 500, 500)
    good = synthetic_nuclei(rng, bounds, 300)
    loop_thread.run(store.insert_box(slide, bounds, MPP, good))

    # The database refuses the last row of the COPY (a point where a polygon
    # belongs): the box and the rows sent before it must go too.
    def with_a_bad_row(box_id, slide_id, nuclei):
        last = nuclei[len(nuclei) - 1 :]
        bad = copy_rows.encode_rows(
            box_id,
            slide_id,
            last.centroid_wkb(),
            last.cell_type,
            last.probability,
            last.area_um2,
            last.perimeter_um,
            last.centroid_wkb().tolist(),
        )
        return encode(box_id, slide_id, nuclei[: len(nuclei) - 1]) + bad

    encode = store_module._nucleus_rows
    monkeypatch.setattr(store_module, "_nucleus_rows", with_a_bad_row)
    broken = synthetic_nuclei(rng, Bounds(100, 100, 400, 400), 25_000)
    with pytest.raises(Exception, match=r"geometry|Point|Polygon"):
        loop_thread.run(store.insert_box(slide, Bounds(100, 100, 400, 400), MPP, broken))
    assert len(loop_thread.run(store.list_boxes(slide))) == 1
    assert sum(loop_thread.run(store.region_counts(slide, bounds))) == 300
    monkeypatch.undo()

    async def cancelled_insert():
        big = synthetic_nuclei(rng, Bounds(0, 0, 500, 500), 200_000)
        task = asyncio.ensure_future(store.insert_box(slide, Bounds(0, 0, 500, 500), MPP, big))
        await asyncio.sleep(0.3)  # the COPY is under way
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    loop_thread.run(cancelled_insert())
    assert len(loop_thread.run(store.list_boxes(slide))) == 1
    assert sum(loop_thread.run(store.region_counts(slide, bounds))) == 300


def test_bad_ids_and_values_are_refused(loop_thread, store):
    with pytest.raises(InvalidArgument, match="slide_id"):
        loop_thread.run(store.list_boxes("not-a-uuid"))
    with pytest.raises(InvalidArgument, match="box_id"):
        loop_thread.run(store.get_box("nope"))
    with pytest.raises(NotFound):
        loop_thread.run(store.get_box(str(uuid.uuid4())))
    with pytest.raises(InvalidArgument, match="probabilities"):
        NucleiBatch([1.0], [1.0], [1], [1.5], [1.0], [1.0])
    with pytest.raises(InvalidArgument, match="cell types"):
        NucleiBatch([1.0], [1.0], [6], [0.5], [1.0], [1.0])
    outside = NucleiBatch([10.0, 150.0], [10.0, 10.0], [1, 1], [0.5, 0.5], [1, 1], [1, 1])
    with pytest.raises(InvalidArgument, match="1 nuclei lie outside the box"):
        loop_thread.run(store.insert_box(new_slide(), Bounds(0, 0, 100, 100), MPP, outside))
    with pytest.raises(InvalidArgument, match="outside the slide"):
        Bounds(2000, 0, 3000, 100).clamped(1000, 1000)
    assert Bounds(-10, -10, 50, 2000).clamped(1000, 1000) == Bounds(0, 0, 50, 1000)


def test_invalid_outlines_are_repaired_not_dropped(loop_thread, store):
    figure_eight = np.array([(0, 0), (10, 10), (10, 0), (0, 10)], float)  # self-intersecting
    uneven_eight = np.array([(0, 0), (20, 20), (20, 0), (0, 10)], float)
    square = np.array([(0, 0), (4, 0), (4, 4), (0, 4)], float)
    line = np.array([(0, 0), (1, 1), (2, 2)], float)  # no area
    polygons = contour_polygons([figure_eight, uneven_eight, square, line, None, square[:2]])
    assert polygons[0].is_valid and polygons[0].area == pytest.approx(25)
    # The larger of the two lobes is kept.
    assert polygons[1].is_valid and polygons[1].area > 50
    assert polygons[2].area == 16
    assert polygons[3] is None and polygons[4] is None and polygons[5] is None

    slide = new_slide()
    contours = [figure_eight + 100, square + 200, line + 300]
    nuclei = NucleiBatch(
        x=[105.0, 202.0, 301.0],
        y=[105.0, 202.0, 301.0],
        cell_type=[1, 2, 3],
        probability=[0.9, 0.8, 0.7],
        area_um2=[5.0, 1.0, 0.0],
        perimeter_um=[10.0, 4.0, 1.0],
        contours=contours,
    )
    box = loop_thread.run(store.insert_box(slide, Bounds(0, 0, 400, 400), MPP, nuclei))
    assert box.summary.total_nuclei == 3  # none dropped

    async def read():
        async with store.pool.acquire() as connection:
            return await connection.fetch(
                "SELECT contour, ST_IsValid(contour) AS valid FROM nuclei "
                "WHERE box_id = $1 ORDER BY cell_type",
                uuid.UUID(box.id),
            )

    rows = loop_thread.run(read())
    assert rows[0]["valid"] and rows[0]["contour"].area == pytest.approx(25)
    assert rows[1]["contour"].area == 16
    assert rows[2]["contour"] is None


def test_outlines_written_by_numpy_match_geos_byte_for_byte():
    """Star-shaped outlines skip GEOS: their WKB must be what GEOS would write,
    and every other outline (closed, self-crossing, collinear, tiny, far from
    the origin, float32) must still take the GEOS path."""
    rng = np.random.default_rng(5)
    contours = []
    for _ in range(3000):
        k = int(rng.integers(0, 12))
        scale = rng.choice([1.0, 1e-3, 50.0])
        contours.append(
            None if k == 0 else rng.normal(size=(k, 2)) * scale + rng.uniform(0, 1e5, 2)
        )
    angles = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    round_ = np.stack([np.cos(angles), np.sin(angles)], axis=1) * 5 + 300
    square = np.array([(0, 0), (4, 0), (4, 4), (0, 4)], float)
    contours += [
        round_,
        round_[::-1],  # clockwise
        np.concatenate([round_, round_]),  # twice round: not simple
        np.concatenate([square, square[:1]]),  # closed already
        square.astype(np.float32),
        np.array([(0, 0), (10, 10), (10, 0), (0, 10)], float),  # figure eight
        np.array([(0, 0), (2, 0), (4, 0), (4, 4), (0, 4)], float),  # collinear vertices
    ]
    n = len(contours)
    nuclei = NucleiBatch(
        np.zeros(n), np.zeros(n), np.zeros(n, int), np.ones(n), np.ones(n), np.ones(n), contours
    )
    ours = nuclei.contour_wkb().tolist()
    geos = shapely.to_wkb(contour_polygons(contours)).tolist()
    assert ours == geos
    assert sum(wkb is not None for wkb in ours) > 1000


def test_geojson_features_are_qupath_detections(loop_thread, store):
    rng = np.random.default_rng(4)
    slide = new_slide()
    bounds = Bounds(0, 0, 300, 300)
    nuclei = synthetic_nuclei(rng, bounds, 50, contours=True)
    box = loop_thread.run(store.insert_box(slide, bounds, MPP, nuclei))

    async def export(pages):
        return json.loads(b"".join([chunk async for chunk in feature_collection(pages)]))

    collection = loop_thread.run(export(store.box_features(box.id, page=7)))
    assert_qupath_collection(collection, 50)
    again = loop_thread.run(export(store.box_features(box.id)))
    assert [f["id"] for f in again["features"]] == [f["id"] for f in collection["features"]]
    region = loop_thread.run(export(store.region_features(slide, Bounds(0, 0, 150, 300))))
    assert len(region["features"]) == int(nuclei.inside(0, 0, 150, 300).sum())
    empty = loop_thread.run(export(store.region_features(slide, Bounds(500, 500, 600, 600))))
    assert empty == {"type": "FeatureCollection", "features": []}


def assert_qupath_collection(collection: dict, count: int) -> None:
    """What QuPath needs to import detections."""
    assert collection["type"] == "FeatureCollection"
    assert len(collection["features"]) == count
    ids = set()
    for feature in collection["features"]:
        assert feature["type"] == "Feature"
        ids.add(str(uuid.UUID(feature["id"])))
        geometry = feature["geometry"]
        assert geometry["type"] == "Polygon"
        ring = geometry["coordinates"][0]
        assert len(ring) >= 4 and ring[0] == ring[-1]
        properties = feature["properties"]
        assert properties["objectType"] == "detection"
        classification = properties["classification"]
        assert isinstance(classification["name"], str) and classification["name"]
        color = classification["color"]
        assert len(color) == 3 and all(isinstance(c, int) and 0 <= c <= 255 for c in color)
        measurements = properties["measurements"]
        assert set(measurements) == {"Area µm^2", "Perimeter µm", "Probability"}
        assert 0 <= measurements["Probability"] <= 1
    assert len(ids) == count


def test_derived_metrics_match_the_documented_example():
    counts = [45, 475, 312, 289, 67, 335]
    metrics = box_metrics(counts)
    total = sum(counts)
    assert metrics.inflammatory_index == pytest.approx(0.211, abs=5e-4)
    assert metrics.immune_tumour_ratio == pytest.approx(0.657, abs=5e-4)
    assert metrics.ne_epithelial_ratio == pytest.approx(1.418, abs=5e-4)
    assert metrics.viability == pytest.approx(0.956, abs=5e-4)
    assert metrics.shannon_h == pytest.approx(-sum(c / total * math.log(c / total) for c in counts))
    empty = box_metrics([0] * 6)
    assert empty.shannon_h == 0 and empty.viability is None and empty.inflammatory_index is None
    no_tumour = box_metrics([0, 0, 5, 0, 0, 0])
    assert no_tumour.immune_tumour_ratio is None and no_tumour.ne_epithelial_ratio is None
    assert no_tumour.inflammatory_index == 1.0
