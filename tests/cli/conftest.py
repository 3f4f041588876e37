"""The `micrographia` command against the real platform: five services and the
edge on loopback ports (tests/harness.py)."""

from __future__ import annotations

import pytest

from tests.cli.helpers import Run, invoke
from tests.harness import RunningPlatform


@pytest.fixture
def cli(platform: RunningPlatform) -> Run:
    """cli('files', 'ls', DIR, '--json') -> Outcome, against the running edge."""
    return lambda *args, **kwargs: invoke(platform.base_url, *args, **kwargs)
