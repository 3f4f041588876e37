"""The streaming multipart reader: a file part comes out byte-exact, however
the body is split on the wire, and before the body has been read whole."""

from __future__ import annotations

import os

import pytest
from starlette.requests import Request

from edge.errors import ApiError
from edge.multipart import MultipartFile

BOUNDARY = "----micrographia-test-boundary"


def multipart_body(fields: list[tuple[str, str | None, bytes]]) -> bytes:
    parts = []
    for name, filename, content in fields:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        parts.append(
            f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def request_for(body: bytes, piece: int, reads: list[int] | None = None) -> Request:
    chunks = [body[i : i + piece] for i in range(0, len(body), piece)]

    async def receive():
        if reads is not None:
            reads.append(1)
        chunk = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/slides/upload",
        "headers": [(b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode())],
    }
    return Request(scope, receive)


async def read_all(upload: MultipartFile) -> tuple[str, bytes]:
    name = await upload.open()
    return name, b"".join([chunk async for chunk in upload.chunks()])


@pytest.mark.parametrize("piece", [1, 7, 4096, 1 << 20])
async def test_file_part_is_byte_exact_whatever_the_split(piece):
    content = os.urandom(50_000) + f"\r\n--{BOUNDARY[:-3]}".encode() + os.urandom(1000)
    body = multipart_body([("note", None, b"hello"), ("file", "slide.svs", content)])
    name, data = await read_all(MultipartFile(request_for(body, piece), "file"))
    assert name == "slide.svs"
    assert data == content


async def test_chunks_arrive_before_the_body_is_read_whole():
    content = os.urandom(1 << 20)
    body = multipart_body([("file", "big.svs", content)])
    reads: list[int] = []
    upload = MultipartFile(request_for(body, 64 * 1024, reads), "file")
    await upload.open()
    first = await anext(upload.chunks())
    assert first and len(reads) < 4, "streamed, not buffered"


async def test_missing_field_and_wrong_content_type_are_clear_errors():
    body = multipart_body([("other", "x.svs", b"data")])
    with pytest.raises(ApiError, match="No form field named 'file'"):
        await MultipartFile(request_for(body, 100), "file").open()

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"content-type", b"application/json")],
    }
    with pytest.raises(ApiError, match="multipart/form-data"):
        MultipartFile(Request(scope), "file")


async def test_a_malformed_body_is_a_clear_400_error():
    body = multipart_body([("file", "x.svs", b"data")])
    broken = body.replace(b"\r\n\r\n", b"\r\nno header end\x00\r\n", 1)
    with pytest.raises(ApiError, match="Malformed multipart body") as raised:
        await read_all(MultipartFile(request_for(broken, 64), "file"))
    assert raised.value.status_code == 400


@pytest.mark.parametrize(
    "cut",
    [
        "in the file's bytes",
        "after the file's bytes",
        "after the part's boundary",
        "inside the next part",
        "before the last two dashes",
    ],
)
@pytest.mark.parametrize("piece", [5, 4096])
async def test_a_body_without_its_closing_boundary_is_incomplete(cut: str, piece: int):
    content = os.urandom(20_000)
    body = multipart_body([("file", "slide.svs", content), ("note", None, b"hello")])
    end_of_file = body.index(content) + len(content)
    cut_at = {
        "in the file's bytes": end_of_file - 1000,
        "after the file's bytes": end_of_file + 2,
        "after the part's boundary": end_of_file + 2 + len(f"--{BOUNDARY}\r\n"),
        "inside the next part": body.index(b"hello") + 2,
        "before the last two dashes": len(body) - len("--\r\n"),
    }[cut]
    upload = MultipartFile(request_for(body[:cut_at], piece), "file")
    with pytest.raises(ApiError, match="before its closing boundary") as raised:
        await read_all(upload)
    assert raised.value.status_code == 400


async def test_fields_after_the_file_are_read_past_up_to_the_closing_boundary():
    content = os.urandom(10_000)
    body = multipart_body([("file", "slide.svs", content), ("note", None, b"x" * 5000)])
    name, data = await read_all(MultipartFile(request_for(body, 999), "file"))
    assert (name, data) == ("slide.svs", content)


async def test_a_browser_escaped_quote_in_the_file_name_is_a_quote():
    """Browsers send `"` in a file name as %22 (the HTML form encoding); other
    percent signs are the name's own."""
    body = multipart_body([("file", "my %22best%22 slide 100%.svs", b"x")])
    name, _ = await read_all(MultipartFile(request_for(body, 4096), "file"))
    assert name == 'my "best" slide 100%.svs'
