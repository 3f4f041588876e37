"""The analysis domain core: models, traces, the compiled solver, results, plots (README.md)."""
