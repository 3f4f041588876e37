"""Recent files: the PostgreSQL store on its own schema, then through the real edge."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from common.db import apply_migrations, create_pool
from common.jobs import JobRunner, JobStore
from common.server import ServiceRunner
from common.workers import Workers
from micrographia.microscopy.v1 import microscopy_pb2 as pb
from services.microscopy.core import MicroscopyMetadata
from services.microscopy.files import MicroscopyFiles, data_roots
from services.microscopy.messages import stored_metadata_message
from services.microscopy.recent import RecentFiles
from services.microscopy.service import MIGRATIONS, MicroscopyService
from services.microscopy.servicer import MicroscopyServicer
from services.microscopy.settings import MicroscopySettings
from services.microscopy.workflows import Workflows
from testing.synthetic_tiff import write_synthetic_ome_tiff
from tests.microscopy.conftest import ARCADIA_TIMELAPSE, CLUSTER_ND2, CZI_SCENES, CZI_TIMELAPSE
from tests.microscopy.edge_api import data_of, error_of, microscopy_stub, post


def fake_metadata(path: str) -> MicroscopyMetadata:
    return MicroscopyMetadata(
        file_path=path, file_type="tiff", n_fovs=1, n_frames=2, n_channels=1,
        channel_names=("GFP",), pixel_size_um=None, time_points=(0.0, 10.0), time_unit="min",
        dtype="uint16", shape=(8, 8), n_z=1, z_step_um=None, full_shape=(2, 8, 8), axes="TYX",
        size_bytes=1234,
    )  # fmt: skip


@pytest.fixture
async def store(database_url: str):
    """RecentFiles (retention 3) on a schema of its own, dropped afterwards."""
    schema = f"recent_test_{uuid.uuid4().hex[:8]}"
    pool = await create_pool(database_url, schema=schema)
    await apply_migrations(pool, schema, [MIGRATIONS])
    try:
        yield RecentFiles(pool, retention=3)
    finally:
        await pool.execute(f"DROP SCHEMA {schema} CASCADE")
        await pool.close()


async def test_store_keeps_the_newest_first_within_the_retention(store: RecentFiles) -> None:
    for name in ["/d/a.nd2", "/d/b.ome.tif", "/d/c.czi", "/d/d.TIF"]:
        await store.record(fake_metadata(name))
    newest = await store.newest()
    assert [r.path for r in newest] == ["/d/d.TIF", "/d/c.czi", "/d/b.ome.tif"]  # a.nd2 dropped
    assert all(r.accessed_at.tzinfo is not None for r in newest)
    assert newest[0].accessed_at > newest[1].accessed_at > newest[2].accessed_at
    assert abs(newest[0].accessed_at - datetime.now(UTC)) < timedelta(minutes=1)

    await store.record(fake_metadata("/d/b.ome.tif"))  # loaded again: newest now
    assert [r.path for r in await store.newest(limit=2)] == ["/d/b.ome.tif", "/d/d.TIF"]
    # ".tif" keeps ".ome.tif" too, case-insensitively, as the explorer's filters do
    assert [r.path for r in await store.newest(extensions=["TIF"])] == [
        "/d/b.ome.tif",
        "/d/d.TIF",
    ]
    assert [r.path for r in await store.newest(extensions=[".czi", ".nd2"])] == ["/d/c.czi"]


async def test_stored_metadata_reads_back_as_the_message(store: RecentFiles) -> None:
    metadata = fake_metadata("/d/x.tif")
    await store.record(metadata)
    (recent,) = await store.newest(limit=1)
    message = stored_metadata_message(recent.metadata)
    assert list(message.shape) == [8, 8] and not message.HasField("pixel_size_um")
    assert message == pb.MicroscopyMetadata(**metadata.to_dict())
    # rows written by a version with other fields stay readable
    older = {**recent.metadata, "retired_field": 1}
    assert stored_metadata_message(older) == message


# ---------------------------------------------------------------- through the edge


def recent(edge, **params) -> dict:
    return data_of(edge.get("/api/processing/recent-files", params=params))


def test_recent_files_newest_first_with_the_loaded_metadata(edge, real_file) -> None:
    paths = [str(real_file(r)) for r in (ARCADIA_TIMELAPSE, CZI_TIMELAPSE, CLUSTER_ND2)]
    loaded = {path: post(edge, "load-metadata", file_path=path) for path in paths}
    data = recent(edge, limit=3)
    assert data["tracked"] is True
    assert [item["path"] for item in data["recent_files"]] == paths[::-1]
    for item in data["recent_files"]:
        assert set(item) == {"path", "accessed_at", "metadata"}
        assert item["metadata"] == loaded[item["path"]]
        assert item["accessed_at"].endswith("Z")

    post(edge, "load-metadata", file_path=paths[0])  # again: first now
    assert recent(edge, limit=1)["recent_files"][0]["path"] == paths[0]
    default = recent(edge)["recent_files"]
    assert 3 <= len(default) <= 10


def test_recent_files_filter_by_extension(edge, real_file) -> None:
    post(edge, "load-metadata", file_path=str(real_file(CZI_SCENES)))
    czi = recent(edge, extensions=".czi", limit=100)["recent_files"]
    assert czi and all(item["path"].endswith(".czi") for item in czi)
    assert czi[0]["path"] == str(real_file(CZI_SCENES))
    both = recent(edge, extensions=".czi, .nd2", limit=100)["recent_files"]
    assert {Path(item["path"]).suffix for item in both} == {".czi", ".nd2"}


def test_only_successful_loads_are_recent(edge, data_root: Path) -> None:
    folder = data_root / "recent"
    folder.mkdir(exist_ok=True)
    corrupt = folder / "corrupt.ome.tif"
    corrupt.write_bytes(b"II*\x00" + bytes(200))
    good = write_synthetic_ome_tiff(
        folder / "good.ome.tif", n_frames=2, n_channels=1, height=8, width=8
    )
    response = edge.post("/api/processing/load-metadata", json={"file_path": str(corrupt)})
    error_of(response, 400, "INVALID_PARAMETERS")
    post(edge, "file-info", file_path=str(good))  # looking is not loading
    listed = {item["path"] for item in recent(edge, limit=1000)["recent_files"]}
    assert str(corrupt) not in listed and str(good) not in listed


def test_recent_files_bad_limit(edge) -> None:
    for limit in (0, -1, 1001, "many"):
        response = edge.get("/api/processing/recent-files", params={"limit": limit})
        assert "limit" in error_of(response, 400, "INVALID_PARAMETERS")["error"]


def test_tracking_off_answers_untracked_and_records_nothing(platform, real_file) -> None:
    settings = MicroscopySettings(host="127.0.0.1", port=0, track_recent_files=False)
    runner = ServiceRunner(MicroscopyService, settings, platform.platform)
    platform.loop.run(runner.start())
    try:
        path = str(real_file(CZI_TIMELAPSE))
        with microscopy_stub(runner.address) as stub:
            stub.LoadMetadata(pb.LoadMetadataRequest(file_path=path))
            response = stub.ListRecentFiles(pb.ListRecentFilesRequest())
        assert response.tracked is False and len(response.recent_files) == 0
    finally:
        platform.loop.run(runner.stop(grace=1))


def test_settings_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("MICROGRAPHIA_MICROSCOPY_TRACK_RECENT_FILES", "false")
    monkeypatch.setenv("MICROGRAPHIA_MICROSCOPY_READER_CACHE_SIZE", "4")
    monkeypatch.setenv("MICROGRAPHIA_MICROSCOPY_RECENT_FILES_RETENTION", "50")
    settings = MicroscopySettings()
    assert settings.track_recent_files is False
    assert (settings.reader_cache_size, settings.recent_files_retention) == (4, 50)


async def test_load_metadata_survives_a_database_failure(database_url, real_file, caplog) -> None:
    """Recording is best-effort: the metadata comes back even when the database fails."""
    caplog.set_level(logging.WARNING, "micrographia.microscopy")
    path = real_file(CZI_TIMELAPSE)
    pool = await create_pool(database_url)
    await pool.close()  # every query now fails with asyncpg.InterfaceError
    files = MicroscopyFiles(data_roots([path.parent]), reader_cache_size=2)
    workers = Workers(1, "test")
    try:
        jobs = JobRunner(JobStore(pool))
        workflows = Workflows(jobs, files, workers)
        servicer = MicroscopyServicer(
            jobs, files, workers, RecentFiles(pool, retention=5), workflows
        )
        request = pb.LoadMetadataRequest(file_path=str(path))
        response = await servicer.LoadMetadata(request, None)
    finally:
        workers.close()
        files.close()
    assert response.metadata.n_frames == 3
    assert "could not record" in caplog.text
