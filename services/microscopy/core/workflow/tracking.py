"""Tracking (pyama-reference.md, step 4), done better than the reference with laptrack.

Each frame's mask is cut into objects (4-connected components; a learned
method's instance labels are the objects as they are). Objects are
linked by a linear assignment (laptrack's LAP: frame-to-frame linking, then gap
closing and splitting) whose costs come from the overlap of the objects' masks:

- frame to frame: 1 - IoU of the two masks, links need IoU >= 0.1;
- gap closing: the same across up to `max_gap` missing frames;
- splitting (division): 1 - (overlap / daughter's area), the daughter lying
  mostly inside the mother's last mask; the mother's track ends there and each
  daughter starts a track of its own whose parent is the mother.

Objects appearing after frame 0 start tracks of their own. Unlike laptrack's
OverLapTrack, which holds the whole label movie in memory, the overlaps are
gathered frame by frame while the labels are streamed, keeping only the
foreground pixel indices of the last `max_gap + 1` frames.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd
from laptrack import LapTrack
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from . import morphology

LINK_MIN_IOU = 0.1  # the reference's threshold
SPLIT_MIN_OVERLAP = 0.3  # a daughter lies at least this much inside its mother
NO_LINK = 2.0  # cost of a pair that does not overlap (above every cutoff)
NOT_LINKED = 1.0  # cost of leaving an end unlinked: above every cutoff, so any candidate may link


def label_objects(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Objects of one frame, labels 1..n: a binary mask's 4-connected components, or
    a learned method's instance labels as they are (touching cells stay apart)."""
    if mask.dtype != np.bool_:
        objects = np.asarray(mask, np.int32)
        return objects, int(objects.max()) if objects.size else 0
    return morphology.label(mask)


@numba.njit(cache=True, nogil=True)
def relabel(objects, table, out):
    """out[...] = table[objects]: a frame's objects renamed to their track id + 1."""
    h, w = objects.shape
    for i in range(h):
        for j in range(w):
            out[i, j] = table[objects[i, j]]


@dataclass(frozen=True)
class Tracks:
    """Result of tracking: per (frame, object label) the track, and each track's parent."""

    track_of: dict[tuple[int, int], int]  # (frame, label) -> track id (0-based)
    parent: np.ndarray  # per track: parent track id, -1 if none
    first_frame: np.ndarray
    last_frame: np.ndarray

    @property
    def n_tracks(self) -> int:
        return len(self.parent)

    def lookup(self, frame: int, n_labels: int) -> np.ndarray:
        """Label -> track id + 1 for one frame (0 stays 0), for relabelling a frame."""
        table = np.zeros(n_labels + 1, np.int32)
        for label in range(1, n_labels + 1):
            table[label] = self.track_of[(frame, label)] + 1
        return table


class _OverlapTable:
    """Object areas and pairwise mask overlaps, gathered frame by frame."""

    def __init__(self, max_frame_gap: int) -> None:
        self._recent: deque[tuple[int, np.ndarray, np.ndarray, int]] = deque(maxlen=max_frame_gap)
        self.objects: list[tuple[int, int]] = []  # (frame, label), in order: uid = index
        self._uid_base: dict[int, int] = {}  # frame -> uid of its label 1
        self.area: list[int] = []
        self.iou: dict[tuple[int, int], float] = {}  # (earlier uid, later uid)
        self.inside: dict[tuple[int, int], float] = {}  # overlap / later object's area

    def uid(self, frame: int, label: int) -> int:
        return self._uid_base[frame] + label - 1

    def add_frame(self, frame: int, labels: np.ndarray, n: int) -> None:
        flat = labels.ravel()
        foreground = np.flatnonzero(flat)
        values = flat[foreground]
        areas = np.bincount(values, minlength=n + 1)
        self._uid_base[frame] = len(self.objects)
        self.objects.extend((frame, label) for label in range(1, n + 1))
        self.area.extend(int(a) for a in areas[1:])
        for earlier, fg, vals, n_earlier in self._recent:
            now = flat[fg]  # this frame's labels where the earlier frame had objects
            hit = now > 0
            pairs = np.bincount(
                vals[hit].astype(np.int64) * (n + 1) + now[hit], minlength=(n_earlier + 1) * (n + 1)
            )
            for key in np.flatnonzero(pairs):
                a, b = divmod(int(key), n + 1)
                ua, ub = self.uid(earlier, a), self.uid(frame, b)
                overlap = int(pairs[key])
                union = self.area[ua] + self.area[ub] - overlap
                self.iou[(ua, ub)] = overlap / union
                self.inside[(ua, ub)] = overlap / self.area[ub]
        self._recent.appendleft((frame, foreground, values, n))


def _pair_cost(table: dict[tuple[int, int], float]) -> Callable[[np.ndarray, np.ndarray], float]:
    """A laptrack metric on object uids: 1 - table value of the pair (either order)."""

    def cost(c1: np.ndarray, c2: np.ndarray) -> float:
        a, b = int(c1[0]), int(c2[0])
        value = table.get((a, b) if a < b else (b, a))
        return NO_LINK if value is None else 1.0 - value

    return cost


