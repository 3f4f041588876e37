"""The network: HoVerNet from tiatoolbox, its weights, its device.

tiatoolbox and torch import in seconds, so they are imported here, lazily,
when the model loads (once, at service start, in a worker thread).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from common.errors import FailedPrecondition

if TYPE_CHECKING:
    import torch

logger = logging.getLogger("micrographia.inference")

RANDOM = "random"
PANNUKE_TYPES = (
    "Background",
    "Neoplastic",
    "Inflammatory",
    "Connective",
    "Dead",
    "Non-Neoplastic Epithelial",
)
# tiatoolbox's HoVerNet configurations: patch input, patch output, training resolution.
MODES = {"fast": (256, 164), "original": (270, 80)}
PANNUKE_MPP = 0.25


@dataclass(frozen=True)
class ModelSpec:
    """What the network is: mode, types, patch sizes, the resolution it was trained at."""

    mode: str = "fast"
    num_types: int = 6
    mpp: float = PANNUKE_MPP

    @property
    def name(self) -> str:
        return f"hovernet_{self.mode}"

    @property
    def patch_input(self) -> int:
        return MODES[self.mode][0]

    @property
    def patch_output(self) -> int:
        return MODES[self.mode][1]

    @property
    def type_names(self) -> tuple[str, ...]:
        if self.num_types == len(PANNUKE_TYPES):
            return PANNUKE_TYPES
        return tuple(f"Type {i}" for i in range(self.num_types))


class WeightsUnavailable(FailedPrecondition):
    """The configured weights cannot be had; inference answers FAILED_PRECONDITION."""


def select_device(override: str | None = None) -> str:
    """CUDA, then MPS, then CPU; `override` (e.g. "cpu", "cuda:1") wins."""
    import torch

    if override:
        return override
    if torch.cuda.is_available():
        return "cuda:0"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def random_network(spec: ModelSpec, seed: int = 0) -> torch.nn.Module:
    """HoVerNet with seeded random weights (tests and benchmarks only)."""
    import torch
    from tiatoolbox.models.architecture.hovernet import HoVerNet

    torch.manual_seed(seed)
    return HoVerNet(num_types=spec.num_types, mode=spec.mode)


def load_network(weights: str, spec: ModelSpec, setting: str) -> torch.nn.Module:
    """The network with `weights`: "random", a checkpoint path, or a tiatoolbox
    pretrained name (downloaded where a network exists).

    Raises WeightsUnavailable naming `setting` (the variable that chose them).
    """
    import torch
    from tiatoolbox.models.architecture.hovernet import HoVerNet

    if weights == RANDOM:
        logger.warning(
            "*** %s=random: HoVerNet has RANDOM weights; its nuclei are meaningless "
            "(tests and benchmarks only) ***",
            setting,
        )
        return random_network(spec)
    path = Path(weights).expanduser()
    if path.suffix in {".pth", ".pt", ".tar"} or path.exists():
        if not path.is_file():
            raise WeightsUnavailable(
                f"{setting}: checkpoint {weights} does not exist", setting=setting
            )
        network = HoVerNet(num_types=spec.num_types, mode=spec.mode)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            state = state.get("state_dict", state) if isinstance(state, dict) else state
            network.load_state_dict(state)
        except Exception as error:  # any unreadable checkpoint is the same failure
            raise WeightsUnavailable(
                f"{setting}: checkpoint {weights} cannot be loaded into HoVerNet "
                f"({spec.mode}, {spec.num_types} types): {error}",
                setting=setting,
            ) from error
        return network
    try:
        from tiatoolbox.models.architecture import get_pretrained_model

        network, _ = get_pretrained_model(weights)
    except Exception as error:  # unknown name, no network, bad download
        raise WeightsUnavailable(
            f"{setting}: pretrained weights {weights!r} cannot be had: {error}",
            setting=setting,
        ) from error
    return network


def exportable(network: torch.nn.Module) -> torch.nn.Module:
    """A copy of `network` (its weights shared) that graph compilers can convert,
    computing the same maps.

    tiatoolbox's UpSample2x is a nearest-neighbour 2x upsampling written as a
    tensordot with a 2 x 2 matrix of ones (an op OpenVINO's converter lacks);
    nn.Upsample(scale_factor=2, mode="nearest") gives the same values exactly."""
    import copy

    import torch
    from tiatoolbox.models.architecture.utils import UpSample2x

    # Without the hooks others put on it (a predictor's per-layer cancel check), and
    # sharing its weights: only modules are swapped, so copying 150 MB is not needed.
    memo: dict = {}
    for module in network.modules():
        for hooks in (module._forward_pre_hooks, module._forward_hooks):
            if hooks:
                memo[id(hooks)] = type(hooks)()
    for tensor in [*network.parameters(), *network.buffers()]:
        memo[id(tensor)] = tensor
    network = copy.deepcopy(network, memo)
    for parent in list(network.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, UpSample2x):
                setattr(parent, name, torch.nn.Upsample(scale_factor=2, mode="nearest"))
    return network
