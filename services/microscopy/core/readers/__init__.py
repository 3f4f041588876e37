"""Readers for Nikon ND2, Zeiss CZI and TIFF/OME-TIFF/ImageJ files behind one interface."""

from .base import MicroscopyReader, check_index
from .cache import ReaderCache
from .czi_reader import CZIReader
from .factory import detect_file_type, open_reader
from .nd2_reader import ND2Reader
from .tiff_reader import TiffReader

__all__ = [
    "CZIReader",
    "MicroscopyReader",
    "ND2Reader",
    "ReaderCache",
    "TiffReader",
    "check_index",
    "detect_file_type",
    "open_reader",
]
