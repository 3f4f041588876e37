"""`maturation_blocked`: translation blocked at t0; the protein present matures and
decays (pyama-reference.md)."""

import math

from numba import njit

from .base import EVALUATE, FitModel, ModelParameter


@njit(EVALUATE, cache=True, nogil=True)
def evaluate(t, p, out):
    g0, gu0, km, beta, t0, offset = p[0], p[1], p[2], p[3], p[4], p[5]
    for i in range(t.size):
        dt = t[i] - t0
        if dt < 0.0:
            dt = 0.0
        decay = math.exp(-beta * dt)
        out[i] = g0 * decay + gu0 * (decay - math.exp(-(beta + km) * dt)) + offset


MODEL = FitModel(
    name="maturation_blocked",
    description="Translation blocked: mature protein decays, immature protein matures then decays",
    equation=(
        "dt = max(t - t0, 0); y = G0 e^(-beta dt) + Gu0 (e^(-beta dt) - e^(-(beta+km)dt)) + offset"
    ),
    parameters=(
        ModelParameter("G0", "G0", 100.0, (0.0, 1e6), "Mature protein at t0"),
        ModelParameter("Gu0", "Gu0", 100.0, (0.0, 1e6), "Immature protein at t0"),
        ModelParameter("km", "km", 1.28, (1e-5, 30.0), "Protein maturation rate"),
        ModelParameter("beta", "beta", 5.22e-3, (1e-5, 10.0), "Protein degradation rate"),
        ModelParameter("t0", "t0", 0.0, (0.0, 1.0), "Time translation was blocked"),
        ModelParameter("offset", "offset", 0.0, (-1e6, 1e6), "Background", fixed=True),
    ),
    evaluate=evaluate,
    onset="t0",
)
