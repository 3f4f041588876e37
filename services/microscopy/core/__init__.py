"""The microscopy service's domain core: readers, rendering, path guard, explorer.

No gRPC here: every result is a plain dataclass whose fields carry the names of
the proto message it fills (micrographia.microscopy.v1), and every failure is a
`common.errors.ServiceError` (InvalidArgument, NotFound, PermissionDenied, ...).

Typical wiring::

    roots = DataRoots(["/data"])
    readers = ReaderCache(max_readers=16)
    explorer = FileExplorer(roots, readers)

    path = roots.resolve(request_path)          # FORBIDDEN / FILE_NOT_FOUND
    metadata = readers.metadata(path)           # MicroscopyMetadata
    frame = readers.read_frame(path, fov, t, c, z)
    png, width, height, lo, hi = render_png(frame, 0.5, 99.5, max_size=1024)
"""

from .explorer import DirectoryListing, FileEntry, FileExplorer, FileInfo, SearchResult
from .extensions import MICROSCOPY_EXTENSIONS, file_extension, is_microscopy_name
from .features import Feature, FeatureCatalogue, feature_catalogue
from .metadata import TIME_UNIT_FRAME, TIME_UNIT_MINUTES, MicroscopyMetadata
from .paths import DataRoots
from .readers import (
    CZIReader,
    MicroscopyReader,
    ND2Reader,
    ReaderCache,
    TiffReader,
    detect_file_type,
    open_reader,
)
from .render import RenderedFrame, render_png

__all__ = [
    "MICROSCOPY_EXTENSIONS",
    "TIME_UNIT_FRAME",
    "TIME_UNIT_MINUTES",
    "CZIReader",
    "DataRoots",
    "DirectoryListing",
    "Feature",
    "FeatureCatalogue",
    "FileEntry",
    "FileExplorer",
    "FileInfo",
    "MicroscopyMetadata",
    "MicroscopyReader",
    "ND2Reader",
    "ReaderCache",
    "RenderedFrame",
    "SearchResult",
    "TiffReader",
    "detect_file_type",
    "feature_catalogue",
    "file_extension",
    "is_microscopy_name",
    "open_reader",
    "render_png",
]
