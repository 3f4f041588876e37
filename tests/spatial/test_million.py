"""One million synthetic nuclei over several slides with overlapping analyses:
region counts from PostGIS equal a brute-force numpy count of the same rule
(a nucleus counts unless a newer box of its slide holds its centroid)."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from services.spatial.core import Bounds

from .conftest import GroundTruth, synthetic_nuclei

SLIDES = 4
BOXES_PER_SLIDE = 5
NUCLEI_PER_BOX = 50_000  # 4 x 5 x 50,000 = one million


def random_rois(rng: np.random.Generator, count: int) -> list[Bounds]:
    rois = []
    for _ in range(count):
        x, y = rng.uniform(-500, 14_000, 2)
        w, h = rng.uniform(50, 6000, 2)
        rois.append(Bounds(x, y, x + w, y + h))
    return rois


@pytest.mark.slow
def test_a_million_nuclei_region_counts_match_brute_force(loop_thread, store):
    rng = np.random.default_rng(2024)
    truths: dict[str, GroundTruth] = {}
    for _ in range(SLIDES):
        slide = str(uuid.uuid4())
        truths[slide] = GroundTruth([])
        for _ in range(BOXES_PER_SLIDE):
            # 4000 px boxes scattered over 12,000 px: they overlap often.
            x, y = rng.uniform(0, 8000, 2).round()
            bounds = Bounds(x, y, x + 4000, y + 4000)
            nuclei = synthetic_nuclei(rng, bounds, NUCLEI_PER_BOX)
            box = loop_thread.run(store.insert_box(slide, bounds, 0.25, nuclei), timeout=300)
            truths[slide].boxes.append((box.id, bounds, nuclei))

    stored = sum(len(nuclei) for truth in truths.values() for _, _, nuclei in truth.boxes)
    assert stored == 1_000_000

    def check(slide: str, rois: list[Bounds]) -> None:
        for roi in rois:
            counts = loop_thread.run(store.region_counts(slide, roi))
            assert counts == truths[slide].visible_counts(roi).tolist(), (slide, roi)

    whole = Bounds(0, 0, 13_000, 13_000)
    for slide, truth in truths.items():
        check(slide, [whole, *random_rois(rng, 8)])
        # Overlaps are real here: the whole slide holds fewer than all its nuclei.
        assert truth.visible_counts(whole).sum() < BOXES_PER_SLIDE * NUCLEI_PER_BOX

    # Deleting a box in the middle of the history brings back what it hid.
    for slide, truth in truths.items():
        middle = truth.boxes[2][0]
        assert loop_thread.run(store.delete_box(middle)) == NUCLEI_PER_BOX
        truth.remove(middle)
        check(slide, [whole, *random_rois(rng, 4)])

    for slide in truths:
        assert loop_thread.run(store.delete_slide(slide)) == (
            BOXES_PER_SLIDE - 1,
            (BOXES_PER_SLIDE - 1) * NUCLEI_PER_BOX,
        )
