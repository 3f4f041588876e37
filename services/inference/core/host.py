"""The loaded model, or why there is none.

Loaded once, at start, off the event loop. Until then requests are told the
model is still loading (UNAVAILABLE: retry later); when the weights cannot be
had, they are told so (FAILED_PRECONDITION naming the setting).
"""

from __future__ import annotations

import logging
import threading

from common.errors import FailedPrecondition, Unavailable

from .model import ModelSpec, WeightsUnavailable, load_network, select_device
from .predictor import NetworkPredictor, Predictor
from .runtime import ServiceRuntime

logger = logging.getLogger("micrographia.inference")


class ModelHost:
    def __init__(
        self,
        spec: ModelSpec,
        weights: str,
        setting: str,
        device: str = "",
        precision: str = "bf16",
        runtime: ServiceRuntime | None = None,
    ) -> None:
        self.spec = spec
        self.weights = weights
        self.setting = setting
        self.device_override = device
        self.precision = precision
        # The service's runtime choice, shared with every model it serves.
        self.service_runtime = runtime or ServiceRuntime()
        self.runtime = ""  # the one chosen for the device, once loaded
        self.device = ""
        self.predictor: Predictor | None = None
        self.error: str = ""
        self._loaded = threading.Event()

    @property
    def loaded(self) -> bool:
        return self.predictor is not None

    def load(self) -> None:
        """Build the network and move it to its device (blocking; call once)."""
        try:
            self.device = select_device(self.device_override or None)
            runtime = self.service_runtime.choose(self.device)
            network = load_network(self.weights, self.spec, self.setting)
            cuda = self.device.startswith("cuda")
            self.install(
                NetworkPredictor(
                    network,
                    self.device,
                    self.spec.patch_input,
                    self.spec.patch_output,
                    self.precision if cuda else self.service_runtime.precision(network),
                    runtime,
                    self.service_runtime.cache,
                )
            )
            self.runtime = runtime
        except WeightsUnavailable as error:
            self.error = error.message
            logger.error("inference has no model: %s", error.message)
            raise
        except Exception as error:
            self.error = f"the model failed to load on {self.device or 'its device'}: {error}"
            raise
        finally:
            self._loaded.set()
        logger.info(
            "HoVerNet %s loaded on %s, runtime %s (weights %s)",
            self.spec.mode,
            self.device,
            self.runtime,
            self.weights,
        )

    def install(self, predictor: Predictor) -> None:
        """Use `predictor` (the loaded network, or an oracle in tests)."""
        self.predictor = predictor
        self.device = predictor.device
        self.error = ""
        self._loaded.set()

    def require(self) -> Predictor:
        """The predictor; FailedPrecondition without weights, Unavailable while loading."""
        if self.predictor is not None:
            return self.predictor
        if self.error:
            raise FailedPrecondition(
                f"no HoVerNet model: {self.error} (set {self.setting} to a checkpoint path or a "
                f"tiatoolbox pretrained name)",
                setting=self.setting,
                weights=self.weights,
            )
        raise Unavailable("the HoVerNet model is still loading; try again shortly")
