"""A bounded, deterministic schemathesis run over the whole OpenAPI document,
against the real edge and the five real services: no answer may be a 5xx.

Its own platform (database, data root, slides folder), so the slides,
uploads and jobs the run creates touch no other test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode

from edge.app import create_app
from edge.settings import EdgeSettings
from tests.conftest import TEST_DATABASE_URL
from tests.harness import (
    LoopThread,
    RunningPlatform,
    create_test_database,
    drop_test_database,
    free_port,
    platform_settings,
)

EXAMPLES_PER_OPERATION = 15  # per generation mode (valid, invalid)


@pytest.fixture(scope="module")
def fuzzed_platform(loop_thread: LoopThread, tmp_path_factory) -> Iterator[RunningPlatform]:
    database = loop_thread.run(create_test_database(TEST_DATABASE_URL))
    data_root = tmp_path_factory.mktemp("fuzz-data")
    (data_root / "folder").mkdir()
    (data_root / "folder" / "notes.txt").write_text("not a microscopy file")
    settings = platform_settings(database, data_root, tmp_path_factory.mktemp("fuzz-slides"))
    platform = RunningPlatform(loop_thread, settings, EdgeSettings(port=free_port())).start()
    yield platform
    platform.stop()
    loop_thread.run(drop_test_database(database))


def _operations():
    """Every operation of the edge's OpenAPI document (built without serving it)."""
    document = schemathesis.openapi.from_dict(create_app().openapi())
    # Job progress streams of a running job stay open: they have their own tests.
    for result in document.exclude(path_regex=r"/events/").get_all_operations():
        operation = result.ok()
        yield pytest.param(operation, id=operation.label)


def _server_errors(operation, mode: GenerationMode, base_url: str) -> list[str]:
    found: list[str] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def call(case) -> None:
        response = case.call(base_url=base_url, timeout=30)
        if response.status_code >= 500:
            found.append(
                f"{case.method} {case.formatted_path} {case.query or ''} -> "
                f"{response.status_code}: {response.text[:300]}"
            )

    try:
        call()
    except Unsatisfiable:
        # No invalid input exists (e.g. an operation whose only input is a free string).
        assert mode is GenerationMode.NEGATIVE
    return found


@pytest.mark.slow
@pytest.mark.parametrize("operation", list(_operations()))
def test_no_server_errors(fuzzed_platform: RunningPlatform, operation) -> None:
    errors = [
        error
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        for error in _server_errors(operation, mode, fuzzed_platform.base_url)
    ]
    assert not errors, "\n".join(errors[:5])
