"""Versioned, idempotent migrations against the real PostgreSQL."""

from __future__ import annotations

import asyncio
import re

import asyncpg
import pytest

from common import errors
from common.db import JOBS_MIGRATIONS, apply_migrations, create_pool


@pytest.fixture
async def pool(database_url):
    pool = await create_pool(database_url)
    yield pool
    await pool.close()


async def test_migrations_apply_once_and_record_their_versions(pool, tmp_path):
    folder = tmp_path / "probe"
    folder.mkdir()
    (folder / "0001_things.sql").write_text("CREATE TABLE things (id int PRIMARY KEY);")
    first = await apply_migrations(pool, "migration_probe", [JOBS_MIGRATIONS, folder])
    assert first == ["jobs/0001_jobs.sql", "probe/0001_things.sql"]
    assert await apply_migrations(pool, "migration_probe", [JOBS_MIGRATIONS, folder]) == []

    (folder / "0002_more.sql").write_text("ALTER TABLE things ADD COLUMN name text;")
    assert await apply_migrations(pool, "migration_probe", [folder]) == ["probe/0002_more.sql"]
    columns = await pool.fetch(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'migration_probe' AND table_name = 'things'"
    )
    assert {row["column_name"] for row in columns} == {"id", "name"}


async def test_concurrent_starts_apply_each_migration_once(database_url, tmp_path):
    folder = tmp_path / "race"
    folder.mkdir()
    (folder / "0001_counter.sql").write_text(
        "CREATE TABLE counter (n int); INSERT INTO counter VALUES (1);"
    )
    pools = [await create_pool(database_url) for _ in range(3)]
    try:
        results = await asyncio.gather(
            *(apply_migrations(p, "migration_race", [folder]) for p in pools)
        )
        assert sorted(len(applied) for applied in results) == [0, 0, 1]
        assert await pools[0].fetchval("SELECT count(*) FROM migration_race.counter") == 1
    finally:
        for p in pools:
            await p.close()


async def test_a_failing_migration_leaves_nothing_half_applied(pool, tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "0001_ok.sql").write_text("CREATE TABLE kept (id int);")
    (folder / "0002_bad.sql").write_text("CREATE TABLE nope (id int); SELECT no_such_function();")
    with pytest.raises(asyncpg.PostgresError):
        await apply_migrations(pool, "migration_broken", [folder])
    exists = await pool.fetchval("SELECT to_regclass('migration_broken.kept') IS NOT NULL")
    assert not exists, "the whole batch rolls back"


async def test_postgis_is_available(pool):
    assert await pool.fetchval("SELECT postgis_lib_version()")
    assert (
        await pool.fetchval("SELECT count(*) FROM pg_extension WHERE extname = 'btree_gist'") == 1
    )


async def test_unreachable_database_is_a_clear_unavailable_error():
    expected = re.escape("database unreachable at postgresql://nobody@127.0.0.1:1/x")
    with pytest.raises(errors.Unavailable, match=expected):
        await create_pool("postgresql://nobody:secret@127.0.0.1:1/x", attempts=2, delay_s=0.01)
