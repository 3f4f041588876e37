"""Recently loaded files: the `recent_files` table of the microscopy schema.

Every successful metadata load upserts its file with the time and the metadata;
only the newest `retention` files are kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from common.errors import InvalidArgument
from services.microscopy.core import MicroscopyMetadata
from services.microscopy.core.extensions import normalise_extensions

DEFAULT_LIMIT = 10


@dataclass(frozen=True, slots=True)
class RecentFile:
    """One row; `metadata` is `MicroscopyMetadata.to_dict()` as it was stored."""

    path: str
    accessed_at: datetime
    metadata: dict[str, Any]


class RecentFiles:
    """The recent-files table. `pool` must resolve `recent_files` in the service's schema."""

    def __init__(self, pool: asyncpg.Pool, retention: int) -> None:
        self._pool = pool
        self._retention = retention

    async def record(self, metadata: MicroscopyMetadata) -> None:
        """Remember that `metadata.file_path` was loaded just now; forget the oldest beyond
        the retention."""
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute(
                """INSERT INTO recent_files (path, accessed_at, metadata)
                   VALUES ($1, clock_timestamp(), $2::jsonb)
                   ON CONFLICT (path) DO UPDATE
                   SET accessed_at = excluded.accessed_at, metadata = excluded.metadata""",
                metadata.file_path,
                json.dumps(metadata.to_dict()),
            )
            await connection.execute(
                """DELETE FROM recent_files WHERE path IN (
                       SELECT path FROM recent_files
                       ORDER BY accessed_at DESC, path OFFSET $1)""",
                self._retention,
            )

    async def newest(
        self, limit: int = DEFAULT_LIMIT, extensions: Iterable[str] | None = None
    ) -> list[RecentFile]:
        """Up to `limit` files (0 means 10), newest first, whose names end with one of
        `extensions` (all when empty; ".tif" also keeps ".ome.tif", as in the explorer)."""
        if limit < 0:
            raise InvalidArgument(f"limit must be >= 0, got {limit}")
        wanted = list(normalise_extensions(extensions))
        rows = await self._pool.fetch(
            """SELECT path, accessed_at, metadata FROM recent_files
               WHERE cardinality($2::text[]) = 0
                  OR EXISTS (SELECT 1 FROM unnest($2::text[]) AS ext
                             WHERE right(lower(path), length(ext)) = ext)
               ORDER BY accessed_at DESC, path
               LIMIT $1""",
            limit or DEFAULT_LIMIT,
            wanted,
        )
        return [
            RecentFile(row["path"], row["accessed_at"], json.loads(row["metadata"])) for row in rows
        ]
