"""`exponential_decay`: a signal decaying to a baseline (pyama-reference.md)."""

import math

from numba import njit

from .base import EVALUATE, GUESS, JACOBIAN, FitModel, ModelParameter, crossing_rate, end_means


@njit(EVALUATE, cache=True, nogil=True)
def evaluate(t, p, out):
    for i in range(t.size):
        out[i] = p[0] * math.exp(-p[1] * t[i]) + p[2]


@njit(JACOBIAN, cache=True, nogil=True)
def jacobian(t, p, out, jac):
    for i in range(t.size):
        decay = math.exp(-p[1] * t[i])
        out[i] = p[0] * decay + p[2]
        jac[i, 0] = decay
        jac[i, 1] = -p[0] * t[i] * decay
        jac[i, 2] = 1.0


@njit(GUESS, cache=True, nogil=True)
def guess(t, y, p):
    """Baseline from the last tenth, start from the first, rate from the time the
    trace has fallen 63% of the way."""
    first, last = end_means(y)
    p[2] = last
    p[0] = first - last
    rate = crossing_rate(t, y, first, last, first < last)
    if rate > 0.0:
        p[1] = rate


MODEL = FitModel(
    name="exponential_decay",
    description="Exponential decay to a baseline",
    equation="f(t) = A * e^(-kt) + B",
    parameters=(
        ModelParameter("amplitude", "A", 1.0, (0.0, 1e6), "Initial height above the baseline"),
        ModelParameter("rate", "k", 0.1, (1e-5, 10.0), "Decay rate (per time unit)"),
        ModelParameter("offset", "B", 0.0, (-1e6, 1e6), "Baseline"),
    ),
    evaluate=evaluate,
    jacobian=jacobian,
    guess=guess,
)
