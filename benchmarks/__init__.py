"""Benchmarks: each prints its figure beside the same work done the reference
way, and the ratio, from one run. `make bench` runs them all.

Each also has a small mode (`python -m benchmarks --small`, or
MICROGRAPHIA_BENCH_SMALL=1): the same code on data small enough that CI runs every
benchmark after the tests in a minute or two, so one broken by a schema or API
change fails CI. Its figures prove the benchmark runs, not how fast anything is.
"""

from __future__ import annotations

import os


def scaled(full, small):
    """`small` in the small mode, `full` otherwise (read when a benchmark is imported,
    after `python -m benchmarks --small` has set the variable)."""
    return small if os.environ.get("MICROGRAPHIA_BENCH_SMALL") == "1" else full
