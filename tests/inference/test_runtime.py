"""The service's runtime: which one runs where, and that a compiled network gives
the maps PyTorch gives (within the stated tolerance)."""

from __future__ import annotations

import numpy as np
import pytest

from services.inference.core import ModelSpec, NetworkPredictor
from services.inference.core.cellpose.predictor import FlowNetworkPredictor, flows_only
from services.inference.core.model import exportable, random_network
from services.inference.core.runtime import (
    OPENVINO,
    TORCH,
    RuntimeUnavailable,
    ServiceRuntime,
    choose_runtime,
    native_precision,
    prepare,
)
from tests.inference.conftest import PAINTED_NUCLEI, PAINTED_SIZE
from tests.inference.synthetic import paint

# OpenVINO fp32 against PyTorch fp32 (README.md): probabilities and HV maps.
FP32_ATOL = 1e-4
# Cellpose on OpenVINO bf16 against torch bf16 (README.md): both round the same weights'
# activations to bf16, in different places; relative to the maps' largest magnitude.
CELLPOSE_BF16_RTOL = 0.05
CELLPOSE_BF16_MEAN_RTOL = 0.01


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


def test_services_starting_together_convert_a_network_once(tmp_path, monkeypatch) -> None:
    """Replicas sharing a cache folder (or the suite's processes) wait for one
    conversion instead of each converting (a minute for Cellpose-SAM)."""
    import threading

    import torch

    from services.inference.core import runtime

    conversions: list[str] = []
    convert = runtime._convert

    def counted(module, example, folder):
        conversions.append(folder.name)
        convert(module, example, folder)

    monkeypatch.setattr(runtime, "_convert", counted)
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU()).eval()
    example = torch.rand(1, 3, 16, 16)
    compiled: list[runtime.OpenVinoForward] = []
    threads = [
        threading.Thread(
            target=lambda: compiled.append(prepare(OPENVINO, module, example, "fp32", tmp_path))
        )
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(compiled) == 3 and len(conversions) == 1
    graphs = [p for p in (tmp_path / "openvino").iterdir() if not p.name.startswith(".")]
    assert [p.name for p in graphs] == conversions


@pytest.mark.slow
def test_openvino_maps_equal_pytorch_maps() -> None:
    import torch

    spec = ModelSpec()
    image = paint(*PAINTED_SIZE, PAINTED_NUCLEI)
    rng = np.random.default_rng(0)
    noisy = np.clip(image + rng.normal(0, 20, image.shape), 0, 255).astype(np.uint8)
    patches = np.stack([noisy[74:330, 200:456], image[0:256, 0:256]])
    # In eval mode, as the service runs it (a forward pass in training mode would move
    # its batch-norm statistics, and so the graph's cache key away from the service's).
    network = random_network(spec).eval()

    # The exportable copy is the same network (its upsampling gives the same values;
    # the convolutions after it may round differently on differently laid out inputs),
    # on the noisy patch (a forward pass on two CPU cores takes seconds).
    with torch.inference_mode():
        images = torch.from_numpy(patches[:1]).permute(0, 3, 1, 2).float()
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


class FlowsLikeCellpose:
    """A small network with Cellpose-SAM's interface: bf16 weights, N x 1 x 256 x 256
    tiles in, (N x 3 x 256 x 256 maps, a style vector) out."""

    @staticmethod
    def build():
        import torch

        class Tiny(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.encode = torch.nn.Conv2d(1, 16, 8, stride=8)
                self.decode = torch.nn.ConvTranspose2d(16, 3, 8, stride=8)

            def forward(self, x: torch.Tensor):
                maps = self.decode(torch.nn.functional.gelu(self.encode(x)))
                return maps, torch.zeros((x.shape[0], 256), device=x.device)

        torch.manual_seed(0)
        return Tiny().to(torch.bfloat16).eval()


def test_the_cpu_precision_is_each_networks_own_unless_set() -> None:
    import torch

    hovernet = random_network(ModelSpec())
    cellpose_like = FlowsLikeCellpose.build()
    runtime = ServiceRuntime()
    assert runtime.precision(hovernet) == "fp32"
    assert runtime.precision(cellpose_like) == "bf16"
    assert ServiceRuntime(cpu_precision="fp32").precision(cellpose_like) == "fp32"
    assert native_precision(torch.nn.Linear(2, 2).half()) == "fp16"
    with pytest.raises(RuntimeUnavailable, match="unknown CPU precision"):
        ServiceRuntime(cpu_precision="int4")


def test_cellposes_predictor_runs_on_the_services_runtime(tmp_path) -> None:
    """Cellpose's predictor gets OpenVINO from the service's choice, with no code of
    its own for it; its maps are torch's within bf16 rounding."""
    network = FlowsLikeCellpose.build()
    tiles = np.random.default_rng(0).normal(0, 1, (3, 1, 256, 256)).astype(np.float32)
    eager = FlowNetworkPredictor(network, "cpu", ServiceRuntime(TORCH))
    compiled = FlowNetworkPredictor(network, "cpu", ServiceRuntime(OPENVINO, cache=tmp_path))
    assert (eager.runtime, eager.precision) == (TORCH, "bfloat16")
    assert (compiled.runtime, compiled.precision) == (OPENVINO, "bf16")
    (reference,), (maps,) = eager.predict([tiles]), compiled.predict([tiles])
    assert maps.shape == reference.shape == (3, 3, 256, 256) and maps.dtype == np.float32
    scale = np.abs(reference).max()
    assert np.abs(maps - reference).max() <= CELLPOSE_BF16_RTOL * scale
    # In fp32 (set for every model) the same weights give torch's fp32 maps to rounding.
    exact = FlowNetworkPredictor(network, "cpu", ServiceRuntime(OPENVINO, "fp32", tmp_path))
    fp32 = flows_only(network)(__import__("torch").from_numpy(tiles)).detach().numpy()
    np.testing.assert_allclose(next(iter(exact.predict([tiles]))), fp32, atol=1e-5)


@pytest.mark.slow
def test_cellpose_sam_on_openvino_gives_torchs_maps() -> None:
    """Cellpose-SAM (random weights: pretrained ones cannot be had here; cut to two of
    its 24 alike blocks, testing/networks.py) on the service's CPU default, OpenVINO
    in the network's bf16, against torch bf16 (what Cellpose's own eval runs): the
    stated tolerance (README.md)."""
    from services.inference.core.cellpose.frames import _prepare
    from testing.cellpose_oracle import PaintedCell, paint_cells
    from testing.networks import cellpose_sam_cut

    frame, _ = paint_cells((300, 300), [PaintedCell(80, 90, 14), PaintedCell(200, 180, 16)])
    tiles = _prepare(0, frame, 1.0).tiles[:2]
    network = cellpose_sam_cut()
    (reference,) = FlowNetworkPredictor(network, "cpu", ServiceRuntime(TORCH)).predict([tiles])
    compiled = FlowNetworkPredictor(network, "cpu", ServiceRuntime(OPENVINO))
    assert compiled.precision == "bf16" and compiled.network is None
    (maps,) = compiled.predict([tiles])
    difference = np.abs(maps - reference)
    scale = np.abs(reference).max()
    assert difference.max() <= CELLPOSE_BF16_RTOL * scale, (difference.max(), scale)
    assert difference.mean() <= CELLPOSE_BF16_MEAN_RTOL * scale, (difference.mean(), scale)


def test_openvino_sends_no_telemetry() -> None:
    """openvino_telemetry sends from a process it forks off the calling thread, which
    can crash a process running gRPC threads: OpenVINO must run on its own stub."""
    import sys

    from openvino.tools.ovc import telemetry_utils

    assert sys.modules["openvino_telemetry"] is None
    assert telemetry_utils.tm.__name__ == "openvino.tools.ovc.telemetry_stub"
