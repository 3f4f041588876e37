"""GeoJSON FeatureCollections that QuPath imports as detections, streamed.

The features come from PostGIS already as text (store.FEATURE_SQL); this only
frames them, so an export of any size is written chunk by chunk.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

HEAD = b'{"type":"FeatureCollection","features":['
TAIL = b"]}"


async def feature_collection(pages: AsyncIterable[list[str]]) -> AsyncIterator[bytes]:
    """The pages of Feature texts as one FeatureCollection, a chunk per page."""
    yield HEAD
    first = True
    async for page in pages:
        text = ",".join(page)
        yield (text if first else "," + text).encode()
        first = False
    yield TAIL
