"""Cellpose's network and its weights: a checkpoint, a Cellpose model name, or random.

`MICROGRAPHIA_CELLPOSE_WEIGHTS` chooses them. A model name ("cpsam") is
Cellpose's own: looked up in its model folder and downloaded by Cellpose where
the internet is reachable. `random` builds the same network (Cellpose-SAM's
ViT-L) with seeded random weights: for tests and benchmarks only, and said
loudly in the log.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from ..model import WeightsUnavailable

if TYPE_CHECKING:
    import torch

logger = logging.getLogger("micrographia.inference")

CELLPOSE_SETTING = "MICROGRAPHIA_CELLPOSE_WEIGHTS"
DEFAULT_MODEL = "cpsam"
RANDOM = "random"


def model_name(weights: str) -> str:
    """What a caller names the model by: "random", a Cellpose name, a checkpoint's stem."""
    if weights == RANDOM or ("/" not in weights and "." not in weights):
        return weights
    return Path(weights).stem


def resolve_checkpoint(weights: str) -> Path | None:
    """The checkpoint file `weights` names (None for random), fetched by Cellpose for a
    model name. Raises WeightsUnavailable naming the setting."""
    if weights == RANDOM:
        return None
    path = Path(weights).expanduser()
    if "/" in weights or path.suffix:
        if not path.is_file():
            raise WeightsUnavailable(
                f"{CELLPOSE_SETTING}: checkpoint {weights} does not exist", setting=CELLPOSE_SETTING
            )
        return path
    from cellpose import models

    if weights not in models.MODEL_NAMES + models.get_user_models():
        raise WeightsUnavailable(
            f"{CELLPOSE_SETTING}: {weights!r} is not a Cellpose model name "
            f"({', '.join(models.MODEL_NAMES)}), a checkpoint path or 'random'",
            setting=CELLPOSE_SETTING,
        )
    try:
        return Path(models.cache_model_path(weights))  # Cellpose downloads it when missing
    except Exception as error:  # no network, bad download
        raise WeightsUnavailable(
            f"{CELLPOSE_SETTING}: Cellpose model {weights!r} cannot be had ({error}); "
            f"put its file in {models.MODEL_DIR} or set a checkpoint path",
            setting=CELLPOSE_SETTING,
        ) from error


def random_network(seed: int = 0, dtype: torch.dtype | None = None) -> torch.nn.Module:
    """Cellpose-SAM with seeded random weights, built as Cellpose builds it before loading
    a checkpoint (SAM's ViT-L with no checkpoint, 8 px tokens, a 256 px window)."""
    import torch
    from cellpose.vit import CPSAM

    dtype = dtype or torch.bfloat16
    torch.manual_seed(seed)
    network = CPSAM(dtype=dtype)
    return network.to(dtype)


def build_network(weights: str, dtype: torch.dtype | None = None) -> torch.nn.Module:
    """The network `weights` names, on the CPU in `dtype` (bfloat16, Cellpose's default).

    Raises WeightsUnavailable naming MICROGRAPHIA_CELLPOSE_WEIGHTS."""
    import torch

    dtype = dtype or torch.bfloat16
    checkpoint = resolve_checkpoint(weights)
    if checkpoint is None:
        logger.warning(
            "*** %s=random: Cellpose has RANDOM weights; its cells are meaningless "
            "(tests and benchmarks only) ***",
            CELLPOSE_SETTING,
        )
        return random_network(dtype=dtype)
    from cellpose.models import get_backbone
    from cellpose.vit import CPSAM

    try:
        if get_backbone(str(checkpoint)) != "sam_vitl":
            raise ValueError("only Cellpose-SAM (ViT-L) checkpoints are served")
        network = CPSAM(dtype=dtype)
        network.load_model(str(checkpoint), device=torch.device("cpu"))
    except Exception as error:  # any unreadable checkpoint is the same failure
        raise WeightsUnavailable(
            f"{CELLPOSE_SETTING}: checkpoint {checkpoint} cannot be loaded into Cellpose-SAM: "
            f"{error}",
            setting=CELLPOSE_SETTING,
        ) from error
    return network.to(dtype)
