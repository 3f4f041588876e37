"""python -m benchmarks [--small] [name ...]: run every benchmark module (bench_*.py), or
those named; --small runs each on small data (what CI runs, see __init__.py)."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import time
import traceback
from pathlib import Path


def main(selected: list[str]) -> None:
    folder = Path(__file__).parent
    names = sorted(
        m.name for m in pkgutil.iter_modules([str(folder)]) if m.name.startswith("bench_")
    )
    if selected:
        names = [n for n in names if n.removeprefix("bench_") in selected or n in selected]
    failed: list[str] = []
    for name in names:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        try:
            importlib.import_module(f"benchmarks.{name}").main()
        except (Exception, SystemExit):  # the others still run; the exit status says it
            traceback.print_exc()
            failed.append(name)
        print(f"   ({time.perf_counter() - started:.0f}s)", flush=True)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if "--small" in arguments:
        arguments.remove("--small")
        # Before any benchmark is imported (they size their data at import), and
        # inherited by the processes they start.
        os.environ["MICROGRAPHIA_BENCH_SMALL"] = "1"
    main(arguments)
