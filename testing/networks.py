"""Real networks cut to test size: the same classes and layers, fewer of them.

Cellpose-SAM's encoder is 24 transformer blocks alike (each with global
attention, as Cellpose sets them). Its first two convert for OpenVINO in
seconds where the whole ViT-L takes about a minute on two cores, and run a tile
in a fraction of the time; every kind of layer the converter and the service's
predictor meet is still there. The whole network is built by the suite
(`build_network("random")`) and converted by `make bench` (bench_cellpose,
whose small mode CI runs after the tests).
"""

from __future__ import annotations

import torch

from services.inference.core.cellpose.weights import random_network


def cellpose_sam_cut(blocks: int = 2, seed: int = 0) -> torch.nn.Module:
    """Cellpose-SAM with seeded random weights, its encoder cut to its first `blocks`."""
    network = random_network(seed)
    network.encoder.blocks = network.encoder.blocks[:blocks]
    return network
