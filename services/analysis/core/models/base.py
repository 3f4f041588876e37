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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit


@dataclass(frozen=True)
class ModelParameter:
    name: str
    symbol: str
    default: float
    bounds: tuple[float, float]
    description: str
    # Held at its value unless the request frees it (by giving bounds for it).
    fixed: bool = False


@njit(cache=True, nogil=True)
def no_jacobian(t, p, out, jac):  # pragma: no cover - never called, a placeholder type
    pass


@njit(cache=True, nogil=True)
def no_guess(t, y, p):  # pragma: no cover - never called, a placeholder type
    pass


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
