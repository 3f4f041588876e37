"""The compiled solver is compiled once per machine, not once per process.

Fitting a model in a new process must load the solver from numba's on-disk cache:
a jitted function passed as an argument by its own type (rather than as a
first-class function value, see models/base.py) misses that cache in every new
process and costs 5-20 s per model each time.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO_ROOT

# Fits every model in a fresh interpreter, then reports the solver's cache misses.
FIT_EVERY_MODEL = """
import json
import numpy as np
from services.analysis.core import solver
from services.analysis.core.models import MODELS

for model in MODELS.values():
    start = [p.default for p in model.parameters]
    solver.fit_cells(
        model, np.linspace(0.0, 10.0, 12), np.ones((2, 12)), start,
        [p.bounds[0] for p in model.parameters], [p.bounds[1] for p in model.parameters],
        [not p.fixed for p in model.parameters],
    )
stats = solver._fit_cells.stats
print(json.dumps({"hits": sum(stats.cache_hits.values()),
                  "misses": sum(stats.cache_misses.values()),
                  "signatures": len(solver._fit_cells.signatures)}))
"""


def fit_in_a_new_process() -> dict:
    done = subprocess.run(
        [sys.executable, "-c", FIT_EVERY_MODEL],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_new_process_loads_the_solver_for_every_model_from_the_cache():
    fit_in_a_new_process()  # compiles at most once (a fresh checkout), saving the cache
    second = fit_in_a_new_process()
    assert second == {"hits": 1, "misses": 0, "signatures": 1}
