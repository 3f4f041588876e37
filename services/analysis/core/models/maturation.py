"""`maturation`: exponential maturation towards a plateau (pyama-api.md)."""

import math

from numba import njit

from .base import EVALUATE, GUESS, JACOBIAN, FitModel, ModelParameter, crossing_rate, end_means


@njit(EVALUATE, cache=True, nogil=True)
def evaluate(t, p, out):
    amplitude, rate, offset = p[0], p[1], p[2]
    for i in range(t.size):
        out[i] = amplitude * (1.0 - math.exp(-rate * t[i])) + offset


@njit(JACOBIAN, cache=True, nogil=True)
def jacobian(t, p, out, jac):
    amplitude, rate, offset = p[0], p[1], p[2]
    for i in range(t.size):
        decay = math.exp(-rate * t[i])
        out[i] = amplitude * (1.0 - decay) + offset
        jac[i, 0] = 1.0 - decay
        jac[i, 1] = amplitude * t[i] * decay
        jac[i, 2] = 1.0


@njit(GUESS, cache=True, nogil=True)
def guess(t, y, p):
    """Offset from the first tenth of the points, plateau from the last tenth, rate
    from the time the trace crosses 63% of the way (1 - 1/e) between them."""
    first, last = end_means(y)
    p[2] = first
    p[0] = last - first
    rate = crossing_rate(t, y, first, last, last >= first)
    if rate > 0.0:
        p[1] = rate


MODEL = FitModel(
    name="maturation",
    description="Exponential maturation model",
    equation="f(t) = A * (1 - e^(-kt)) + B",
    parameters=(
        ModelParameter("amplitude", "A", 1.0, (0.0, 10.0), "Plateau above the offset"),
        ModelParameter("rate", "k", 0.1, (0.01, 1.0), "Maturation rate (per time unit)"),
        ModelParameter("offset", "B", 0.0, (-1.0, 5.0), "Value at t = 0"),
    ),
    evaluate=evaluate,
    jacobian=jacobian,
    guess=guess,
)
