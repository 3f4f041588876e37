"""HoVerNet's forward pass on the CPU through each candidate runtime (issue 22, item 1):
`python -m benchmarks.cpu_runtimes`.

Not a `bench_*` module (`make bench` does not run it): it measures the network
alone, to choose the service's CPU runtime (services/inference/README.md), where
`bench_inference` measures the whole pipeline against tiatoolbox's engine.

The same HoVerNet-fast (seeded random weights: the speed does not depend on
them) on the same seeded batch of 256 px patches, fp32, through:

- torch eager (what tiatoolbox runs on a CPU; the reference);
- torch.compile, inductor's CPU backend (C++/OpenMP kernels built at the first call);
- ONNX Runtime, CPU execution provider (the module exported to ONNX first);
- OpenVINO (the service's runtime, core/runtime.py).

Each compiled runtime runs `model.exportable(network)` (tiatoolbox's tensordot
upsampling swapped for the identical nearest-neighbour one, as the service does).
A runtime whose package is missing is skipped and said so (onnxruntime and onnx
are not among the project's dependencies; `pip install onnxruntime onnx` to
measure them). Timed calls go round-robin across the runtimes, so the load of a
shared machine falls on all alike. Printed: time to get ready (export, compile;
OpenVINO's graph comes from the service's cache where the service has converted
these random weights before), the median seconds per patch, the ratio to eager,
and the largest difference of each output to eager's (the check: within
TOLERANCE of the output's own range).

Size: BENCH_RUNTIMES_BATCH patches per call (default 4), BENCH_RUNTIMES_ITERATIONS
timed calls each (default 2). On two busy cores a run takes half an hour (inductor
alone builds its kernels for minutes).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from services.inference.core.model import ModelSpec, exportable, random_network
from services.inference.core.runtime import OPENVINO, default_cache, openvino_installed, prepare

BATCH = int(os.environ.get("BENCH_RUNTIMES_BATCH", 4))
ITERATIONS = int(os.environ.get("BENCH_RUNTIMES_ITERATIONS", 2))
# Largest difference to eager allowed, relative to the largest magnitude of that output.
TOLERANCE = 1e-4

Forward = Callable[[torch.Tensor], dict[str, np.ndarray]]


def as_arrays(out: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    return {key: value.detach().float().numpy() for key, value in out.items()}


def eager(network: torch.nn.Module, images: torch.Tensor, folder: Path) -> Forward:
    def forward(batch: torch.Tensor) -> dict[str, np.ndarray]:
        with torch.inference_mode():
            return as_arrays(network(batch))

    return forward


def compiled(network: torch.nn.Module, images: torch.Tensor, folder: Path) -> Forward:
    module = torch.compile(exportable(network), backend="inductor")

    def forward(batch: torch.Tensor) -> dict[str, np.ndarray]:
        with torch.inference_mode():
            return as_arrays(module(batch))

    forward(images)  # inductor builds its kernels at the first call: part of getting ready
    return forward


def onnxruntime(network: torch.nn.Module, images: torch.Tensor, folder: Path) -> Forward:
    import onnxruntime as ort

    module = exportable(network)
    with torch.inference_mode():
        keys = list(module(images[:1]))

    class Outputs(torch.nn.Module):  # the dict as a tuple, in a known order
        def __init__(self) -> None:
            super().__init__()
            self.module = module

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
            out = self.module(x)
            return tuple(out[key] for key in keys)

    path = folder / "hovernet.onnx"
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Outputs().eval(),
            (images[:1],),
            str(path),
            input_names=["images"],
            output_names=keys,
            dynamic_axes={"images": {0: "batch"}, **{key: {0: "batch"} for key in keys}},
            opset_version=17,
            dynamo=False,
        )
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def forward(batch: torch.Tensor) -> dict[str, np.ndarray]:
        outputs = session.run(keys, {"images": batch.numpy()})
        return dict(zip(keys, outputs, strict=True))

    return forward


def openvino(network: torch.nn.Module, images: torch.Tensor, folder: Path) -> Forward:
    # The service's own cache of converted graphs (these weights and this patch size
    # are the random-weight service's): converting is minutes, once, not what is measured.
    run = prepare(OPENVINO, exportable(network), images[:1], "fp32", default_cache())

    def forward(batch: torch.Tensor) -> dict[str, np.ndarray]:
        return as_arrays(run(batch))

    return forward


def missing(runtime: str) -> str | None:
    """Why `runtime` (a name of RUNTIMES) cannot be measured here, or None."""
    if runtime == "onnxruntime":
        try:
            import onnx  # noqa: F401  (torch's exporter needs it)
            import onnxruntime  # noqa: F401
        except ImportError:
            return "onnxruntime/onnx not installed (pip install onnxruntime onnx)"
    if runtime == "openvino" and not openvino_installed():
        return "openvino not installed"
    return None


RUNTIMES = {
    "torch eager": eager,
    "torch.compile (inductor)": compiled,
    "onnxruntime": onnxruntime,
    "openvino": openvino,
}


def main() -> None:
    spec = ModelSpec()
    network = random_network(spec).eval()
    rng = np.random.default_rng(0)
    patches = rng.integers(0, 256, (BATCH, spec.patch_input, spec.patch_input, 3), np.uint8)
    images = torch.from_numpy(patches).permute(0, 3, 1, 2).float().contiguous()
    print(
        f"   HoVerNet {spec.mode}, batch {BATCH} x {spec.patch_input} px, fp32, "
        f"{torch.get_num_threads()} torch threads, {ITERATIONS} timed calls each, "
        f"load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    forwards: dict[str, Forward] = {}
    with tempfile.TemporaryDirectory(prefix="bench-runtimes-") as folder:
        for name, make in RUNTIMES.items():
            reason = missing(name)
            if reason:
                print(f"   {name}: skipped, {reason}", flush=True)
                continue
            started = time.perf_counter()
            try:
                forward = make(network, images, Path(folder))
                forward(images)  # warm-up (first-call allocations, thread pools)
            except Exception as error:  # a runtime that cannot run this network
                print(f"   {name}: failed to prepare: {type(error).__name__}: {error}")
                continue
            print(f"   {name}: ready in {time.perf_counter() - started:.1f} s", flush=True)
            forwards[name] = forward
        reference = forwards["torch eager"](images)
        times: dict[str, list[float]] = {name: [] for name in forwards}
        outputs: dict[str, dict[str, np.ndarray]] = {}
        for _ in range(ITERATIONS):
            for name, forward in forwards.items():
                started = time.perf_counter()
                outputs[name] = forward(images)
                times[name].append((time.perf_counter() - started) / BATCH)
                # As it goes: on a busy machine a run may not live to the table.
                print(f"   {name}: {times[name][-1]:.2f} s/patch", flush=True)
    base = statistics.median(times["torch eager"])
    print(f"   load after: {os.getloadavg()[0]:.1f}")
    print(f"   {'runtime':<26} {'s/patch (median)':>17} {'each call':>24} {'vs eager':>9}  agrees")
    for name, measured in times.items():
        differences = {
            key: float(np.abs(outputs[name][key] - value).max() / max(np.abs(value).max(), 1e-6))
            for key, value in reference.items()
        }
        worst = max(differences.values())
        verdict = "yes" if worst <= TOLERANCE else "NO"
        each = ", ".join(f"{t:.2f}" for t in measured)
        print(
            f"   {name:<26} {statistics.median(measured):>17.2f} {each:>24} "
            f"{base / statistics.median(measured):>8.2f}x  {verdict} (max rel. diff "
            f"{worst:.1e})",
            flush=True,
        )


if __name__ == "__main__":
    main()
