"""PNG pictures of fits, drawn with matplotlib's Agg canvas (no display, no pyplot
state: each call owns its figure, so threads can draw at once)."""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from common.errors import InvalidArgument

from .models import FitModel

SIZE_IN = (6.4, 4.0)
DPI = 100


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def cell_plot(
    model: FitModel,
    times: np.ndarray,
    values: np.ndarray,
    params: np.ndarray | None,
    *,
    title: str,
    time_units: str,
    r_squared: float | None,
) -> bytes:
    """One cell's points and, when the fit succeeded, its fitted curve."""
    valid = np.isfinite(times) & np.isfinite(values)
    figure = Figure(figsize=SIZE_IN, layout="constrained")
    axes = figure.add_subplot()
    axes.plot(times[valid], values[valid], "o", markersize=3, color="#4477aa", label="data")
    if params is not None and np.all(np.isfinite(params)) and valid.any():
        grid = np.linspace(times[valid].min(), times[valid].max(), 400)
        label = f"{model.name} fit" + (f" (r² = {r_squared:.3f})" if r_squared is not None else "")
        axes.plot(grid, model.curve(grid, params), "-", color="#cc3311", linewidth=2, label=label)
    axes.set_xlabel(f"time ({time_units})" if time_units and time_units != "unknown" else "time")
    axes.set_ylabel("value")
    axes.set_title(title)
    axes.legend(loc="best", frameon=False)
    return _png(figure)


def histogram(values: np.ndarray, *, parameter: str, model_type: str, bins: int = 30) -> bytes:
    """Distribution of one fitted parameter over the successful fits."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise InvalidArgument(f"no successful fit has a value for {parameter}", parameter=parameter)
    figure = Figure(figsize=SIZE_IN, layout="constrained")
    axes = figure.add_subplot()
    axes.hist(values, bins=max(1, min(bins, values.size)), color="#4477aa", edgecolor="white")
    axes.axvline(float(np.median(values)), color="#cc3311", linestyle="--", label="median")
    axes.set_xlabel(parameter)
    axes.set_ylabel("cells")
    axes.set_title(f"{parameter} ({model_type}, {values.size} cells)")
    axes.legend(loc="best", frameon=False)
    return _png(figure)


# Paul Tol's bright scheme: distinct for the colour-blind, one colour per sample.
SAMPLE_COLOURS = ("#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb")


def sample_histograms(
    values_by_sample: dict[str, np.ndarray], *, parameter: str, model_type: str, bins: int = 30
) -> bytes:
    """One parameter's distribution per sample, overlaid on shared bins."""
    finite = {name: v[np.isfinite(v)] for name, v in values_by_sample.items()}
    everything = np.concatenate([v for v in finite.values()] or [np.empty(0)])
    if everything.size == 0:
        raise InvalidArgument(f"no fitted cell has a value for {parameter}", parameter=parameter)
    edges = np.histogram_bin_edges(everything, bins=max(1, min(bins, everything.size)))
    figure = Figure(figsize=SIZE_IN, layout="constrained")
    axes = figure.add_subplot()
    for number, (name, values) in enumerate(finite.items()):
        colour = SAMPLE_COLOURS[number % len(SAMPLE_COLOURS)]
        axes.hist(values, bins=edges, color=colour, alpha=0.55, label=f"{name} ({values.size})")
    axes.set_xlabel(parameter)
    axes.set_ylabel("cells")
    axes.set_title(f"{parameter} per sample ({model_type})")
    axes.legend(loc="best", frameon=False)
    return _png(figure)


def parameter_scatter(
    points_by_sample: dict[str, tuple[np.ndarray, np.ndarray]], *, x: str, y: str, model_type: str
) -> bytes:
    """Two parameters against each other, one colour per sample."""
    figure = Figure(figsize=SIZE_IN, layout="constrained")
    axes = figure.add_subplot()
    drawn = 0
    for number, (name, (xs, ys)) in enumerate(points_by_sample.items()):
        keep = np.isfinite(xs) & np.isfinite(ys)
        drawn += int(keep.sum())
        colour = SAMPLE_COLOURS[number % len(SAMPLE_COLOURS)]
        axes.scatter(
            xs[keep], ys[keep], s=9, color=colour, alpha=0.7, label=f"{name} ({keep.sum()})"
        )
    if drawn == 0:
        raise InvalidArgument(f"no fitted cell has values for both {x} and {y}", x=x, y=y)
    axes.set_xlabel(x)
    axes.set_ylabel(y)
    axes.set_title(f"{y} against {x} ({model_type})")
    axes.legend(loc="best", frameon=False)
    return _png(figure)
