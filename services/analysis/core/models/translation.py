"""`translation`: mRNA transfection, translation without a maturation step
(pyama-reference.md)."""

import math

from numba import njit

from .base import EVALUATE, FitModel, ModelParameter


@njit(EVALUATE, cache=True, nogil=True)
def evaluate(t, p, out):
    t0, ktl, delta, beta, offset = p[0], p[1], p[2], p[3], p[4]
    d = delta - beta
    for i in range(t.size):
        dt = t[i] - t0
        if dt < 0.0:
            dt = 0.0
        # (1 - e^(-d dt)) / d, and its limit dt as d -> 0
        rise = dt if abs(d) < 1e-12 else (1.0 - math.exp(-d * dt)) / d
        out[i] = offset + ktl * rise * math.exp(-beta * dt)


MODEL = FitModel(
    name="translation",
    description="mRNA transfection: translation from decaying mRNA, protein degradation",
    equation=(
        "dt = max(t - t0, 0); "
        "y = offset + ktl/(delta-beta) * (1 - e^(-(delta-beta)dt)) * e^(-beta dt)"
    ),
    parameters=(
        ModelParameter("t0", "t0", 2.0, (0.0, 30.0), "Onset of expression"),
        ModelParameter("ktl", "ktl", 20.0, (1.0, 1e6), "Translation rate times initial mRNA"),
        ModelParameter("delta", "delta", 0.07, (1e-5, 10.1), "mRNA degradation rate"),
        ModelParameter("beta", "beta", 0.0436, (1e-5, 10.0), "Protein degradation rate"),
        ModelParameter("offset", "offset", 0.0, (-1e6, 1e6), "Background"),
    ),
    evaluate=evaluate,
    onset="t0",
)
