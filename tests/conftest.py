"""Fixtures every test may use.

Real instrument files live in ../shared/data beside the repository (CI has them
there); MICROGRAPHIA_SHARED_DATA points elsewhere. Tests that need them skip,
naming the folder, only when it is absent.
"""

from __future__ import annotations

import os

# gRPC core logs connection chatter (GOAWAY on shutdown, reconnects) at INFO.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from common.settings import DEFAULT_DATABASE_URL
from edge.settings import EdgeSettings
from tests.harness import (
    LoopThread,
    RunningPlatform,
    create_test_database,
    drop_test_database,
    free_port,
    platform_settings,
)

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


# ------------------------------------------------------------------ the real platform

TEST_DATABASE_URL = os.environ.get("MICROGRAPHIA_TEST_DATABASE_URL", DEFAULT_DATABASE_URL)


@pytest.fixture(scope="session")
def loop_thread() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.close()


@pytest.fixture(scope="session")
def database_url(loop_thread: LoopThread) -> Iterator[str]:
    """A throwaway PostgreSQL+PostGIS database for this test session."""
    url = loop_thread.run(create_test_database(TEST_DATABASE_URL))
    yield url
    loop_thread.run(drop_test_database(url))


@pytest.fixture(scope="session")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root the tests may write synthetic files into."""
    return tmp_path_factory.mktemp("data-root")


@pytest.fixture(scope="session")
def platform(
    loop_thread: LoopThread, database_url: str, data_root: Path, tmp_path_factory
) -> Iterator[RunningPlatform]:
    """All five services and the edge, real, on loopback ports."""
    settings = platform_settings(database_url, data_root, tmp_path_factory.mktemp("slides"))
    if SHARED_DATA.is_dir():
        settings.data_roots.append(SHARED_DATA)
    running = RunningPlatform(loop_thread, settings, EdgeSettings(port=free_port())).start()
    yield running
    running.stop()


@pytest.fixture
def edge(platform: RunningPlatform) -> Iterator[httpx.Client]:
    """An HTTP client of the running edge."""
    with httpx.Client(base_url=platform.base_url, timeout=30) as client:
        yield client


@pytest.fixture
def oracle_network(platform: RunningPlatform) -> Iterator[None]:
    """The platform's inference service with the oracle network (painted nuclei in,
    HoVerNet's ideal maps out) for one test, then its own network again. Tests of
    the real network's path stay beside each test that uses this."""
    from testing.oracle import OraclePredictor

    host = platform.runners["inference"].service.host
    network = host.predictor
    host.install(OraclePredictor())
    yield
    host.install(network)


@contextmanager
def serving_cellpose(platform: RunningPlatform, host) -> Iterator[None]:
    """The platform's inference service serves Cellpose from `host` meanwhile."""
    servicer = platform.runners["inference"].service.servicer
    before = servicer.cellpose
    servicer.cellpose = host
    try:
        yield
    finally:
        servicer.cellpose = before


@pytest.fixture
def oracle_cellpose(platform: RunningPlatform):
    """The platform's inference service with the Cellpose oracle (painted cells in,
    Cellpose's ideal flows out) for one test, then its own network again."""
    from services.inference.core.cellpose import CellposeHost
    from testing.cellpose_oracle import OracleFlowPredictor

    host = CellposeHost("random")
    oracle = OracleFlowPredictor()
    host.install(oracle)
    with serving_cellpose(platform, host):
        yield oracle


@pytest.fixture
def cellpose_sam_cut(platform: RunningPlatform):
    """The platform's inference service with random-weight Cellpose-SAM cut to two of
    its 24 blocks (testing/networks.py) on the service's own runtime (OpenVINO on
    the CPU): the real network path, converted in seconds instead of a minute."""
    from services.inference.core.cellpose import CellposeHost
    from services.inference.core.cellpose.predictor import FlowNetworkPredictor
    from testing.networks import cellpose_sam_cut as cut_network

    runtime = platform.runners["inference"].service.servicer.cellpose.service_runtime
    host = CellposeHost("random", runtime=runtime)
    host.install(FlowNetworkPredictor(cut_network(), "cpu", runtime))
    with serving_cellpose(platform, host):
        yield host


@pytest.fixture
def cellpose_without_weights(platform: RunningPlatform):
    """The platform's inference service as it is where Cellpose's checkpoint is missing."""
    from services.inference.core.cellpose import CellposeHost

    host = CellposeHost("/nonexistent/cpsam.pt")
    host.check()
    with serving_cellpose(platform, host):
        yield host
