"""`exponential_decay`: a signal decaying to a baseline (pyama-reference.md)."""

import math

from numba import njit

from .base import FitModel, ModelParameter


@njit(cache=True, nogil=True)
def evaluate(t, p, out):
    for i in range(t.size):
        out[i] = p[0] * math.exp(-p[1] * t[i]) + p[2]


@njit(cache=True, nogil=True)
def jacobian(t, p, out, jac):
    for i in range(t.size):
        decay = math.exp(-p[1] * t[i])
        out[i] = p[0] * decay + p[2]
        jac[i, 0] = decay
        jac[i, 1] = -p[0] * t[i] * decay
        jac[i, 2] = 1.0


@njit(cache=True, nogil=True)
def guess(t, y, p):
    """Baseline from the last tenth, start from the first, rate from the time the
    trace has fallen 63% of the way."""
    n = t.size
    k = max(1, n // 10)
    first = 0.0
    last = 0.0
    for i in range(k):
        first += y[i]
        last += y[n - 1 - i]
    first /= k
    last /= k
    p[2] = last
    p[0] = first - last
    target = first - 0.632 * (first - last)
    span = t[n - 1] - t[0]
    crossing = t[0] + 0.5 * span
    for i in range(n):
        if (first >= last and y[i] <= target) or (first < last and y[i] >= target):
            crossing = t[i]
            break
    elapsed = crossing - t[0] if crossing > t[0] else span / n
    if elapsed > 0.0:
        p[1] = 1.0 / elapsed


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
