"""Batches of tiles through Cellpose's network.

A `FlowPredictor` turns normalised tiles (N x C x 256 x 256 float32) into
Cellpose's three maps for them (N x 3 x 256 x 256 float32 on the host): the
Y and X flows and the cell-probability logit. The network runs in the dtype
it was built in (bfloat16, as `CellposeModel` runs it), so a tile's maps are
the ones Cellpose's own `eval` gets.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    import torch

TILE = 256  # Cellpose-SAM's window; fixed by its position embeddings


class FlowPredictor(Protocol):
    tile: int
    device: str

    def predict(self, batches: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Maps of each batch, in order, on the host."""
        ...


class FlowNetworkPredictor:
    """Cellpose's network on a torch device. One lock per predictor: requests share
    the device batch by batch."""

    tile = TILE

    def __init__(self, network: torch.nn.Module, device: str) -> None:
        import torch

        self.torch = torch
        self.device = device
        self.cuda = device.startswith("cuda")
        self.dtype = next(network.parameters()).dtype
        # nn.Module.to itself: Cellpose's modules keep their dtype apart.
        self.network = torch.nn.Module.to(network, device).eval()
        self._lock = threading.Lock()

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        torch = self.torch
        images = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
        if self.cuda:
            images = images.pin_memory().to(self.device, non_blocking=True)
        with torch.inference_mode():
            out = self.network(images.to(self.device, dtype=self.dtype))[0]
            return out.float().cpu().numpy()

    def predict(self, batches: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        for batch in batches:
            with self._lock:
                maps = self._forward(batch)
            yield maps

    def release(self) -> None:
        """Give cached device memory back (after a cancelled or finished request)."""
        if self.cuda:
            self.torch.cuda.empty_cache()
