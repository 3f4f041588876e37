"""Small helpers for the end-to-end tests: call the real edge, unwrap the documented
envelope, check the documented error body; reach the real service over gRPC."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import httpx

from micrographia.microscopy.v1 import microscopy_pb2_grpc


def data_of(response: httpx.Response) -> Any:
    """`data` of a successful envelope (asserting the envelope's shape)."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True, body
    return body["data"]


def post(edge: httpx.Client, route: str, **body: Any) -> Any:
    return data_of(edge.post(f"/api/processing/{route}", json=body))


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The documented error body, after checking its status and code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error_code"] == code, body
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["details"], dict)
    return body


@contextmanager
def microscopy_stub(address: str) -> Iterator[microscopy_pb2_grpc.MicroscopyServiceStub]:
    """A blocking stub of the microscopy service, as another service would hold one."""
    size = 64 * 1024 * 1024
    options = [("grpc.max_receive_message_length", size), ("grpc.max_send_message_length", size)]
    with grpc.insecure_channel(address, options=options) as channel:
        yield microscopy_pb2_grpc.MicroscopyServiceStub(channel)
