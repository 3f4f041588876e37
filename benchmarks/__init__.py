"""Benchmarks: each prints its figure beside the same work done the reference
way, and the ratio, from one run. `make bench` runs them all."""
