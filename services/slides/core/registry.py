"""The slides registry in PostgreSQL (table `slides`, migrations/0001_slides.sql).

Queries name the table unqualified: the pool resolves it through its
search_path, which common/db.create_pool(schema="slides") sets.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from common.errors import NotFound

from .ids import parse_slide_id
from .models import SlideLevel, SlideRecord

_COLUMNS = (
    "id, filename, stored_path, mpp, mpp_y, width_px, height_px, vendor, "
    "objective_power, level_count, levels, size_bytes, created_at"
)


def _levels_json(levels: tuple[SlideLevel, ...]) -> str:
    return json.dumps(
        [{"width": lv.width, "height": lv.height, "downsample": lv.downsample} for lv in levels]
    )


def _levels(text: str) -> tuple[SlideLevel, ...]:
    # asyncpg hands jsonb over as its text unless a codec is registered.
    return tuple(SlideLevel(**level) for level in json.loads(text))


def _record(row: asyncpg.Record) -> SlideRecord:
    return SlideRecord(
        id=str(row["id"]),
        filename=row["filename"],
        stored_path=row["stored_path"],
        size_bytes=row["size_bytes"],
        vendor=row["vendor"],
        width_px=row["width_px"],
        height_px=row["height_px"],
        level_count=row["level_count"],
        levels=_levels(row["levels"]),
        mpp=row["mpp"],
        mpp_y=row["mpp_y"],
        objective_power=row["objective_power"],
        created_at=row["created_at"],
    )


class SlideRegistry:
    """Insert, fetch, list and delete slide rows through an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def insert(self, record: SlideRecord) -> SlideRecord:
        """Store a new slide; returns it with the database's created_at.

        asyncpg.UniqueViolationError if the id or stored path is taken (ids
        are random UUIDs, so that means a bug, not a user error).
        """
        row = await self._pool.fetchrow(
            f"""INSERT INTO slides (id, filename, stored_path, mpp, mpp_y, width_px,
                    height_px, vendor, objective_power, level_count, levels, size_bytes)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                RETURNING {_COLUMNS}""",
            *_insert_values(record),
        )
        return _record(row)

    async def get(self, slide_id: str) -> SlideRecord:
        """The slide; InvalidArgument for a malformed id, NotFound if absent."""
        canonical = parse_slide_id(slide_id)
        row = await self._pool.fetchrow(f"SELECT {_COLUMNS} FROM slides WHERE id = $1", canonical)
        if row is None:
            raise NotFound(f"slide {canonical} not found", slide_id=canonical)
        return _record(row)

    async def list(self) -> list[SlideRecord]:
        """Every slide, newest first."""
        rows = await self._pool.fetch(f"SELECT {_COLUMNS} FROM slides ORDER BY created_at DESC, id")
        return [_record(row) for row in rows]

    async def delete(self, slide_id: str) -> SlideRecord | None:
        """Remove the row; returns what was removed (None if nothing), so the
        caller can remove the files it names."""
        canonical = parse_slide_id(slide_id)
        row = await self._pool.fetchrow(
            f"DELETE FROM slides WHERE id = $1 RETURNING {_COLUMNS}", canonical
        )
        return _record(row) if row is not None else None


def _insert_values(record: SlideRecord) -> tuple[Any, ...]:
    return (
        parse_slide_id(record.id),
        record.filename,
        record.stored_path,
        record.mpp,
        record.mpp_y,
        record.width_px,
        record.height_px,
        record.vendor,
        record.objective_power,
        record.level_count,
        _levels_json(record.levels),
        record.size_bytes,
    )
