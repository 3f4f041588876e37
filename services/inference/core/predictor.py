"""Batches of patches through the network, the device kept busy.

A `Predictor` turns patches (N x in x in x 3 uint8) into HoVerNet's three maps
for their centres (N x out x out): nuclear probability, horizontal/vertical
distances, type. On CUDA the maps stay on the device (the caller stitches and
filters them there, see segmentation.py and edges.py) and nothing waits for
the device: inputs go up from pinned memory without blocking, so the host
queues batch n+1 while the device runs batch n; autocast runs the
convolutions in bf16/fp16.

A request that is cancelled (its caller gone) stops inside the forward pass in
flight, at the next layer, and never starts another: on a CPU one batch takes
seconds, and requests queued for the device would each run one more.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from common.errors import Cancelled

from .model import exportable
from .runtime import TORCH, prepare

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Maps:
    """HoVerNet's outputs for N patches, packed N x 4 x H x W float32 on the
    predictor's device: nuclear probability, horizontal, vertical, type index."""

    packed: torch.Tensor

    @classmethod
    def from_arrays(cls, nuclear: np.ndarray, hv: np.ndarray, types: np.ndarray) -> Maps:
        """From host arrays N x H x W, N x H x W x 2 and N x H x W."""
        import torch

        planes = [nuclear[:, None], np.moveaxis(hv, -1, 1), types[:, None].astype(np.float32)]
        return cls(torch.from_numpy(np.concatenate(planes, axis=1).astype(np.float32)))

    @property
    def np(self) -> np.ndarray:
        """N x H x W float32 nuclear probability (on the host)."""
        return self.packed[:, 0].cpu().numpy()

    @property
    def hv(self) -> np.ndarray:
        """N x H x W x 2 float32 horizontal and vertical maps (on the host)."""
        return self.packed[:, 1:3].permute(0, 2, 3, 1).cpu().numpy()

    @property
    def tp(self) -> np.ndarray:
        """N x H x W uint8 most likely type (on the host)."""
        return self.packed[:, 3].round().byte().cpu().numpy()

    def __len__(self) -> int:
        return len(self.packed)


class Predictor(Protocol):
    patch_input: int
    patch_output: int
    device: str

    def predict(
        self, batches: Iterable[np.ndarray], cancelled: threading.Event | None = None
    ) -> Iterator[Maps]:
        """Maps of each batch, in order, on the predictor's device; on CUDA they may
        still be being computed (the caller's later device work queues behind them).
        Raises `Cancelled` soon after `cancelled` is set."""
        ...


class NetworkPredictor:
    """A HoVerNet module on a device, run by the service's runtime (runtime.py).

    `precision`: "fp32", "bf16" or "fp16": autocast on CUDA; on the CPU the
    OpenVINO runtime compiles for it, torch eager stays fp32 (its maps equal
    tiatoolbox's `infer_batch`). One lock per predictor: several requests share
    the device batch by batch.
    """

    def __init__(
        self,
        network: torch.nn.Module,
        device: str,
        patch_input: int,
        patch_output: int,
        precision: str = "bf16",
        runtime: str = TORCH,
        cache: Path | None = None,
    ) -> None:
        import torch

        self.torch = torch
        self.device = device
        self.patch_input = patch_input
        self.patch_output = patch_output
        self.cuda = device.startswith("cuda")
        self.runtime = runtime
        compiled = runtime != TORCH
        self.precision = precision if self.cuda or compiled else "fp32"
        # nn.Module.to itself: tiatoolbox's ModelABC.to(device) wraps in DataParallel.
        self.network = torch.nn.Module.to(network, device).eval()
        if self.cuda:
            torch.nn.Module.to(self.network, memory_format=torch.channels_last)
            torch.backends.cudnn.benchmark = True
        example = torch.zeros((1, 3, patch_input, patch_input))
        module = self.network if runtime == TORCH else exportable(self.network)
        # The cancel event of the batch being launched (launches hold the lock),
        # checked before every layer (torch) or while OpenVINO runs the batch:
        # a cancelled request stops mid-batch.
        self._launching: threading.Event | None = None
        self.forward = prepare(runtime, module, example, self.precision, cache, self._stopping)
        self._lock = threading.Lock()
        self._widest = 0  # the largest batch so far
        for module in self.network.modules():
            if next(module.children(), None) is None:
                module.register_forward_pre_hook(self._stop_if_cancelled)

    def _stopping(self) -> bool:
        return self._launching is not None and self._launching.is_set()

    def _stop_if_cancelled(self, module: torch.nn.Module, inputs: object) -> None:
        if self._stopping():
            raise Cancelled("segmentation cancelled during a batch")

    def _launch(self, batch: np.ndarray) -> torch.Tensor:
        """Queue the forward pass of one batch; returns N x 4 x H x W (np, h, v, type)."""
        torch = self.torch
        count = len(batch)
        if self.cuda and count < self._widest:
            # One batch shape on the device: cuDNN tunes its algorithms per shape,
            # seconds for a whole HoVerNet, so a tile's short last batch is padded.
            padding = np.zeros((self._widest - count, *batch.shape[1:]), batch.dtype)
            batch = np.concatenate([batch, padding])
        self._widest = max(self._widest, count)
        images = torch.from_numpy(batch)
        if self.cuda:
            images = images.pin_memory().to(self.device, non_blocking=True)
        images = images.permute(0, 3, 1, 2).float()
        if self.cuda:
            images = images.contiguous(memory_format=torch.channels_last)
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision)
        autocast = dtype is not None and self.runtime == TORCH
        with (
            torch.inference_mode(),
            torch.autocast(
                device_type="cuda" if self.cuda else "cpu", dtype=dtype, enabled=autocast
            ),
        ):
            out = self.forward(images)
        with torch.inference_mode():
            nuclear = torch.softmax(out["np"].float(), dim=1)[:, 1:2]
            hv = out["hv"].float()
            parts = [nuclear, hv]
            if "tp" in out:
                parts.append(torch.argmax(out["tp"].float(), dim=1, keepdim=True).float())
            else:
                parts.append(torch.zeros_like(nuclear))
            return torch.cat(parts, dim=1)[:count].contiguous()

    def predict(
        self, batches: Iterable[np.ndarray], cancelled: threading.Event | None = None
    ) -> Iterator[Maps]:
        for batch in batches:
            with self._lock:
                # Checked again once the device is ours: a request cancelled while
                # it waited behind others does not run one more batch.
                if cancelled is not None and cancelled.is_set():
                    raise Cancelled("segmentation cancelled before a batch")
                self._launching = cancelled
                try:
                    packed = self._launch(batch)
                finally:
                    self._launching = None
            yield Maps(packed)

    def release(self) -> None:
        """Give cached device memory back (after a cancelled or finished request)."""
        if self.cuda:
            self.torch.cuda.empty_cache()
