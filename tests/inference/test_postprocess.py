"""Our split post-processing (edges.py on torch, watershed.py on the CPU) gives
exactly tiatoolbox's `HoVerNet._proc_np_hv` labels."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from tiatoolbox.models.architecture.hovernet import HoVerNet

from services.inference.core.edges import _min_max, _sobel, _sobel_opencv, hv_edges
from services.inference.core.watershed import instance_labels
from testing.oracle import OraclePredictor
from tests.inference.conftest import PAINTED_NUCLEI, PAINTED_SIZE
from tests.inference.synthetic import paint


def watershed(np_map: np.ndarray, hv_map: np.ndarray) -> np.ndarray:
    """Instance labels from the probability (H x W) and HV (H x W x 2) maps: the
    two halves as the pipeline runs them, apart."""
    hv = torch.from_numpy(np.ascontiguousarray(np.moveaxis(hv_map, -1, 0), dtype=np.float32))
    edges = hv_edges(torch.from_numpy(np.asarray(np_map, dtype=np.float32)), hv)
    return instance_labels(edges.nuclear.numpy(), edges.edges.numpy())


def oracle_maps() -> tuple[np.ndarray, np.ndarray]:
    image = paint(*PAINTED_SIZE, PAINTED_NUCLEI)
    height, width = image.shape[:2]
    crop = min(height, width)
    nuclear, hv, _ = OraclePredictor(crop, crop).patch_maps(image[:crop, :crop])
    return nuclear, hv


def smooth_maps(seed: int, shape=(300, 340)) -> tuple[np.ndarray, np.ndarray]:
    """Blobby maps with touching nuclei and many markers per component, as random
    weights give."""
    rng = np.random.default_rng(seed)
    nuclear = cv2.GaussianBlur(rng.uniform(0, 1, shape).astype(np.float32), (31, 31), 6)
    nuclear = (nuclear - nuclear.mean()) * 8 + 0.5
    hv = cv2.GaussianBlur(rng.normal(0, 1, (*shape, 2)).astype(np.float32), (21, 21), 5)
    return nuclear, hv


def merged_oracle_maps() -> tuple[np.ndarray, np.ndarray]:
    nuclear, hv = oracle_maps()
    return (cv2.GaussianBlur(nuclear, (15, 15), 4) > 0.25).astype(np.float32), hv


@pytest.mark.parametrize(
    "maps",
    [oracle_maps, merged_oracle_maps, lambda: smooth_maps(0), lambda: smooth_maps(1)],
    ids=["oracle", "touching", "smooth-0", "smooth-1"],
)
def test_labels_equal_tiatoolbox(maps) -> None:
    nuclear, hv = maps()
    reference = HoVerNet._proc_np_hv(nuclear[..., None], hv)
    ours = watershed(nuclear, hv)
    assert reference.max() > 3
    np.testing.assert_array_equal(ours, reference)


def test_flat_and_empty_maps() -> None:
    flat = np.zeros((50, 60), np.float32)
    assert not watershed(flat, np.zeros((50, 60, 2), np.float32)).any()
    nuclear = np.ones((50, 60), np.float32)  # one blob, flat HV: one nucleus
    reference = HoVerNet._proc_np_hv(nuclear[..., None], np.zeros((50, 60, 2), np.float32))
    np.testing.assert_array_equal(watershed(nuclear, np.zeros((50, 60, 2), np.float32)), reference)


def test_device_sobel_equals_opencv() -> None:
    """The torch Sobel (run on CUDA) against OpenCV's, here on CPU tensors."""
    _, hv = smooth_maps(2, (120, 90))
    planes = _min_max(torch.from_numpy(np.moveaxis(hv, -1, 0).copy()).double())
    np.testing.assert_allclose(_sobel(planes).numpy(), _sobel_opencv(planes).numpy(), rtol=1e-12)


def test_edges_normalisation_equals_opencv() -> None:
    """cv2.normalize(NORM_MINMAX, CV_32F) to the bit."""
    _, hv = smooth_maps(3, (80, 70))
    ours = _min_max(torch.from_numpy(np.moveaxis(hv, -1, 0).copy()).double()).numpy()
    for channel in range(2):
        reference = cv2.normalize(
            hv[..., channel], None, alpha=0, beta=1, norm_type=cv2.NORM_MINMAX, dtype=cv2.CV_32F
        )
        np.testing.assert_array_equal(ours[channel], reference)


def test_labels_from_host_halves() -> None:
    nuclear, hv = smooth_maps(4)
    edges = hv_edges(torch.from_numpy(nuclear), torch.from_numpy(np.moveaxis(hv, -1, 0).copy()))
    labels = instance_labels(edges.nuclear.numpy(), edges.edges.numpy())
    np.testing.assert_array_equal(labels, HoVerNet._proc_np_hv(nuclear[..., None], hv))


@pytest.mark.slow
def test_worker_processes_find_the_same_nuclei_as_threads() -> None:
    from services.inference.core import (
        ModelSpec,
        NucleiFound,
        SegmentationConfig,
        SlideFacts,
        plan_region,
        segment_region,
    )
    from services.inference.core.segmentation import postprocess_pool

    image = paint(*PAINTED_SIZE, PAINTED_NUCLEI)
    height, width = image.shape[:2]
    slide = SlideFacts(width, height, 0.25, (1.0,))
    config = SegmentationConfig(batch_size=8, tile_size=400)
    spec = ModelSpec()
    plan = plan_region(slide, 0, 0, width, height, spec, config)

    def centroids(pool=None) -> list[tuple[float, float]]:
        events: list = []
        segment_region(
            plan,
            slide,
            spec,
            OraclePredictor(),
            lambda level, x, y, w, h: image[y : y + h, x : x + w],
            config,
            events.append,
            postprocess=pool,
        )
        found = [n for e in events if isinstance(e, NucleiFound) for n in e.nuclei]
        return sorted((round(n.x, 3), round(n.y, 3)) for n in found)

    with postprocess_pool(1) as pool:
        in_processes = centroids(pool)
    in_threads = centroids()
    assert len(in_threads) == len(PAINTED_NUCLEI)
    assert in_processes == in_threads
