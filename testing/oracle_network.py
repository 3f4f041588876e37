"""The oracle (oracle.py) as a HoVerNet module, so that any engine built for
HoVerNet, ours or tiatoolbox's, can run it: its logits make HoVerNet's
`infer_batch` give exactly the oracle's maps."""

from __future__ import annotations

import numpy as np
import torch
from tiatoolbox.models.architecture.hovernet import HoVerNet

from testing.oracle import OraclePredictor

# Logit margin: softmax turns +-LOGIT into probabilities of 1 and 0 (to float32 precision).
LOGIT = 30.0


class OracleHoVerNet(HoVerNet):
    """HoVerNet (fast, six types) whose forward pass is the oracle's."""

    def __init__(self) -> None:
        super().__init__(num_types=6, mode="fast")
        self.oracle = OraclePredictor(256, 164)

    def forward(self, input_tensor: torch.Tensor) -> dict[str, torch.Tensor]:  # type: ignore[override]
        images = input_tensor.permute(0, 2, 3, 1).round().clamp(0, 255).byte().cpu().numpy()
        nuclear, hv, types = zip(*(self.oracle.patch_maps(image) for image in images), strict=True)
        nuclear = torch.from_numpy(np.stack(nuclear))
        np_logits = torch.stack([-LOGIT * nuclear, LOGIT * nuclear], dim=1)
        hv_maps = torch.from_numpy(np.stack(hv)).permute(0, 3, 1, 2)
        tp = torch.from_numpy(np.stack(types)).long()
        tp_logits = torch.nn.functional.one_hot(tp, 6).permute(0, 3, 1, 2).float() * LOGIT
        device = input_tensor.device
        return {
            "tp": tp_logits.to(device),
            "np": np_logits.to(device),
            "hv": hv_maps.to(device),
        }
