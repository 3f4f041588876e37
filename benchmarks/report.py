"""One line per figure: ours, the reference, and the ratio."""

from __future__ import annotations


def report(name: str, ours: float, reference: float, unit: str, target: str | None = None) -> float:
    """Print `ours` next to `reference` (higher is better) and return ours / reference."""
    ratio = ours / reference if reference else float("nan")
    line = f"{name:<48} {ours:12.1f} {unit:<9} reference {reference:12.1f} {unit:<9}"
    line += f" ratio {ratio:6.2f}"
    if target:
        line += f"  (target {target})"
    print(line, flush=True)
    return ratio
