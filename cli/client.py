"""The edge's REST/SSE API over HTTP: one place that sends the API key, reads
both documented error shapes and turns network trouble into `CliError`s."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import httpx
import httpx_sse

from cli.errors import ApiError, CliError, EdgeUnreachable

DEFAULT_URL = "http://127.0.0.1:8000"
# Ordinary calls answer within the edge's own backend deadline (30 s by default).
REQUEST_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
# Streams send a keep-alive at least every 15 s, so a minute of silence is a dead edge.
STREAM_TIMEOUT = httpx.Timeout(60.0, connect=5.0, write=None)
DOWNLOAD_CHUNK = 1 << 16

Event = tuple[str, Any]


def error_from_response(response: httpx.Response) -> ApiError:
    """PyAMA's body (`error_code`, `error`, `details`) or Slidekick's (`detail`)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        text = response.text.strip()[:200] or response.reason_phrase
        return ApiError(response.status_code, f"HTTP_{response.status_code}", text)
    detail = body.get("detail")
    message = body.get("error") or (detail if isinstance(detail, str) else None)
    if message is None:
        message = json.dumps(detail) if detail is not None else response.reason_phrase
    code = body.get("error_code") or f"HTTP_{response.status_code}"
    return ApiError(response.status_code, code, message, body.get("details") or {})


def payload(body: Any) -> Any:
    """PyAMA's success envelope unwrapped to its `data`; Slidekick bodies as they are."""
    if isinstance(body, dict) and body.get("success") is True and "data" in body:
        return body["data"]
    return body


class ProgressReader:
    """A file whose reads advance a progress callback; httpx streams it in chunks."""

    def __init__(self, file: BinaryIO, advance: Callable[[int], None]) -> None:
        self._file = file
        self._advance = advance

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        self._advance(len(data))
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def fileno(self) -> int:  # httpx sizes the body from it (Content-Length, no chunking)
        return self._file.fileno()


class EdgeClient:
    def __init__(self, url: str = DEFAULT_URL, api_key: str | None = None) -> None:
        self.url = url.rstrip("/")
        headers = {"User-Agent": "micrographia-cli"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=REQUEST_TIMEOUT)

    def close(self) -> None:
        self._http.close()

    @contextmanager
    def _network_errors(self) -> Iterator[None]:
        try:
            yield
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise EdgeUnreachable(self.url, str(error) or type(error).__name__) from None
        except httpx.TimeoutException:
            raise CliError("TIMEOUT", f"the edge at {self.url} stopped answering") from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as error:
            raise CliError(
                "CONNECTION_LOST", f"the connection to {self.url} broke: {error}"
            ) from None

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The response to one call; ApiError for any non-2xx answer."""
        with self._network_errors():
            response = self._http.request(method, path, **kwargs)
        if response.is_error:
            raise error_from_response(response)
        return response

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON answer of one call, PyAMA's envelope unwrapped (None for 204)."""
        response = self.request(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        return payload(response.json())

    def events(self, method: str, path: str, **kwargs: Any) -> Iterator[Event]:
        """The (name, data) events of an SSE stream. An `error` event raises ApiError;
        keep-alive comments are skipped."""
        with (
            self._network_errors(),
            httpx_sse.connect_sse(
                self._http, method, path, timeout=STREAM_TIMEOUT, **kwargs
            ) as source,
        ):
            response = source.response
            if response.is_error:
                response.read()
                raise error_from_response(response)
            for event in source.iter_sse():
                data = event.json() if event.data else None
                if event.event == "error":
                    body = data if isinstance(data, dict) else {}
                    raise ApiError(
                        200,
                        body.get("error_code") or "STREAM_ERROR",
                        body.get("error") or str(data),
                        body.get("details") or {},
                    )
                yield event.event, data

    def download(self, path: str, destination: Path, **kwargs: Any) -> httpx.Headers:
        """Stream a body into `destination` through a temporary file, renamed into place
        once whole; returns the response headers."""
        destination = destination.resolve()
        with self._network_errors(), self._http.stream("GET", path, **kwargs) as response:
            if response.is_error:
                response.read()
                raise error_from_response(response)
            handle, temporary = tempfile.mkstemp(
                dir=destination.parent, prefix=f".{destination.name}.", suffix=".part"
            )
            try:
                with os.fdopen(handle, "wb") as out:
                    for chunk in response.iter_bytes(DOWNLOAD_CHUNK):
                        out.write(chunk)
                os.replace(temporary, destination)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        return response.headers

    def upload(self, path: str, file: Path, advance: Callable[[int], None] = lambda n: None) -> Any:
        """POST `file` as multipart field `file`, streamed from disk in chunks."""
        with file.open("rb") as handle:
            reader = ProgressReader(handle, advance)
            files = {"file": (file.name, reader, "application/octet-stream")}
            response = self.request("POST", path, files=files, timeout=STREAM_TIMEOUT)
        return payload(response.json())
