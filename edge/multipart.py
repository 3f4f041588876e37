"""Stream one file field out of a multipart/form-data request as it arrives.

FastAPI's `UploadFile` spools the whole body to disk before the route runs;
a 10 GiB slide would be written twice and the size limit learnt only at the
end. This parser hands each piece of the file on as soon as it is read, so the
edge forwards uploads chunk by chunk and stops reading the moment the backend
refuses them.

A file is whole only once the body's closing boundary has arrived: a body cut
short (a client or proxy that gave up) ends the stream with an error, so the
slides service discards the upload instead of storing the truncated bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MAX_BOUNDARY_LENGTH, MultipartParser, parse_options_header
from starlette.requests import Request

from common import errors
from edge.errors import ApiError

# What may follow the file part (small form fields) before the closing boundary.
MAX_TRAILING_BYTES = 1024 * 1024


@dataclass
class _PartState:
    header_field: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    disposition: bytes = b""
    target: bool = False


class MultipartFile:
    """The first part named `field_name`: its filename, then its bytes in order."""

    def __init__(self, request: Request, field_name: str = "file") -> None:
        content_type, params = parse_options_header(request.headers.get("content-type"))
        boundary = params.get(b"boundary")
        if content_type != b"multipart/form-data" or not boundary:
            raise ApiError(400, errors.INVALID_PARAMETERS, "Expected a multipart/form-data body")
        if len(boundary) > MAX_BOUNDARY_LENGTH:
            raise ApiError(
                400,
                errors.INVALID_PARAMETERS,
                f"The multipart boundary is longer than {MAX_BOUNDARY_LENGTH} characters",
            )
        self._request = request
        self._field_name = field_name.encode()
        self._part = _PartState()
        self._found = False
        self._file_done = False
        self._body_done = False  # the closing boundary was seen
        self.filename: str | None = None
        self._pending: list[bytes] = []
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._on_part_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
                "on_end": self._on_end,
            },
        )
        self._body = request.stream()

    # Parser callbacks ------------------------------------------------------

    def _on_part_begin(self) -> None:
        self._part = _PartState()

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._part.header_field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._part.header_value += data[start:end]

    def _on_header_end(self) -> None:
        if bytes(self._part.header_field).lower() == b"content-disposition":
            self._part.disposition = bytes(self._part.header_value)
        self._part.header_field.clear()
        self._part.header_value.clear()

    def _on_headers_finished(self) -> None:
        _, params = parse_options_header(self._part.disposition)
        if not self._found and params.get(b"name") == self._field_name:
            self._found = True
            self._part.target = True
            self.filename = _browser_filename(params.get(b"filename", b""))

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part.target:
            self._pending.append(bytes(data[start:end]))

    def _on_part_end(self) -> None:
        if self._part.target:
            self._file_done = True

    def _on_end(self) -> None:
        self._body_done = True

    # Reading ----------------------------------------------------------------

    async def _feed(self) -> int | None:
        """Parse the next piece of the body; its size, or None at the body's end."""
        chunk = await anext(self._body, None)
        try:
            if chunk is None:
                self._parser.finalize()
                return None
            self._parser.write(chunk)
        except MultipartParseError as error:
            raise ApiError(
                400, errors.INVALID_PARAMETERS, f"Malformed multipart body: {error}"
            ) from None
        return len(chunk)

    async def open(self) -> str:
        """Read until the file part's headers; returns its filename."""
        while not self._found:
            if await self._feed() is None:
                raise ApiError(
                    400,
                    errors.INVALID_PARAMETERS,
                    f"No form field named '{self._field_name.decode()}'",
                )
        return self.filename or ""

    async def chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes, as they arrive; ApiError(400) when the body ends before
        its closing boundary, so a consumer never takes a cut-short file for whole."""
        while True:
            while self._pending:
                yield self._pending.pop(0)
            if self._file_done:
                break
            if await self._feed() is None:
                raise _incomplete()
        trailing = 0
        while not self._body_done:
            size = await self._feed()
            if size is None:
                raise _incomplete()
            trailing += size
            if trailing > MAX_TRAILING_BYTES:
                raise ApiError(
                    400,
                    errors.INVALID_PARAMETERS,
                    f"More than {MAX_TRAILING_BYTES} bytes follow the file part",
                )


def _incomplete() -> ApiError:
    return ApiError(
        400,
        errors.INVALID_PARAMETERS,
        "The multipart body ended before its closing boundary: the upload is incomplete",
    )


def _browser_filename(raw: bytes) -> str:
    """The file name a browser meant, from the `filename` parameter it sent.

    Browsers write a name's `"` as %22 in a multipart Content-Disposition (the
    HTML standard's form encoding; CR and LF, as %0D and %0A, are left encoded:
    no file name needs them). Any other "%" is the name's own."""
    return raw.replace(b"%22", b'"').decode("utf-8", "replace")
