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

`ServiceRuntime` is that choice as the service holds it (the settings
MICROGRAPHIA_INFERENCE_RUNTIME, _CPU_PRECISION and _CACHE_DIR): every model host
is given the one instance, so each model the service serves (HoVerNet, Cellpose)
runs on the same runtime without code of its own for it. Its CPU precision
`auto` is each network's own: the dtype its parameters are built in (HoVerNet
fp32, as tiatoolbox runs it; Cellpose-SAM bf16, as Cellpose runs it), which is
also what measured fastest for each here (README.md).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.errors import Cancelled

if TYPE_CHECKING:
    import torch

logger = logging.getLogger("micrographia.inference")

AUTO, TORCH, OPENVINO = "auto", "torch", "openvino"
RUNTIMES = (AUTO, TORCH, OPENVINO)
PRECISIONS = ("fp32", "bf16", "fp16")
# How often a running batch looks at its request's cancel event, milliseconds.
_POLL_MS = 50
# OpenVINO reports usage (at import and on every conversion) through
# openvino_telemetry, which sends each report from a process it forks off the
# calling thread: forking a service whose gRPC threads are running can crash it
# (it segfaulted the test suite), and a service has no business sending telemetry.
# With that package unimportable OpenVINO uses the stub it ships for its absence.
# Set before anything imports openvino (every import of it is below, lazily).
sys.modules.setdefault("openvino_telemetry", None)

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


def native_precision(module: torch.nn.Module) -> str:
    """The precision `module` is built in: the dtype of its first floating parameter."""
    import torch

    names = {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}
    for parameter in module.parameters():
        if parameter.is_floating_point():
            return names.get(parameter.dtype, "fp32")
    return "fp32"


@dataclass(frozen=True)
class ServiceRuntime:
    """How the service runs every model it serves: one instance, given to each host.

    `setting`: auto, torch or openvino (`choose_runtime`). `cpu_precision`: what a
    compiled network computes in on the CPU; `auto` is the network's own
    (`native_precision`). `cache`: where converted graphs are kept."""

    setting: str = AUTO
    cpu_precision: str = AUTO
    cache: Path | None = None

    def __post_init__(self) -> None:
        if self.cpu_precision not in (AUTO, *PRECISIONS):
            choices = ", ".join((AUTO, *PRECISIONS))
            raise RuntimeUnavailable(
                f"unknown CPU precision {self.cpu_precision!r}; one of {choices}"
            )

    def choose(self, device: str) -> str:
        """The runtime for `device` (RuntimeUnavailable when the setting cannot run there)."""
        return choose_runtime(self.setting, device)

    def precision(self, module: torch.nn.Module) -> str:
        """The precision a compiled `module` runs in on the CPU."""
        return native_precision(module) if self.cpu_precision == AUTO else self.cpu_precision


