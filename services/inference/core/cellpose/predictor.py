"""Batches of tiles through Cellpose's network.

A `FlowPredictor` turns normalised tiles (N x 1 x 256 x 256 float32: frames are
2-D, one channel) into Cellpose's three maps for them (N x 3 x 256 x 256
float32 on the host): the Y and X flows and the cell-probability logit.

The network runs on the service's runtime (core/runtime.py), as HoVerNet does.
On torch it runs in the dtype it was built in (bfloat16, as `CellposeModel`
runs it), so a tile's maps are the ones Cellpose's own `eval` gets. On
OpenVINO (the CPU's default) the same weights are compiled once at load, in
the service's CPU precision (`auto`: the network's own, bf16); its maps equal
torch's within bf16 rounding (README.md states the tolerance).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..runtime import TORCH, ServiceRuntime, prepare

if TYPE_CHECKING:
    import torch

TILE = 256  # Cellpose-SAM's window; fixed by its position embeddings
CHANNELS = 1  # frames are 2-D: Cellpose gives their tiles one channel


class FlowPredictor(Protocol):
    tile: int
    device: str

    def predict(self, batches: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Maps of each batch, in order, on the host."""
        ...


def flows_only(network: torch.nn.Module) -> torch.nn.Module:
    """A float32 copy of Cellpose's network whose forward returns its maps alone
    (the network also returns a zero "style" vector, kept for compatibility),
    for a graph compiler to convert: the same weights, bf16 values and all."""
    import torch

    class Flows(torch.nn.Module):
        def __init__(self, network: torch.nn.Module) -> None:
            super().__init__()
            self.network = network

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            return self.network(images)[0]

    network = copy.deepcopy(network)
    torch.nn.Module.to(network, torch.float32)
    if hasattr(network, "_dtype"):  # Cellpose's BaseModel keeps its dtype apart
        network._dtype = torch.float32
    return Flows(network).eval()


class FlowNetworkPredictor:
    """Cellpose's network on a device, run by the service's runtime. One lock per
    predictor: requests share the device batch by batch."""

    tile = TILE

    def __init__(
        self, network: torch.nn.Module, device: str, runtime: ServiceRuntime | None = None
    ) -> None:
        import torch

        self.torch = torch
        self.device = device
        self.cuda = device.startswith("cuda")
        self.dtype = next(network.parameters()).dtype
        runtime = runtime or ServiceRuntime(TORCH)
        self.runtime = runtime.choose(device)
        self._lock = threading.Lock()
        if self.runtime == TORCH:
            self.precision = str(self.dtype).removeprefix("torch.")
            # nn.Module.to itself: Cellpose's modules keep their dtype apart.
            self.network = torch.nn.Module.to(network, device).eval()
            self.forward = self._torch_forward
            return
        self.precision = runtime.precision(network)
        example = torch.zeros((1, CHANNELS, TILE, TILE))
        self.forward = prepare(
            self.runtime, flows_only(network.eval()), example, self.precision, runtime.cache
        )
        # The compiled graph holds the weights; the torch module is not needed.
        self.network = None

    def _torch_forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.cuda:
            images = images.pin_memory().to(self.device, non_blocking=True)
        return self.network(images.to(self.device, dtype=self.dtype))[0]

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        torch = self.torch
        images = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
        with torch.inference_mode():
            return self.forward(images).float().cpu().numpy()

    def predict(self, batches: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        for batch in batches:
            with self._lock:
                maps = self._forward(batch)
            yield maps

    def release(self) -> None:
        """Give cached device memory back (after a cancelled or finished request)."""
        if self.cuda:
            self.torch.cuda.empty_cache()
