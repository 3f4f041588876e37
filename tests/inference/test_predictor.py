"""The real network: our predictor's maps are tiatoolbox's `infer_batch` maps."""

from __future__ import annotations

import numpy as np
import pytest

from services.inference.core import ModelSpec, NetworkPredictor
from services.inference.core.model import random_network
from tests.inference.conftest import PAINTED_NUCLEI, PAINTED_SIZE
from tests.inference.synthetic import paint


@pytest.mark.slow
@pytest.mark.model
def test_predictor_maps_equal_tiatoolbox_infer_batch() -> None:
    import torch
    from tiatoolbox.models.architecture.hovernet import HoVerNet

    spec = ModelSpec()
    image = paint(*PAINTED_SIZE, PAINTED_NUCLEI)
    rng = np.random.default_rng(0)
    noisy = np.clip(image + rng.normal(0, 20, image.shape), 0, 255).astype(np.uint8)
    # One patch: a forward pass takes seconds on two CPU cores (batches: test_runtime).
    patches = np.stack([noisy[74:330, 200:456]])

    predictor = NetworkPredictor(random_network(spec), "cpu", 256, 164)
    (ours,) = list(predictor.predict([patches]))
    reference = HoVerNet.infer_batch(random_network(spec), torch.from_numpy(patches), device="cpu")

    assert ours.np.shape == (1, 164, 164) and ours.hv.shape == (1, 164, 164, 2)
    np.testing.assert_allclose(ours.np, reference[0][..., 0], atol=1e-5)
    np.testing.assert_allclose(ours.hv, reference[1], atol=1e-5)
    np.testing.assert_array_equal(ours.tp, reference[2][..., 0].astype(np.uint8))
    assert ours.np.std() > 0  # the maps vary with the pixels


def test_a_cancelled_request_stops_inside_the_batch_in_flight() -> None:
    """Cancelled while the network is part-way through a batch (set here by a
    layer as it runs), the forward pass stops at the next layer: the layers after
    it never run, and no further batch starts."""
    import threading

    from common.errors import Cancelled

    spec = ModelSpec()
    network = random_network(spec)
    predictor = NetworkPredictor(network, "cpu", 256, 164)
    layers = [m for m in network.modules() if next(m.children(), None) is None]
    ran = 0
    cancelled = threading.Event()

    def count(*_) -> None:
        nonlocal ran
        ran += 1
        if ran == 10:
            cancelled.set()

    for layer in layers:
        layer.register_forward_hook(count)
    patches = np.zeros((1, 256, 256, 3), np.uint8)
    with pytest.raises(Cancelled):
        list(predictor.predict([patches, patches], cancelled))
    assert ran == 10 < len(layers)
