"""The protos: generated code is fresh, and every file follows the house rules."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2
from grpc_tools import protoc

from scripts.gen_protos import PROTO_ROOT, generate
from tests.conftest import REPO_ROOT

SERVICES = ("microscopy", "analysis", "slides", "inference", "spatial")


def test_generated_code_is_not_stale(tmp_path):
    fresh = {path.relative_to(tmp_path): path.read_bytes() for path in generate(tmp_path)}
    committed_root = REPO_ROOT / "micrographia"
    committed = {
        path.relative_to(REPO_ROOT): path.read_bytes()
        for path in committed_root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert set(fresh) == set(committed), "generated files differ: run `make protos`"
    stale = [str(path) for path, content in fresh.items() if committed[path] != content]
    assert not stale, f"stale generated code, run `make protos`: {stale}"


@pytest.fixture(scope="module")
def descriptor_set(tmp_path_factory) -> descriptor_pb2.FileDescriptorSet:
    out = tmp_path_factory.mktemp("descriptors") / "all.pb"
    files = [str(path.relative_to(PROTO_ROOT)) for path in sorted(PROTO_ROOT.rglob("*.proto"))]
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{resources.files('grpc_tools') / '_proto'}",
        "--include_source_info",
        f"--descriptor_set_out={out}",
        *files,
    ]
    assert protoc.main(args) == 0
    return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def _ours(descriptor_set) -> list[descriptor_pb2.FileDescriptorProto]:
    return [f for f in descriptor_set.file if f.name.startswith("micrographia/")]


def test_layout_and_packages(descriptor_set):
    files = {f.name: f for f in _ours(descriptor_set)}
    expected = {f"micrographia/{name}/v1/{name}.proto" for name in (*SERVICES, "common")}
    assert set(files) == expected
    for name, proto in files.items():
        service = Path(name).stem
        assert proto.package == f"micrographia.{service}.v1"
        assert len(proto.service) == (0 if service == "common" else 1), "one service per file"


def test_rpc_naming(descriptor_set):
    for proto in _ours(descriptor_set):
        for service in proto.service:
            for method in service.method:
                assert method.input_type.endswith(f".{method.name}Request"), method.name
                if method.name == "WatchJob":  # streams the Job itself
                    assert method.output_type == ".micrographia.common.v1.Job"
                else:
                    assert method.output_type.endswith(f".{method.name}Response"), method.name


def test_enums_start_with_unspecified_zero(descriptor_set):
    for proto in _ours(descriptor_set):
        enums = list(proto.enum_type) + [e for m in proto.message_type for e in m.enum_type]
        for enum in enums:
            first = enum.value[0]
            assert first.number == 0 and first.name.endswith("_UNSPECIFIED"), enum.name


def _documented_paths(proto: descriptor_pb2.FileDescriptorProto) -> set[tuple[int, ...]]:
    return {
        tuple(location.path)
        for location in proto.source_code_info.location
        if location.leading_comments.strip() or location.trailing_comments.strip()
    }


def test_every_service_rpc_message_field_and_enum_value_is_documented(descriptor_set):
    # Source-info path numbers: FileDescriptorProto.message_type = 4, .enum_type = 5,
    # .service = 6; DescriptorProto.field = 2; EnumDescriptorProto.value = 2;
    # ServiceDescriptorProto.method = 2.
    missing: list[str] = []
    for proto in _ours(descriptor_set):
        documented = _documented_paths(proto)

        def need(path: tuple[int, ...], what: str, documented=documented, proto=proto) -> None:
            if path not in documented:
                missing.append(f"{proto.name}: {what}")

        for s, service in enumerate(proto.service):
            need((6, s), f"service {service.name}")
            for m, method in enumerate(service.method):
                need((6, s, 2, m), f"rpc {service.name}.{method.name}")
        for e, enum in enumerate(proto.enum_type):
            for v, value in enumerate(enum.value):
                need((5, e, 2, v), f"enum value {value.name}")
        for i, message in enumerate(proto.message_type):
            need((4, i), f"message {message.name}")
            for f, field in enumerate(message.field):
                need((4, i, 2, f), f"field {message.name}.{field.name}")
    assert not missing, "undocumented:\n" + "\n".join(missing)
