"""Which files are slides: the upload allow-list and finding a slide in a folder."""

from __future__ import annotations

import os
from pathlib import Path

from common.errors import UNPROCESSABLE_SLIDE, InvalidArgument

# The contract's allow-list (spec/slidekick-api.md, POST /api/slides/upload).
SLIDE_EXTENSIONS = (".svs", ".ndpi", ".mrxs", ".tiff", ".tif", ".vms", ".scn", ".bif")
# Formats whose slide is a main file plus companion files; they arrive zipped.
MULTI_FILE_EXTENSIONS = (".mrxs", ".vms")
ARCHIVE_EXTENSION = ".zip"
UPLOAD_EXTENSIONS = (*SLIDE_EXTENSIONS, ARCHIVE_EXTENSION)
# What an upload's own name may end with (a multi-file format only inside a .zip);
# clients offer this list (GetUploadFormats).
ACCEPTED_UPLOAD_EXTENSIONS = tuple(
    extension for extension in UPLOAD_EXTENSIONS if extension not in MULTI_FILE_EXTENSIONS
)


def _is_noise(relative: Path) -> bool:
    """Archive debris that is never the slide: macOS resource forks, hidden files."""
    return any(part == "__MACOSX" or part.startswith(".") for part in relative.parts)


def find_main_slide_file(folder: Path) -> Path:
    """The one slide file in `folder` (searched recursively, links not followed).

    A MIRAX or VMS folder holds exactly one .mrxs/.vms beside data files whose
    extensions are not slide extensions, and a zipped single-file slide holds
    just that file, so exactly one candidate is expected. None or several is
    InvalidArgument(UNPROCESSABLE_SLIDE) naming what was found.
    """
    candidates = []
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(root) / name
            if path.suffix.lower() in SLIDE_EXTENSIONS and not _is_noise(path.relative_to(folder)):
                candidates.append(path)
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise InvalidArgument(
            f"the archive holds no slide file (looked for {', '.join(SLIDE_EXTENSIONS)})",
            code=UNPROCESSABLE_SLIDE,
        )
    names = ", ".join(sorted(str(path.relative_to(folder)) for path in candidates))
    raise InvalidArgument(
        f"the archive holds several slide files ({names}); upload one slide per archive",
        code=UNPROCESSABLE_SLIDE,
    )
