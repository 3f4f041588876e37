"""The service's runtime: which one runs where, and that a compiled network gives
the maps PyTorch gives (within the stated tolerance)."""

from __future__ import annotations

import numpy as np
import pytest

from services.inference.core import ModelSpec, NetworkPredictor
from services.inference.core.model import exportable, random_network
from services.inference.core.runtime import (
    OPENVINO,
    TORCH,
    RuntimeUnavailable,
    choose_runtime,
    prepare,
)
from tests.inference.conftest import PAINTED_NUCLEI, PAINTED_SIZE
from tests.inference.synthetic import paint

# OpenVINO fp32 against PyTorch fp32 (README.md): probabilities and HV maps.
FP32_ATOL = 1e-4


def test_auto_is_openvino_on_the_cpu_and_torch_on_a_gpu() -> None:
    assert choose_runtime("auto", "cpu") == OPENVINO
    assert choose_runtime("auto", "cuda:0") == TORCH
    assert choose_runtime("auto", "mps") == TORCH
    assert choose_runtime("torch", "cpu") == TORCH


@pytest.mark.parametrize(
    ("setting", "device", "words"),
    [("openvino", "cuda:0", "runs on the CPU"), ("tensorrt", "cpu", "unknown runtime")],
)
def test_a_runtime_that_cannot_run_here_is_refused(setting, device, words) -> None:
    with pytest.raises(RuntimeUnavailable, match=words):
        choose_runtime(setting, device)


def test_any_module_runs_on_openvino_as_in_torch() -> None:
    """The runtime knows nothing of HoVerNet: a second model gets it as it is."""
    import torch

    class TwoHeads(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
            self.head = torch.nn.Conv2d(8, 2, 1)

        def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
            features = torch.relu(self.conv(x))
            return {"flows": self.head(features), "features": features.mean(dim=1)}

    torch.manual_seed(0)
    module = TwoHeads().eval()
    images = torch.rand(3, 3, 32, 32)
    compiled = prepare(OPENVINO, module, images[:1], "fp32")
    with torch.inference_mode():
        expected = module(images)
    got = compiled(images)  # another batch size than the example's
    assert set(got) == {"flows", "features"}
    for key in expected:
        np.testing.assert_allclose(got[key].numpy(), expected[key].numpy(), atol=1e-5)


@pytest.mark.slow
def test_openvino_maps_equal_pytorch_maps() -> None:
    import torch

    spec = ModelSpec()
    image = paint(*PAINTED_SIZE, PAINTED_NUCLEI)
    rng = np.random.default_rng(0)
    noisy = np.clip(image + rng.normal(0, 20, image.shape), 0, 255).astype(np.uint8)
    patches = np.stack([noisy[74:330, 200:456], image[0:256, 0:256]])
    network = random_network(spec)

    # The exportable copy is the same network (its upsampling gives the same values;
    # the convolutions after it may round differently on differently laid out inputs).
    with torch.inference_mode():
        images = torch.from_numpy(patches).permute(0, 3, 1, 2).float()
        original, rewritten = network(images), exportable(network)(images)
    for key in original:
        np.testing.assert_allclose(
            rewritten[key].numpy(), original[key].numpy(), rtol=1e-5, atol=1e-4
        )

    (reference,) = NetworkPredictor(network, "cpu", 256, 164, "fp32", TORCH).predict([patches])
    (compiled,) = NetworkPredictor(network, "cpu", 256, 164, "fp32", OPENVINO).predict([patches])
    np.testing.assert_allclose(compiled.np, reference.np, atol=FP32_ATOL)
    np.testing.assert_allclose(compiled.hv, reference.hv, atol=FP32_ATOL)
    assert (compiled.tp == reference.tp).mean() > 0.999
