"""An oracle in Cellpose's network's place: painted cells in, Cellpose's ideal maps out.

Test frames paint each cell as a plateau of one bright value on a dark
background, cells that touch in different values (`paint_cells`). The oracle
sees only a tile's pixels, like the network: it finds the plateaus (4-connected
pixels of one value above the background) and answers what a perfect
Cellpose-SAM would, Cellpose's own training targets for those masks: 5 x the
flows of `dynamics.masks_to_flows_gpu` and a cell-probability logit of +-10. So
the whole path around it (normalisation, tiling, batching, tile averaging,
resizing, flow dynamics, mask reconstruction, transport, tracking, extraction)
must give back the painted cells.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage

LOGIT = 10.0
BACKGROUND = 1000  # painted value of the background
# Painted values of cells: far apart, so that they stay apart in bfloat16 after
# Cellpose's percentile normalisation.
LEVELS = tuple(range(4000, 12000, 400))


def tile_masks(tile: np.ndarray) -> np.ndarray:
    """Plateaus of one value above the background, labelled 1..n (4-connected). The
    background normalises to about 0, the dimmest cell to over a quarter of the brightest."""
    foreground = tile > 0.1 * float(tile.max()) if tile.max() > 0 else np.zeros(tile.shape, bool)
    masks = np.zeros(tile.shape, np.int32)
    count = 0
    for value in np.unique(tile[foreground]):
        components, n = ndimage.label(tile == value)
        masks[components > 0] = components[components > 0] + count
        count += n
    return masks


def ideal_maps(tile: np.ndarray) -> np.ndarray:
    """3 x H x W: Y flow, X flow (5 x unit flows, as Cellpose trains), cell-probability logit."""
    from cellpose import dynamics

    masks = tile_masks(tile)
    maps = np.zeros((3, *tile.shape), np.float32)
    if masks.max() > 0:
        flows, _ = dynamics.masks_to_flows_gpu(masks, device=torch.device("cpu"))
        maps[:2] = 5.0 * flows
    maps[2] = np.where(masks > 0, LOGIT, -LOGIT)
    return maps


class OracleCellposeNetwork(torch.nn.Module):
    """Cellpose-SAM's interface (N x C x 256 x 256 in; maps and a style vector out), so
    that Cellpose's own `eval` can run it as well as our service."""

    def __init__(self) -> None:
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1), requires_grad=False)
        # Cellpose's masks-to-flows is slow on a CPU; a tile seen before (the same
        # pixels in another frame) gets the same answer without it.
        self.seen: dict[bytes, np.ndarray] = {}

    def maps(self, tile: np.ndarray) -> np.ndarray:
        key = hashlib.blake2b(tile.tobytes(), digest_size=16).digest()
        if key not in self.seen:
            self.seen[key] = ideal_maps(tile)
        return self.seen[key]

    @property
    def dtype(self) -> torch.dtype:
        return torch.float32

    @property
    def device(self) -> torch.device:
        return self.anchor.device

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        tiles = x[:, 0].float().cpu().numpy()
        maps = np.stack([self.maps(tile) for tile in tiles])
        return torch.from_numpy(maps).to(x.device), torch.zeros((len(x), 256), device=x.device)


