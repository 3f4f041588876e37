"""The core is importable as one package, free of gRPC, and its dataclasses carry the
field names of the proto messages they fill."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

import services.microscopy.core as core

REPO = Path(__file__).resolve().parents[2]
PROTO = REPO / "protos" / "micrographia" / "microscopy" / "v1" / "microscopy.proto"


def proto_fields(message: str) -> list[str]:
    text = PROTO.read_text()
    body = re.search(rf"message {message} \{{(.*?)\n\}}", text, re.S)
    assert body, message
    return re.findall(r"^\s*(?:optional |repeated )?[\w.]+ (\w+) = \d+;", body.group(1), re.M)


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (core.MicroscopyMetadata, "MicroscopyMetadata"),
        (core.FileEntry, "FileEntry"),
        (core.DirectoryListing, "ListDirectoryResponse"),
        (core.SearchResult, "SearchFilesResponse"),
        (core.FileInfo, "GetFileInfoResponse"),
        (core.Feature, "Feature"),
        (core.FeatureCatalogue, "ListFeaturesResponse"),
    ],
)
def test_dataclass_fields_are_the_proto_fields(cls, message: str) -> None:
    assert [f.name for f in dataclasses.fields(cls)] == proto_fields(message)


def test_rendered_frame_fields_are_the_proto_fields() -> None:
    assert list(core.RenderedFrame._fields) == proto_fields("RenderFrameResponse")


def test_core_imports_no_grpc() -> None:
    code = (
        "import sys, services.microscopy.core; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('grpc', 'fastapi')]; "
        "sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0
