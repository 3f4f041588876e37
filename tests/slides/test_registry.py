"""The slides table and its repository, against a real PostgreSQL.

Each test module run gets a throwaway schema, migrated with the service's own
file; the test skips, naming the URL, when no database answers.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from common.errors import InvalidArgument, NotFound
from services.slides.core import SlideLevel, SlideRecord, new_slide_id
from services.slides.core.registry import SlideRegistry

asyncpg = pytest.importorskip("asyncpg")

DATABASE_URL = os.environ.get(
    "MICROGRAPHIA_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
MIGRATION = (
    Path(__file__).resolve().parents[2] / "services" / "slides" / "migrations" / "0001_slides.sql"
)


@pytest.fixture
async def pool() -> AsyncIterator[asyncpg.Pool]:
    schema = f"slides_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(DATABASE_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as error:
        pytest.skip(f"no PostgreSQL at {DATABASE_URL}: {error}")
    try:
        await admin.execute(f"CREATE SCHEMA {schema}")
        # Twice, as a restart would: the migration is idempotent.
        for _ in range(2):
            async with admin.transaction():
                await admin.execute(f"SET LOCAL search_path TO {schema}")
                await admin.execute(MIGRATION.read_text())
        pool = await asyncpg.create_pool(
            DATABASE_URL, min_size=1, max_size=2, server_settings={"search_path": schema}
        )
        try:
            yield pool
        finally:
            await pool.close()
    finally:
        await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await admin.close()


def record(**changes: object) -> SlideRecord:
    slide_id = new_slide_id()
    values: dict[str, object] = {
        "id": slide_id,
        "filename": "case.svs",
        "stored_path": f"/data/slides/{slide_id}.svs",
        "size_bytes": 123_456,
        "vendor": "aperio",
        "width_px": 2000,
        "height_px": 1500,
        "level_count": 4,
        "mpp": 0.25,
        "mpp_y": 0.2501,
        "objective_power": 40.0,
        "levels": (SlideLevel(2000, 1500, 1.0),),
    }
    values.update(changes)
    return SlideRecord(**values)


async def test_insert_get_list_delete(pool: asyncpg.Pool) -> None:
    registry = SlideRegistry(pool)
    first = await registry.insert(record())
    second = await registry.insert(record(mpp=None, mpp_y=None, objective_power=None))
    assert first.created_at is not None and first.created_at.tzinfo is not None
    assert first.levels == (SlideLevel(2000, 1500, 1.0),)  # the pyramid, without opening

    fetched = await registry.get(first.id.upper())
    assert fetched == first
    assert (fetched.mpp, fetched.mpp_y, fetched.objective_power) == (0.25, 0.2501, 40.0)
    missing_mpp = await registry.get(second.id)
    assert (missing_mpp.mpp, missing_mpp.objective_power) == (None, None)

    assert [slide.id for slide in await registry.list()] == [second.id, first.id]

    deleted = await registry.delete(first.id)
    assert deleted == first
    assert await registry.delete(first.id) is None
    with pytest.raises(NotFound):
        await registry.get(first.id)
    assert [slide.id for slide in await registry.list()] == [second.id]


async def test_constraints_hold(pool: asyncpg.Pool) -> None:
    registry = SlideRegistry(pool)
    taken = await registry.insert(record())
    with pytest.raises(asyncpg.UniqueViolationError):
        await registry.insert(record(stored_path=taken.stored_path))
    with pytest.raises(asyncpg.CheckViolationError):
        await registry.insert(record(mpp=0.0))
    with pytest.raises(InvalidArgument):
        await registry.get("not-a-uuid")


async def test_newest_first_uses_the_created_at_index(pool: asyncpg.Pool) -> None:
    indexes = await pool.fetch(
        "SELECT indexdef FROM pg_indexes"
        " WHERE schemaname = current_schema() AND tablename = 'slides'"
    )
    definitions = " ".join(row["indexdef"] for row in indexes)
    assert "(created_at DESC)" in definitions
    assert "UNIQUE" in definitions and "stored_path" in definitions