class OracleFlowPredictor:
    """The oracle as a `FlowPredictor` (what the inference service's host installs)."""

    tile = 256
    device = "cpu"

    def __init__(self) -> None:
        self.network = OracleCellposeNetwork()
        self.batches = 0

    def predict(self, batches: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        for batch in batches:
            self.batches += 1
            yield self.network(torch.from_numpy(batch))[0].numpy()


@dataclass(frozen=True)
class PaintedCell:
    y: float
    x: float
    radius: float


def paint_cells(shape: tuple[int, int], cells: list[PaintedCell]) -> tuple[np.ndarray, np.ndarray]:
    """A uint16 frame of painted cells and its true labels (cell k is label k + 1).

    Discs; where two overlap, each pixel goes to the nearer centre, so touching cells
    share a straight border. Each cell's value differs from every cell it touches."""
    height, width = shape
    labels = np.zeros(shape, np.int32)
    distance = np.full(shape, np.inf)
    for k, cell in enumerate(cells):
        r = int(np.ceil(cell.radius)) + 1
        y0, y1 = max(0, int(cell.y) - r), min(height, int(cell.y) + r + 1)
        x0, x1 = max(0, int(cell.x) - r), min(width, int(cell.x) + r + 1)
        if y0 >= y1 or x0 >= x1:
            continue  # outside the frame
        yy, xx = np.mgrid[y0:y1, x0:x1]
        d = np.hypot(yy - cell.y, xx - cell.x)
        inside = (d <= cell.radius) & (d < distance[y0:y1, x0:x1])
        labels[y0:y1, x0:x1][inside] = k + 1
        distance[y0:y1, x0:x1][inside] = d[inside]
    frame = np.full(shape, BACKGROUND, np.uint16)
    level_of = np.array([0] + [LEVELS[k % len(LEVELS)] for k in range(len(cells))], np.uint16)
    frame[labels > 0] = level_of[labels[labels > 0]]
    return frame, labels


def match(truth: np.ndarray, found: np.ndarray) -> dict[int, tuple[int, float]]:
    """Each true cell's best-overlapping found label and their IoU (one pass over
    the frame: the overlaps of every pair of labels counted at once)."""
    truth = np.asarray(truth, np.int64).ravel()
    found = np.asarray(found, np.int64).ravel()
    true_area = np.bincount(truth)
    found_area = np.bincount(found)
    both = (truth > 0) & (found > 0)
    pairs, overlap = np.unique(truth[both] * (len(found_area)) + found[both], return_counts=True)
    true_of, found_of = np.divmod(pairs, len(found_area))
    result = {k: (0, 0.0) for k in np.flatnonzero(true_area[1:]) + 1}
    best: dict[int, int] = {}
    for k, label, count in zip(true_of.tolist(), found_of.tolist(), overlap.tolist(), strict=True):
        if count > best.get(k, 0):
            best[k] = count
            union = true_area[k] + found_area[label] - count
            result[k] = (label, count / union)
    return result


def tile_seams(length: int) -> list[int]:
    """Where Cellpose's 256 px tiles of a frame `length` px long start and end (frame
    pixels, rescale 1): the seams a cell may lie on."""
    from cellpose import transforms

    pad_before, pad_after, _, _ = transforms.get_pad_yx(length, length, min_size=(256, 256))
    padded = np.zeros((1, length + pad_before + pad_after, 256), np.float32)
    _, ysub, _, _, _ = transforms.make_tiles(padded, bsize=256, tile_overlap=0.1)
    edges = {int(edge) - pad_before for pair in ysub for edge in pair}
    return sorted(edge for edge in edges if 0 < edge < length)


def _apart(cell: PaintedCell, others: list[PaintedCell], gap: float = 4.0) -> bool:
    return all(np.hypot(o.y - cell.y, o.x - cell.x) > cell.radius + o.radius + gap for o in others)


def crowded_cells(
    size: int, radius: float = 13.0, seed: int = 0
) -> tuple[list[PaintedCell], list[tuple[int, int]]]:
    """Cells for a `size` x `size` frame, and the touching pairs among them (indices):
    one cell on every other crossing of Cellpose's tile seams, then touching pairs
    (centres 1.6 radii apart) on a jittered grid wherever they keep clear of the rest."""
    rng = np.random.default_rng(seed)
    seams = tile_seams(size)
    cells = [PaintedCell(y, x, radius) for y in seams[::2] for x in seams[1::2]]
    pairs = []
    for y in range(40, size - 40, 110):
        for x in range(40, size - 40 - int(1.6 * radius), 110):
            jy, jx = rng.uniform(-12, 12, 2)
            first = PaintedCell(y + jy, x + jx, radius)
            second = PaintedCell(y + jy + 3, x + jx + 1.6 * radius, radius)
            if _apart(first, cells) and _apart(second, cells):
                pairs.append((len(cells), len(cells) + 1))
                cells += [first, second]
    return cells, pairs
