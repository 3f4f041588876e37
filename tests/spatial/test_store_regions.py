"""Whole-slide boxes in the store (real PostGIS): regions stored one transaction
at a time, and the overlap rule with them: a whole-slide box holds the regions
it has stored; older boxes give way there, newer boxes keep theirs, whatever
order regions and other boxes arrive in. Checked against a brute-force answer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import numpy as np
import pytest

from common.errors import InvalidArgument, NotFound
from services.spatial.core import Bounds, NucleiBatch

from .conftest import synthetic_nuclei

MPP = 0.25
SLIDE = Bounds(0, 0, 2048, 2048)
ROIS = [
    SLIDE,
    Bounds(0, 0, 1024, 1024),
    Bounds(250, 300, 1000, 700),
    Bounds(511.5, 0, 513, 2048),  # thinner than a cell: counted one by one
    Bounds(64, 64, 640, 960),
]


@dataclass
class Truth:
    """Boxes oldest first: (id, the areas it holds, its nuclei)."""

    boxes: list[tuple[str, list[Bounds], list[NucleiBatch]]] = field(default_factory=list)

    def visible(self, roi: Bounds) -> np.ndarray:
        counts = np.zeros(6, np.int64)
        for index, (_, _, batches) in enumerate(self.boxes):
            for nuclei in batches:
                keep = nuclei.inside(roi.x_min, roi.y_min, roi.x_max, roi.y_max)
                for _, areas, _ in self.boxes[index + 1 :]:
                    for area in areas:
                        keep &= ~nuclei.inside(area.x_min, area.y_min, area.x_max, area.y_max)
                counts += np.bincount(nuclei.cell_type[keep], minlength=6)
        return counts

    def add_region(self, box_id: str, region: Bounds, nuclei: NucleiBatch) -> None:
        for id_, areas, batches in self.boxes:
            if id_ == box_id:
                areas.append(region)
                batches.append(nuclei)


def check(loop_thread, store, slide: str, truth: Truth) -> None:
    for roi in ROIS:
        counts = loop_thread.run(store.region_counts(slide, roi))
        assert counts == truth.visible(roi).tolist(), roi
    seen = loop_thread.run(store.viewport_nuclei(slide, SLIDE))
    assert len(seen.nuclei) == int(truth.visible(SLIDE).sum())


def test_regions_fill_a_whole_slide_box_and_overlaps_count_once(loop_thread, store):
    rng = np.random.default_rng(5)
    slide = str(uuid.uuid4())
    job = str(uuid.uuid4())
    truth = Truth()

    older_bounds = Bounds(100, 100, 600, 600)
    older_nuclei = synthetic_nuclei(rng, older_bounds, 300)
    older = loop_thread.run(store.insert_box(slide, older_bounds, MPP, older_nuclei))
    truth.boxes.append((older.id, [older_bounds], [older_nuclei]))

    whole = loop_thread.run(store.create_whole_slide_box(slide, SLIDE, MPP))
    assert whole.label == "Whole slide 1" and whole.summary.total_nuclei == 0
    assert whole.bounds == SLIDE
    truth.boxes.append((whole.id, [], []))
    check(loop_thread, store, slide, truth)  # an empty whole-slide box hides nothing

    def store_region(index: int, region: Bounds, n: int) -> None:
        nuclei = synthetic_nuclei(rng, region, n)
        stored = loop_thread.run(store.store_region(whole.id, job, index, region, nuclei))
        assert (stored.index, stored.bounds, stored.nuclei) == (index, region, n)
        truth.add_region(whole.id, region, nuclei)

    store_region(0, Bounds(0, 0, 512, 512), 400)  # over the older box: it gives way
    check(loop_thread, store, slide, truth)

    newer_bounds = Bounds(300, 300, 900, 900)
    newer_nuclei = synthetic_nuclei(rng, newer_bounds, 350)
    newer = loop_thread.run(store.insert_box(slide, newer_bounds, MPP, newer_nuclei))
    assert newer.label == "Analysis 2"
    truth.boxes.append((newer.id, [newer_bounds], [newer_nuclei]))
    check(loop_thread, store, slide, truth)

    # Regions stored after the newer box: the newer box keeps its nuclei there.
    store_region(1, Bounds(512, 0, 1024, 512), 250)
    store_region(5, Bounds(512, 512, 1024, 1024), 250)
    check(loop_thread, store, slide, truth)

    # A second whole-slide analysis holds only what it has stored.
    second = loop_thread.run(store.create_whole_slide_box(slide, SLIDE, MPP, label="again"))
    assert second.label == "again"
    truth.boxes.append((second.id, [], []))
    region = Bounds(512, 512, 1024, 1024)
    nuclei = synthetic_nuclei(rng, region, 100)
    loop_thread.run(store.store_region(second.id, str(uuid.uuid4()), 5, region, nuclei))
    truth.add_region(second.id, region, nuclei)
    check(loop_thread, store, slide, truth)

    # Deleting boxes shows again what they hid, where nothing newer holds it.
    loop_thread.run(store.delete_box(newer.id))
    truth.boxes = [box for box in truth.boxes if box[0] != newer.id]
    check(loop_thread, store, slide, truth)
    loop_thread.run(store.delete_box(second.id))
    truth.boxes = [box for box in truth.boxes if box[0] != second.id]
    check(loop_thread, store, slide, truth)

    box = loop_thread.run(store.get_box(whole.id))
    assert box.summary.total_nuclei == 900
    regions = loop_thread.run(store.stored_regions(job))
    assert [r.index for r in regions] == [0, 1, 5]
    assert sum(r.nuclei for r in regions) == 900


def test_a_region_is_stored_once_whole_or_not_at_all(loop_thread, store):
    rng = np.random.default_rng(6)
    slide = str(uuid.uuid4())
    job = str(uuid.uuid4())
    whole = loop_thread.run(store.create_whole_slide_box(slide, SLIDE, MPP))
    region = Bounds(0, 0, 512, 512)
    first = loop_thread.run(
        store.store_region(whole.id, job, 0, region, synthetic_nuclei(rng, region, 50))
    )
    # A resumed job repeating the region changes nothing.
    again = loop_thread.run(
        store.store_region(whole.id, job, 0, region, synthetic_nuclei(rng, region, 70))
    )
    assert again == first
    assert len(loop_thread.run(store.box_nuclei(whole.id))) == 50

    outside = synthetic_nuclei(rng, Bounds(100, 0, 200, 100), 3)
    with pytest.raises(InvalidArgument, match="outside"):
        loop_thread.run(store.store_region(whole.id, job, 1, Bounds(512, 0, 1024, 512), outside))
    assert [r.index for r in loop_thread.run(store.stored_regions(job))] == [0]

    with pytest.raises(InvalidArgument, match="job_id"):
        loop_thread.run(store.store_region(whole.id, "nope", 1, region, outside))

    # Only whole-slide boxes take regions; a deleted one takes none.
    ordinary = loop_thread.run(
        store.insert_box(slide, Bounds(0, 0, 10, 10), MPP, synthetic_nuclei(rng, region, 0))
    )
    with pytest.raises(NotFound):
        loop_thread.run(store.store_region(ordinary.id, job, 1, region, outside))
    loop_thread.run(store.delete_box(whole.id))
    with pytest.raises(NotFound, match="deleted"):
        loop_thread.run(
            store.store_region(whole.id, job, 1, region, synthetic_nuclei(rng, region, 5))
        )
    assert loop_thread.run(store.stored_regions(job)) == []  # cascaded with the box
