"""Domain core of the slides service: whole-slide images on disk, read with OpenSlide.

No gRPC or HTTP here. `SlideLibrary` is the entry point; the modules below it
each do one job and can be used alone:

    ids          slide ids (UUIDs) and their strict parsing
    models       the records returned (field names follow slides.proto)
    formats      the upload allow-list; finding the slide file in a folder
    metadata     opening a slide; vendor, levels, mpp, properties, associated images
    handles      the LRU cache of open slides, lent out under leases
    deepzoom     DZI descriptor and JPEG tiles from DeepZoomGenerator
    tile_cache   bounded in-memory LRU of encoded tiles
    thumbnails   JPEG thumbnails cached on disk
    scale        scale bar arithmetic
    regions      clamped RGB region reads, streamed in bounded chunks
    unzip        safe extraction of zipped multi-file slides
    storage      streaming uploads, lookup by id, deletion
    registry     the `slides` table (asyncpg)

Errors are those of common.errors: InvalidArgument (400; code
UNPROCESSABLE_SLIDE -> 422), NotFound (404), FailedPrecondition (400),
ResourceExhausted with code PAYLOAD_TOO_LARGE (413).
"""

from .deepzoom import OVERLAP, TILE_FORMAT, TILE_SIZE, DeepZoomDescriptor, dzi_xml
from .handles import SlideHandle, SlideHandleCache
from .ids import new_slide_id, parse_slide_id
from .library import SlideLibrary, SlidesConfig
from .models import EncodedImage, SlideFacts, SlideLevel, SlideProperties, SlideRecord
from .regions import RegionHeader, RegionStream
from .scale import ASSUMED_MPP, ScaleBar, pixel_size, scale_bar
from .storage import SlideStore, Upload, receive_upload, sanitize_filename
from .thumbnails import Thumbnail
from .tile_cache import TileCache, TileKey

__all__ = [
    "ASSUMED_MPP",
    "OVERLAP",
    "TILE_FORMAT",
    "TILE_SIZE",
    "DeepZoomDescriptor",
    "EncodedImage",
    "RegionHeader",
    "RegionStream",
    "ScaleBar",
    "SlideFacts",
    "SlideHandle",
    "SlideHandleCache",
    "SlideLevel",
    "SlideLibrary",
    "SlideProperties",
    "SlideRecord",
    "SlideStore",
    "SlidesConfig",
    "Thumbnail",
    "TileCache",
    "TileKey",
    "Upload",
    "dzi_xml",
    "new_slide_id",
    "parse_slide_id",
    "pixel_size",
    "receive_upload",
    "sanitize_filename",
    "scale_bar",
]