def default_cache() -> Path:
    """Where converted graphs are kept: MICROGRAPHIA_INFERENCE_CACHE_DIR's default."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "micrographia"


def prepare(
    runtime: str,
    module: torch.nn.Module,
    example: torch.Tensor,
    precision: str = "fp32",
    cache: Path | None = None,
    stop: Callable[[], bool] | None = None,
) -> Forward:
    """`module` made ready to run on `runtime` (already chosen by `choose_runtime`).

    `example`: an input batch of the shape the module will see (the batch
    dimension stays free). `precision` applies to OpenVINO; the torch runtime
    leaves precision to its caller (autocast). `cache`: where converted graphs
    are kept (default: `default_cache()`). `stop`: polled while OpenVINO runs a
    batch; when it says so the batch is cancelled (Cancelled is raised)."""
    if runtime == TORCH:
        return module
    if runtime == OPENVINO:
        folder = (cache or default_cache()) / "openvino"
        return OpenVinoForward(module, example, precision, folder, stop)
    raise RuntimeUnavailable(f"cannot prepare a network for runtime {runtime!r}")


class OpenVinoForward:
    """A torch module compiled by OpenVINO for this CPU, called like the module.

    Converting a network (tracing it) takes from half a minute to minutes on two
    cores, so the converted graph is kept in `cache` under a key of the module's
    code, structure and weights: a restart, or a second service with the same
    weights, only compiles (about a second); services starting together convert
    once (a lock file beside the graph) while the others wait for it. Outputs are
    torch tensors (copies: an infer request reuses its buffers); a dict module
    returns the same keys. One infer request per calling thread."""

    def __init__(
        self,
        module: torch.nn.Module,
        example: torch.Tensor,
        precision: str,
        cache: Path,
        stop: Callable[[], bool] | None = None,
    ) -> None:
        import openvino as ov
        import torch
        from filelock import FileLock

        self.torch = torch
        started = time.perf_counter()
        module = module.eval()
        folder = cache / _cache_key(module, example)
        if not (folder / "model.xml").is_file():
            # Replicas sharing the cache convert once: the others wait, then read it.
            cache.mkdir(parents=True, exist_ok=True)
            with FileLock(folder.with_name(f".{folder.name}.lock")):
                if not (folder / "model.xml").is_file():
                    _convert(module, example, folder)
        model = ov.Core().read_model(folder / "model.xml")
        self.keys = json.loads((folder / "outputs.json").read_text())
        self.compiled = ov.Core().compile_model(
            model,
            "CPU",
            {
                "INFERENCE_PRECISION_HINT": _OPENVINO_PRECISION[precision],
                "PERFORMANCE_HINT": "LATENCY",
            },
        )
        self.precision = precision
        self.stop = stop
        self._local = threading.local()
        logger.info(
            "network compiled by OpenVINO for the CPU (%s) in %.1f s (graph in %s)",
            precision,
            time.perf_counter() - started,
            folder,
        )

    def __call__(self, images: torch.Tensor) -> Any:
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self.compiled.create_infer_request()
        request.start_async({0: images.detach().cpu().numpy()})
        while not request.wait_for(_POLL_MS):
            if self.stop is not None and self.stop():
                request.cancel()
                raise Cancelled("cancelled during a batch")
        results = request.results
        outputs = [self.torch.from_numpy(results[o].copy()) for o in self.compiled.outputs]
        if self.keys is None:
            return outputs[0] if len(outputs) == 1 else tuple(outputs)
        return dict(zip(self.keys, outputs, strict=True))


def _cache_key(module: torch.nn.Module, example: torch.Tensor) -> str:
    """Of what the converted graph depends on: the module's class, structure and
    weights, the input's shape, the torch and OpenVINO versions."""
    import openvino
    import torch

    digest = hashlib.sha256()
    kind = type(module)
    parts = (kind.__module__, kind.__qualname__, repr(module), tuple(example.shape[1:]))
    digest.update(repr((parts, torch.__version__, openvino.__version__)).encode())
    for name, tensor in module.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:32]


def _convert(module: torch.nn.Module, example: torch.Tensor, folder: Path) -> None:
    """Convert `module` to OpenVINO's graph in `folder` (written whole under a
    temporary name, then renamed): model.xml/.bin, and outputs.json, the module's
    output keys in OpenVINO's output order (null for a tensor or tuple)."""
    import openvino as ov
    import torch

    with torch.inference_mode():
        reference = module(example[:1])
    with torch.no_grad(), warnings.catch_warnings():
        # Traced here, once: OpenVINO's own trace checks it by tracing twice more
        # (3x the time; its graph is checked against the module by the tests instead).
        # torch.jit.trace is deprecated and warns (TracerWarnings).
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(module, example[:1], strict=False, check_trace=False)
        model = ov.convert_model(traced, example_input=example[:1])
    # Spatial sizes as traced, the batch free: one graph for every batch.
    model.reshape([-1, *example.shape[1:]])
    keys = None
    if isinstance(reference, dict):
        # The converter names each output after its key.
        keys = [next(n for n in o.get_names() if n in reference) for o in model.outputs]
    partial = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        # Weights as they are (save_model would halve them to fp16 by default).
        ov.save_model(model, partial / "model.xml", compress_to_fp16=False)
        (partial / "outputs.json").write_text(json.dumps(keys))
        try:
            partial.rename(folder)
        except OSError:  # another process got there first: same key, same graph
            if not (folder / "model.xml").is_file():
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
