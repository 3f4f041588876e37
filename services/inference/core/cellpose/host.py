"""The Cellpose network, or why there is none.

`check()` (at service start) finds the weights: a checkpoint that exists, a
Cellpose model name (fetched by Cellpose where it must be), or random. Without
them the host keeps the reason (GetCellposeInfo, /health) and every request
answers FAILED_PRECONDITION naming MICROGRAPHIA_CELLPOSE_WEIGHTS. The network
itself (a ViT-L: seconds and a gigabyte) is built by `load()` at start, or on
the first request when preloading is off (tests).
"""

from __future__ import annotations

import logging
import threading

from common.errors import FailedPrecondition

from ..model import WeightsUnavailable, select_device
from ..runtime import TORCH, ServiceRuntime
from .predictor import FlowNetworkPredictor, FlowPredictor
from .weights import CELLPOSE_SETTING, build_network, model_name, resolve_checkpoint

logger = logging.getLogger("micrographia.inference")


class CellposeHost:
    def __init__(
        self, weights: str, device: str = "", runtime: ServiceRuntime | None = None
    ) -> None:
        self.weights = weights
        self.model = model_name(weights)
        self.setting = CELLPOSE_SETTING
        self.device_override = device
        # The service's runtime choice, the one HoVerNet's host has.
        self.service_runtime = runtime or ServiceRuntime()
        self.runtime = ""  # the one chosen for the device, once built
        self.device = ""
        self.error = ""
        self.checked = False
        self.predictor: FlowPredictor | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self.predictor is not None

    @property
    def available(self) -> bool:
        return self.predictor is not None or (self.checked and not self.error)

    def check(self) -> None:
        """Find the weights (blocking: may download a named model); keeps why not."""
        try:
            resolve_checkpoint(self.weights)
        except WeightsUnavailable as error:
            self.error = error.message
            logger.error("Cellpose is unavailable: %s", error.message)
        self.checked = True

    def load(self) -> FlowPredictor:
        """Build the network on its device once (blocking); FailedPrecondition without
        weights."""
        with self._lock:
            if self.predictor is not None:
                return self.predictor
            if self.error:
                raise self.unavailable()
            try:
                device = select_device(self.device_override or None)
                network = build_network(self.weights)
                self.install(FlowNetworkPredictor(network, device, self.service_runtime))
            except WeightsUnavailable as error:
                self.error = error.message
                raise self.unavailable() from None
            except Exception as error:  # e.g. out of device memory
                where = self.device_override or "its device"
                self.error = f"the network failed to build on {where}: {error}"
                raise self.unavailable() from error
            logger.info(
                "Cellpose %s loaded on %s, runtime %s (%s)",
                self.model,
                self.device,
                self.runtime,
                getattr(self.predictor, "precision", ""),
            )
            return self.predictor  # type: ignore[return-value]

    def install(self, predictor: FlowPredictor) -> None:
        """Use `predictor` (the built network, or an oracle in tests)."""
        self.predictor = predictor
        self.device = predictor.device
        self.runtime = getattr(predictor, "runtime", TORCH)
        self.error = ""
        self.checked = True

    def unavailable(self) -> FailedPrecondition:
        return FailedPrecondition(
            f"Cellpose is unavailable: {self.error} (set {self.setting} to a checkpoint path, "
            f"a Cellpose model name such as 'cpsam', or 'random')",
            setting=self.setting,
            weights=self.weights,
        )
