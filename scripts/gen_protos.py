"""Generate the Python gRPC code for every proto under protos/.

Usage: python scripts/gen_protos.py [OUT_DIR]   (default: the repository root)

The output is importable as micrographia.<service>.v1.<service>_pb2; every
package level gets an empty __init__.py so the tree is a regular package.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"


def proto_files() -> list[Path]:
    return sorted(PROTO_ROOT.rglob("*.proto"))


def generate(out_dir: Path) -> list[Path]:
    """Run protoc over all protos into out_dir; return the generated files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [str(path.relative_to(PROTO_ROOT)) for path in proto_files()]
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        # google/protobuf/*.proto ship inside grpc_tools.
        f"-I{resources.files('grpc_tools') / '_proto'}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    package_root = out_dir / "micrographia"
    for folder in [package_root, *(p for p in package_root.rglob("*") if p.is_dir())]:
        if folder.name != "__pycache__":
            (folder / "__init__.py").touch()
    return sorted(p for p in package_root.rglob("*.py*") if "__pycache__" not in p.parts)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT
    for path in generate(target):
        print(path.relative_to(target))
