"""Nuclei as PostgreSQL binary COPY data, built with numpy.

Binary COPY is a header, then per row a 16-bit field count and each field as a
32-bit length (-1 for NULL) and its bytes, all big-endian; then a trailer.
The fixed-width fields of every row are one numpy structured array; only the
two variable ones (the cell type's name, the contour's WKB) are per-row bytes,
joined once. PostGIS's binary input for geometry is WKB, as the codec's.
"""

from __future__ import annotations

import uuid

import numpy as np

from services.spatial.core.cell_types import CELL_TYPE_NAMES
from services.spatial.core.nuclei import NucleiBatch

# Binary COPY's signature, flags and header extension length; and its trailer.
HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
TRAILER = b"\xff\xff"

# Field order of the rows: the fixed-width fields, then the variable ones.
COLUMNS = (
    "box_id",
    "slide_id",
    "centroid",
    "cell_type",
    "probability",
    "area_um2",
    "perimeter_um",
    "cell_type_name",
    "contour",
)

_WKB_POINT_BYTES = 21

_FIXED = np.dtype(
    [
        ("fields", ">i2"),
        ("box_length", ">i4"),
        ("box_id", "V16"),
        ("slide_length", ">i4"),
        ("slide_id", "V16"),
        ("centroid_length", ">i4"),
        ("centroid", f"V{_WKB_POINT_BYTES}"),
        ("cell_type_length", ">i4"),
        ("cell_type", ">i2"),
        ("probability_length", ">i4"),
        ("probability", ">f4"),
        ("area_length", ">i4"),
        ("area_um2", ">f4"),
        ("perimeter_length", ">i4"),
        ("perimeter_um", ">f4"),
    ]
)

# Each cell type's name as a whole text field: length, then UTF-8.
_NAME_FIELDS = [len(name.encode()).to_bytes(4, "big") + name.encode() for name in CELL_TYPE_NAMES]
_NULL_FIELD = b"\xff\xff\xff\xff"


def nucleus_rows(box_id: uuid.UUID, slide: uuid.UUID, nuclei: NucleiBatch) -> bytes:
    """The rows of `nuclei` (no header or trailer), fields in COLUMNS order."""
    return encode_rows(
        box_id,
        slide,
        nuclei.centroid_wkb(),
        nuclei.cell_type,
        nuclei.probability,
        nuclei.area_um2,
        nuclei.perimeter_um,
        nuclei.contour_wkb(),
    )


def encode_rows(
    box_id: uuid.UUID,
    slide: uuid.UUID,
    centroid_wkb: np.ndarray,
    cell_type: np.ndarray,
    probability: np.ndarray,
    area_um2: np.ndarray,
    perimeter_um: np.ndarray,
    contour_wkb: np.ndarray,
) -> bytes:
    """Rows from columns: centroids as fixed-size WKB (a void array), contours
    as WKB bytes or None."""
    n = len(cell_type)
    fixed = np.empty(n, _FIXED)
    fixed["fields"] = len(COLUMNS)
    fixed["box_length"] = fixed["slide_length"] = 16
    fixed["box_id"] = np.frombuffer(box_id.bytes, "V16")[0]
    fixed["slide_id"] = np.frombuffer(slide.bytes, "V16")[0]
    fixed["centroid_length"] = _WKB_POINT_BYTES
    fixed["centroid"] = centroid_wkb
    fixed["cell_type_length"] = 2
    fixed["cell_type"] = cell_type
    fixed["probability_length"] = fixed["area_length"] = fixed["perimeter_length"] = 4
    fixed["probability"] = probability
    fixed["area_um2"] = area_um2
    fixed["perimeter_um"] = perimeter_um
    names = [_NAME_FIELDS[t] for t in np.asarray(cell_type).tolist()]
    contours = [
        _NULL_FIELD if wkb is None else len(wkb).to_bytes(4, "big") + wkb for wkb in contour_wkb
    ]
    parts: list[bytes] = []
    for row in zip(fixed.view(f"V{_FIXED.itemsize}").tolist(), names, contours, strict=True):
        parts.extend(row)
    return b"".join(parts)
