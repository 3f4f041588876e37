"""PostGIS geometry over asyncpg's binary protocol.

PostGIS sends and receives geometry as (E)WKB in binary format, so a binary
codec moves WKB straight into COPY and query parameters: no WKT to format or
parse. Values may be WKB bytes (encoded in bulk with shapely beforehand) or
shapely geometries.
"""

from __future__ import annotations

import asyncpg
import shapely


def _encode(value: bytes | shapely.Geometry) -> bytes:
    return value if isinstance(value, bytes | bytearray | memoryview) else shapely.to_wkb(value)


def _decode(data: bytes) -> shapely.Geometry:
    return shapely.from_wkb(data)


async def register_geometry_codec(connection: asyncpg.Connection) -> None:
    """Use on every connection of the spatial pool (asyncpg pool `init`)."""
    await connection.set_type_codec(
        "geometry", schema="public", encoder=_encode, decoder=_decode, format="binary"
    )
