"""Fixtures every test may use.

Real instrument files live in ../shared/data beside the repository (CI has them
there); MICROGRAPHIA_SHARED_DATA points elsewhere. Tests that need them skip,
naming the folder, only when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(
    os.environ.get("MICROGRAPHIA_SHARED_DATA", REPO_ROOT.parent / "shared" / "data")
).resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real instrument files; skips when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real instrument files not found at {SHARED_DATA}")
    return SHARED_DATA
