"""Scoring segmentation and tracking against ground truth (tests and benchmark).

- Segmentation: objects (4-connected components of the mask) are matched to
  true objects one to one when their IoU exceeds 0.5; precision, recall, F1.
- Tracking: the Cell Tracking Challenge measures TRA, DET and LNK, computed by
  traccuracy (a dev dependency, imported when used) on graphs built from label
  movies: one node per (frame, label), edges along tracks and from a mother's
  last node to each daughter's first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy import ndimage

MATCH_IOU = 0.5


@dataclass(frozen=True)
class SegmentationScore:
    true_positives: int
    predicted: int
    truth: int

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.truth if self.truth else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _matches(predicted: np.ndarray, truth: np.ndarray) -> int:
    """Objects matched one to one at IoU > 0.5 (at most one such partner exists)."""
    n_pred, n_true = int(predicted.max()), int(truth.max())
    both = (predicted > 0) & (truth > 0)
    pairs = np.bincount(
        predicted[both].astype(np.int64) * (n_true + 1) + truth[both],
        minlength=(n_pred + 1) * (n_true + 1),
    ).reshape(n_pred + 1, n_true + 1)
    area_pred = np.bincount(predicted.ravel(), minlength=n_pred + 1)
    area_true = np.bincount(truth.ravel(), minlength=n_true + 1)
    union = area_pred[:, None] + area_true[None, :] - pairs
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, pairs / union, 0.0)
    return int((iou[1:, 1:] > MATCH_IOU).sum())


def score_segmentation(
    masks: Sequence[np.ndarray], truths: Sequence[np.ndarray]
) -> SegmentationScore:
    """Object-level score of binary masks against true label images, summed over frames."""
    tp = n_pred = n_true = 0
    for mask, truth in zip(masks, truths, strict=True):
        predicted, n = ndimage.label(mask)
        true_labels = _relabel(truth)
        tp += _matches(predicted, true_labels)
        n_pred += n
        n_true += int(true_labels.max())
    return SegmentationScore(tp, n_pred, n_true)


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Labels made consecutive 1..n (ground truth ids may skip)."""
    values, inverse = np.unique(labels, return_inverse=True)
    out = inverse.reshape(labels.shape)
    return out if values[0] == 0 else out + 1


def lineage_graph(labels: np.ndarray, parent: Mapping[int, int]) -> nx.DiGraph:
    """The tracking graph of a label movie (value = track id + 1) and {track: parent}."""
    graph = nx.DiGraph()
    last_seen: dict[int, str] = {}
    first_seen: dict[int, str] = {}
    for t in range(labels.shape[0]):
        frame = np.asarray(labels[t])
        ids = np.unique(frame)
        centres = ndimage.center_of_mass(np.ones_like(frame), frame, ids[ids > 0])
        for label, (y, x) in zip(ids[ids > 0], centres, strict=True):
            node = f"{t}_{label}"
            graph.add_node(node, t=t, segmentation_id=int(label), y=float(y), x=float(x))
            track = int(label) - 1
            if track in last_seen:
                graph.add_edge(last_seen[track], node)
            first_seen.setdefault(track, node)
            last_seen[track] = node
    for child, mother in parent.items():
        if mother >= 0 and child in first_seen and mother in last_seen:
            graph.add_edge(last_seen[mother], first_seen[child])
    return graph


def score_tracking(
    labels: np.ndarray,
    parent: Mapping[int, int],
    true_labels: np.ndarray,
    true_parent: Mapping[int, int],
) -> dict[str, float]:
    """TRA, DET and LNK (traccuracy, CTC matcher) of predicted against true tracks."""
    from traccuracy import TrackingGraph, run_metrics
    from traccuracy.matchers import CTCMatcher
    from traccuracy.metrics import CTCMetrics

    predicted = TrackingGraph(lineage_graph(labels, parent), np.asarray(labels))
    truth = TrackingGraph(lineage_graph(true_labels, true_parent), np.asarray(true_labels))
    results, _ = run_metrics(truth, predicted, CTCMatcher(), [CTCMetrics()])
    values = results[0]["results"]
    return {name: float(values[name]) for name in ("TRA", "DET", "LNK")}


def link_true_objects(truth: np.ndarray, max_gap: int = 2) -> tuple[np.ndarray, dict[int, int]]:
    """Tracks for ground truth that has per-frame labels but no links (the real
    time-lapse): the true objects linked by the same overlap tracking. Returns the
    label movie (track id + 1) and {track: parent}. Scores against it measure what
    segmentation errors cost the tracking, not the linking itself."""
    from services.microscopy.core.workflow.tracking import track_objects

    frames = [_relabel(np.asarray(frame)) for frame in truth]
    tracks = track_objects(((f, int(f.max())) for f in frames), max_gap=max_gap)
    labels = np.stack([tracks.lookup(t, int(f.max()))[f] for t, f in enumerate(frames)])
    return labels, {track: int(p) for track, p in enumerate(tracks.parent)}


def tracks_parent(tracks_csv) -> dict[int, int]:
    """{track: parent} from a tracks CSV written by the tracking step."""
    import pandas as pd

    table = pd.read_csv(tracks_csv)
    return dict(zip(table["cell"].astype(int), table["parent"].astype(int), strict=True))
