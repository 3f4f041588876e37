"""How the service runs its networks: one runtime for every model it serves.

A runtime takes a torch module (HoVerNet today, any model the service serves
tomorrow) and gives back a callable with the module's own signature: a batch
of N x C x H x W float32 images in, the module's outputs (a tensor, or a dict
of them) out, on the same device.

- `torch`: the module itself (eager; CUDA, MPS or CPU). On CUDA the caller
  adds autocast and channels-last (predictor.py): that path is unchanged.
- `openvino`: on a CPU, the module converted once at load to OpenVINO's graph
  (convolutions fused with their batch norms and activations, laid out for
  this CPU's vector units), compiled for `precision`. Measured here against
  torch eager and ONNX Runtime: see README.md.

`auto` (the default) picks OpenVINO when the device is the CPU and the wheel is
installed, torch everywhere else.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

logger = logging.getLogger("micrographia.inference")

AUTO, TORCH, OPENVINO = "auto", "torch", "openvino"
RUNTIMES = (AUTO, TORCH, OPENVINO)
# OpenVINO's names for the precisions of the service's setting.
_OPENVINO_PRECISION = {"fp32": "f32", "bf16": "bf16", "fp16": "f16"}

Forward = Callable[["torch.Tensor"], Any]


class RuntimeUnavailable(RuntimeError):
    """The configured runtime cannot run here (not installed, or not on this device)."""


def openvino_installed() -> bool:
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def choose_runtime(setting: str, device: str) -> str:
    """The runtime for `device`: `setting` unless it is `auto`, which is OpenVINO
    on a CPU where the wheel is installed and torch everywhere else."""
    if setting not in RUNTIMES:
        raise RuntimeUnavailable(f"unknown runtime {setting!r}; one of {', '.join(RUNTIMES)}")
    if setting == AUTO:
        return OPENVINO if device == "cpu" and openvino_installed() else TORCH
    if setting == OPENVINO:
        if device != "cpu":
            raise RuntimeUnavailable(f"the openvino runtime runs on the CPU, not on {device}")
        if not openvino_installed():
            raise RuntimeUnavailable("the openvino runtime is not installed (pip install openvino)")
    return setting


def prepare(
    runtime: str, module: torch.nn.Module, example: torch.Tensor, precision: str = "fp32"
) -> Forward:
    """`module` made ready to run on `runtime` (already chosen by `choose_runtime`).

    `example`: one input batch of the shape the module will see (any batch size:
    the batch dimension stays dynamic). `precision` applies to OpenVINO; the torch
    runtime leaves precision to its caller (autocast)."""
    if runtime == TORCH:
        return module
    if runtime == OPENVINO:
        return OpenVinoForward(module, example, precision)
    raise RuntimeUnavailable(f"cannot prepare a network for runtime {runtime!r}")


class OpenVinoForward:
    """A torch module compiled by OpenVINO for this CPU, called like the module.

    Outputs are torch tensors over OpenVINO's result buffers (copied, since an
    infer request reuses its buffers); a dict module returns the same keys. One
    infer request per calling thread: requests may run side by side."""

    def __init__(self, module: torch.nn.Module, example: torch.Tensor, precision: str) -> None:
        import openvino as ov
        import torch

        self.torch = torch
        started = time.perf_counter()
        module = module.eval()
        with torch.inference_mode():
            reference = module(example)
        self.keys = list(reference) if isinstance(reference, dict) else None
        with torch.no_grad():
            model = ov.convert_model(module, example_input=example)
        # Spatial sizes as traced, the batch free: one compiled graph for every batch.
        shape = list(example.shape)
        model.reshape([-1, *shape[1:]])
        self.compiled = ov.Core().compile_model(
            model,
            "CPU",
            {
                "INFERENCE_PRECISION_HINT": _OPENVINO_PRECISION[precision],
                "PERFORMANCE_HINT": "LATENCY",
            },
        )
        self.names = [self._output_name(output, i) for i, output in enumerate(self.compiled.outputs)]
        self.precision = precision
        self._local = threading.local()
        logger.info(
            "network compiled by OpenVINO for the CPU (%s) in %.1f s",
            precision,
            time.perf_counter() - started,
        )

    def _output_name(self, output, index: int) -> str | int:
        names = output.get_names()
        if self.keys is not None:
            known = [name for name in names if name in self.keys]
            if known:
                return known[0]
            return self.keys[index]  # the order of the module's dict
        return index

    def __call__(self, images: torch.Tensor) -> Any:
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self.compiled.create_infer_request()
        results = request.infer({0: images.detach().cpu().numpy()})
        outputs = [self.torch.from_numpy(results[o].copy()) for o in self.compiled.outputs]
        if self.keys is None:
            return outputs[0] if len(outputs) == 1 else tuple(outputs)
        return dict(zip(self.names, outputs, strict=True))
