"""`translation_maturation`: mRNA transfection, translation then maturation of the
protein (pyama-reference.md, after Leonhardt et al.)."""

import math

from numba import njit

from .base import EVALUATE, FitModel, ModelParameter

# Parameter order: t0, ktl, delta, offset (fitted), km, beta, scale (fixed by default).


@njit(EVALUATE, cache=True, nogil=True)
def evaluate(t, p, out):
    t0, ktl, delta, offset, km, beta, scale = p[0], p[1], p[2], p[3], p[4], p[5], p[6]
    b = beta - delta
    if abs(b) < 1e-12:  # the formula's removable singularity at beta = delta
        b = 1e-12
    bk = b + km
    if abs(bk) < 1e-12:
        bk = 1e-12
    for i in range(t.size):
        dt = t[i] - t0
        if dt < 0.0:
            dt = 0.0
        f = ktl * (
            math.exp(-(beta + km) * dt) / bk
            - math.exp(-beta * dt) / b
            + km / (b * bk) * math.exp(-delta * dt)
        )
        out[i] = scale * (f + offset)


MODEL = FitModel(
    name="translation_maturation",
    description="mRNA transfection: translation from decaying mRNA, then protein maturation",
    equation=(
        "dt = max(t - t0, 0), b = beta - delta; "
        "f = ktl * (e^(-(beta+km)dt)/(b+km) - e^(-beta dt)/b + km/(b(b+km)) e^(-delta dt)); "
        "y = scale * (f + offset)"
    ),
    parameters=(
        ModelParameter("t0", "t0", 0.0, (-1.0, 1.0), "Onset of expression"),
        ModelParameter("ktl", "ktl", 1e3, (1.0, 5e8), "Translation rate times initial mRNA"),
        ModelParameter("delta", "delta", 1e-2, (1e-5, 11.0), "mRNA degradation rate"),
        ModelParameter("offset", "offset", 0.0, (-1e6, 1e6), "Background, before scaling"),
        ModelParameter("km", "km", 1.28, (1e-5, 30.0), "Protein maturation rate", fixed=True),
        ModelParameter(
            "beta", "beta", 5.22e-3, (1e-5, 10.0), "Protein degradation rate", fixed=True
        ),
        ModelParameter("scale", "s", 1.0, (1e-6, 1e6), "Intensity per protein", fixed=True),
    ),
    evaluate=evaluate,
    onset="t0",
)
