"""What a fitting model is: its parameters and three compiled functions.

A model is one small definition (a module of this package): name, description,
equation, parameters, and numba functions over one cell's valid points
(`t`, `p` are 1-D float64 arrays):

- `evaluate(t, p, out)`: the model's values at `t` into `out`;
- `jacobian(t, p, out, jac)` (optional): values into `out` and the derivative
  of each value by each parameter into `jac` (len(t) x len(p)); without it the
  solver takes forward differences, as scipy's default does;
- `guess(t, y, p)` (optional): improve the starting point `p` in place from the
  data; the solver starts from whichever of the two fits better.

Each is compiled for its signature below (`@njit(EVALUATE, cache=True, ...)`):
the solver takes them as first-class function values of these types, so it is
compiled once for all models and its on-disk cache serves every later process.
(A jitted function passed as itself has a type of its own that numba's cache
cannot match in a new process: every process compiled the solver again, for
every model, 5-20 s each.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit, types


@dataclass(frozen=True)
class ModelParameter:
    name: str
    symbol: str
    default: float
    bounds: tuple[float, float]
    description: str
    # Held at its value unless the request frees it (by giving bounds for it).
    fixed: bool = False


_VECTOR = types.float64[::1]
EVALUATE = types.void(_VECTOR, _VECTOR, _VECTOR)  # (t, p, out)
JACOBIAN = types.void(_VECTOR, _VECTOR, _VECTOR, types.float64[:, ::1])  # (t, p, out, jac)
GUESS = types.void(_VECTOR, _VECTOR, _VECTOR)  # (t, y, p)


@njit(JACOBIAN, cache=True, nogil=True)
def no_jacobian(t, p, out, jac):  # pragma: no cover - never called, a placeholder type
    pass


@njit(GUESS, cache=True, nogil=True)
def no_guess(t, y, p):  # pragma: no cover - never called, a placeholder type
    pass


@njit(cache=True, nogil=True)
def end_means(y):
    """Means of the first and of the last tenth of the points (at least one each)."""
    n = y.size
    k = max(1, n // 10)
    first = 0.0
    last = 0.0
    for i in range(k):
        first += y[i]
        last += y[n - 1 - i]
    return first / k, last / k


@njit(cache=True, nogil=True)
def crossing_rate(t, y, first, last, rising):
    """1 / the time the trace takes to go 63% (1 - 1/e) of the way from `first` to
    `last` (crossing upwards when `rising`); 0 when that time is not positive."""
    n = t.size
    target = first + 0.632 * (last - first)
    span = t[n - 1] - t[0]
    crossing = t[0] + 0.5 * span
    for i in range(n):
        if (rising and y[i] >= target) or (not rising and y[i] <= target):
            crossing = t[i]
            break
    elapsed = crossing - t[0] if crossing > t[0] else span / n
    return 1.0 / elapsed if elapsed > 0.0 else 0.0


@dataclass(frozen=True)
class FitModel:
    name: str
    description: str
    equation: str
    parameters: tuple[ModelParameter, ...]
    # numba dispatchers (see the module docstring)
    evaluate: Any
    jacobian: Any = None
    guess: Any = None
    # A parameter where the curve starts (t0): the fit has a kink wherever it
    # crosses a time point, so the solver also tries the pieces beside its stop.
    onset: str | None = None

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(parameter.name for parameter in self.parameters)

    def curve(self, t: np.ndarray, p: np.ndarray) -> np.ndarray:
        """The model's values at times `t` for parameters `p` (plain numpy arrays)."""
        t = np.ascontiguousarray(t, dtype=np.float64)
        out = np.empty_like(t)
        self.evaluate(t, np.ascontiguousarray(p, dtype=np.float64), out)
        return out
