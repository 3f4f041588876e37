"""PostgreSQL access shared by the services: a pool, and versioned migrations.

Each service owns one PostgreSQL schema named after it and applies its own
migrations at start. A migration is a `NNNN_name.sql` file; applied versions
are recorded in `<schema>.schema_migrations`, so starting twice (or two
replicas at once, serialised by an advisory lock) applies each file once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from common import errors

logger = logging.getLogger("micrographia.db")

# Migrations every job-owning service applies to its own schema.
JOBS_MIGRATIONS = Path(__file__).resolve().parent / "migrations" / "jobs"


async def create_pool(
    url: str,
    *,
    schema: str | None = None,
    min_size: int = 1,
    max_size: int = 10,
    attempts: int = 10,
    delay_s: float = 0.5,
    init: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
) -> asyncpg.Pool:
    """Connect, retrying while the database comes up; Unavailable if it never does.

    With `schema`, unqualified names in queries resolve in that schema first;
    `init` runs on every new connection (e.g. to register type codecs).
    """
    settings = {"search_path": f"{schema}, public"} if schema else None
    last_error: Exception | None = None
    for attempt in range(1, attempts + 1):
        try:
            return await asyncpg.create_pool(
                url,
                min_size=min_size,
                max_size=max_size,
                timeout=10,
                server_settings=settings,
                init=init,
            )
        except (TimeoutError, OSError, asyncpg.PostgresError) as error:
            last_error = error
            logger.warning("database not reachable (attempt %d/%d): %s", attempt, attempts, error)
            await asyncio.sleep(min(delay_s * attempt, 5.0))
    raise errors.Unavailable(f"database unreachable at {_redact(url)}: {last_error}")


# What a lost database looks like from a query: the server went away or cannot
# be reached (refused, reset, shutting down, not accepting connections yet).
_OUTAGES = (
    ConnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)


def is_outage(error: BaseException) -> bool:
    """Whether `error` means the database cannot be reached (not a bad query)."""
    if isinstance(error, asyncpg.InterfaceError):
        return "connection" in str(error) and "closed" in str(error)
    return isinstance(error, _OUTAGES)


def database_unavailable() -> errors.Unavailable:
    """What a request that needed the database answers while it is unreachable."""
    return errors.Unavailable(
        "The database is unavailable; try again when it is back", dependency="database"
    )


async def reachable(pool: asyncpg.Pool, timeout_s: float = 2.0) -> bool:
    """Whether `pool` can run a query now (a pool reconnects by itself once the
    database is back)."""
    try:
        await asyncio.wait_for(pool.fetchval("SELECT 1"), timeout_s)
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False
    return True


def _redact(url: str) -> str:
    """The URL without a password, for messages."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}@{host}"


def _migration_files(folder: Path) -> list[Path]:
    files = sorted(folder.glob("*.sql"))
    for path in files:
        if not path.name[:4].isdigit():
            raise ValueError(f"migration {path} must start with a 4-digit version")
    return files


async def apply_migrations(pool: asyncpg.Pool, schema: str, folders: list[Path]) -> list[str]:
    """Apply the pending migrations of `folders` to `schema`; returns the versions applied.

    A version is "<folder name>/<file name>", so shared migrations (jobs) and a
    service's own never collide.
    """
    if not schema.isidentifier():
        raise ValueError(f"bad schema name {schema!r}")
    applied: list[str] = []
    async with pool.acquire() as connection, connection.transaction():
        # One migrator per schema at a time, across processes.
        await connection.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"migrate:{schema}")
        await connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        await connection.execute(
            f"""CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
                    version text PRIMARY KEY,
                    applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {
            row["version"]
            for row in await connection.fetch(f"SELECT version FROM {schema}.schema_migrations")
        }
        await connection.execute(f"SET LOCAL search_path TO {schema}, public")
        for folder in folders:
            for path in _migration_files(folder):
                version = f"{folder.name}/{path.name}"
                if version in done:
                    continue
                await connection.execute(path.read_text())
                await connection.execute(
                    f"INSERT INTO {schema}.schema_migrations (version) VALUES ($1)", version
                )
                applied.append(version)
    if applied:
        logger.info("schema %s: applied %s", schema, ", ".join(applied))
    return applied


async def open_service_database(
    url: str,
    schema: str,
    folders: list[Path],
    *,
    init: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
) -> asyncpg.Pool:
    """A pool whose queries resolve in `schema`, with `folders`' migrations applied.

    `init` runs on every connection of the returned pool; it may rely on what the
    migrations create (e.g. a type codec for an extension's type), so the pool
    that migrates is a plain one, replaced afterwards.
    """
    pool = await create_pool(url, schema=schema)
    try:
        await apply_migrations(pool, schema, folders)
    except BaseException:
        await pool.close()
        raise
    if init is None:
        return pool
    await pool.close()
    return await create_pool(url, schema=schema, init=init)