def track_objects(
    labelled_frames: Iterable[tuple[np.ndarray, int]],
    *,
    max_gap: int,
    on_frame: Callable[[int], None] = lambda frame: None,
) -> Tracks:
    """Track the objects of (labels, n) frames; `on_frame(t)` after each frame is read."""
    overlaps = _OverlapTable(max_gap + 1)
    for t, (labels, n) in enumerate(labelled_frames):
        overlaps.add_frame(t, labels, n)
        on_frame(t)
    if not overlaps.objects:
        empty = np.zeros(0, np.int64)
        return Tracks({}, empty, empty, empty)
    frames = np.array([f for f, _ in overlaps.objects])
    chains, others = _simple_chains(overlaps, frames)
    members: list[np.ndarray] = list(chains)
    parents: dict[int, int] = {}  # index in members -> index in members
    if others.size:
        track_df, split_df = _laptrack(overlaps, frames, others, max_gap)
        offset = len(members)
        lap_ids = np.unique(track_df["track_id"].to_numpy())
        index_of = {lap: offset + i for i, lap in enumerate(lap_ids)}
        grouped = track_df.groupby("track_id")["uid"]
        members.extend(grouped.get_group(lap).to_numpy().astype(np.int64) for lap in lap_ids)
        for row in split_df.itertuples(index=False):
            parents[index_of[row.child_track_id]] = index_of[row.parent_track_id]
    return _number_tracks(overlaps, frames, members, parents)


def _simple_chains(overlaps: _OverlapTable, frames: np.ndarray):
    """Split the objects into independent problems: connected components of the
    "could link" graph (pairs under a cutoff). With fixed no-link costs the
    assignment decomposes over them exactly. A component with one object in each
    of consecutive frames, each overlapping the next, is a single track whatever
    the solver does: it is settled here. The rest (gaps, divisions, crowding)
    goes to laptrack, in one call, so it compares far fewer pairs.
    Returns (the chains as uid arrays, the uids left for laptrack)."""
    n = len(frames)
    links = [k for k, v in overlaps.iou.items() if v > LINK_MIN_IOU]
    links += [k for k, v in overlaps.inside.items() if v > SPLIT_MIN_OVERLAP]
    if links:
        a, b = np.array(links).T
        graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
        _, component = connected_components(graph, directed=False)
    else:
        component = np.arange(n)
    order = np.lexsort((frames, component))
    chains, others = [], []
    bounds = np.flatnonzero(np.diff(component[order])) + 1
    for group in np.split(order, bounds):
        steps = np.diff(frames[group])
        simple = bool(np.all(steps == 1)) and all(
            overlaps.iou.get((int(u), int(v)), 0.0) > LINK_MIN_IOU
            for u, v in itertools.pairwise(group)
        )
        (chains if simple else others).append(group)
    rest = np.concatenate(others) if others else np.zeros(0, np.int64)
    return chains, rest


def _laptrack(overlaps: _OverlapTable, frames: np.ndarray, uids: np.ndarray, max_gap: int):
    df = pd.DataFrame({"frame": frames[uids], "uid": uids.astype(float)})
    tracker = LapTrack(
        metric=_pair_cost(overlaps.iou),
        cutoff=1.0 - LINK_MIN_IOU,
        gap_closing_metric=_pair_cost(overlaps.iou),
        gap_closing_cutoff=1.0 - LINK_MIN_IOU if max_gap > 0 else False,
        gap_closing_max_frame_count=max_gap + 1,
        splitting_metric=_pair_cost(overlaps.inside),
        splitting_cutoff=1.0 - SPLIT_MIN_OVERLAP,
        merging_cutoff=False,
        # Fixed "no link" costs: every pair under its cutoff may link, the assignment
        # picks the best. (laptrack's default derives them from the spread of this
        # movie's costs, so one cheap gap closing could veto a real division.)
        track_start_cost=NOT_LINKED,
        track_end_cost=NOT_LINKED,
        segment_start_cost=NOT_LINKED,
        segment_end_cost=NOT_LINKED,
        no_splitting_cost=NOT_LINKED,
        no_merging_cost=NOT_LINKED,  # unused (no merging), but all four must be set
    )
    track_df, split_df, _ = tracker.predict_dataframe(
        df, coordinate_cols=["uid"], frame_col="frame", only_coordinate_cols=False
    )
    return track_df, split_df


def _number_tracks(
    overlaps: _OverlapTable, frames: np.ndarray, members: list[np.ndarray], parents: dict[int, int]
) -> Tracks:
    """Track ids in order of first appearance (frame, then label): stable across runs."""
    first = np.array([frames[m].min() for m in members])
    last = np.array([frames[m].max() for m in members])
    start = np.array([m.min() for m in members])
    order = np.lexsort((start, first))
    new_id = np.empty(len(members), np.int64)
    new_id[order] = np.arange(len(members))
    parent = np.full(len(members), -1, np.int64)
    for child, mother in parents.items():
        parent[new_id[child]] = new_id[mother]
    track_of = {overlaps.objects[int(u)]: int(new_id[i]) for i, m in enumerate(members) for u in m}
    return Tracks(track_of, parent, first[order].astype(np.int64), last[order].astype(np.int64))
