"""gRPC failures become the documented HTTP statuses and bodies, in one place."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest

from common import errors
from common.jobs import JobContext
from common.rpc_errors import RpcFailure
from edge.errors import BackendError, backend_error_response


@pytest.mark.parametrize(
    ("code", "http"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, 400),
        (grpc.StatusCode.FAILED_PRECONDITION, 400),
        (grpc.StatusCode.OUT_OF_RANGE, 400),
        (grpc.StatusCode.UNAUTHENTICATED, 401),
        (grpc.StatusCode.PERMISSION_DENIED, 403),
        (grpc.StatusCode.NOT_FOUND, 404),
        (grpc.StatusCode.ALREADY_EXISTS, 409),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
        (grpc.StatusCode.UNIMPLEMENTED, 501),
        (grpc.StatusCode.UNAVAILABLE, 503),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 504),
        (grpc.StatusCode.INTERNAL, 500),
        (grpc.StatusCode.UNKNOWN, 500),
    ],
)
def test_grpc_status_maps_to_http_status(code, http):
    response = backend_error_response(BackendError("slides", RpcFailure(code, "X", "m"), 1.0))
    assert response.status_code == http


@pytest.mark.parametrize(
    ("error_code", "http"),
    [(errors.PAYLOAD_TOO_LARGE, 413), (errors.UNPROCESSABLE_SLIDE, 422)],
)
def test_documented_codes_override_the_status(error_code, http):
    failure = RpcFailure(grpc.StatusCode.INVALID_ARGUMENT, error_code, "m", raw_status=b"")
    assert backend_error_response(BackendError("slides", failure)).status_code == http


def _assert_error_body(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error_code"] == code
    assert body["error"] and body["detail"]
    assert isinstance(body["details"], dict)
    return body


def test_unknown_job_is_404_job_not_found(edge):
    response = edge.get(f"/api/processing/workflow/status/{uuid.uuid4()}")
    _assert_error_body(response, 404, "JOB_NOT_FOUND")
    response = edge.post(f"/api/analysis/fitting/cancel/{uuid.uuid4()}")
    _assert_error_body(response, 404, "JOB_NOT_FOUND")


def test_cancelling_a_finished_job_is_400_job_already_completed(platform, edge):
    async def quick(job: JobContext):
        return {}

    async def submit_and_finish():
        runner = platform.runners["microscopy"].service.jobs
        job = await runner.submit("workflow", quick)
        while (await runner.store.get(job.id)).status.value != "completed":
            await asyncio.sleep(0.02)
        return job.id

    job_id = platform.loop.run(submit_and_finish())
    body = _assert_error_body(
        edge.post(f"/api/processing/workflow/cancel/{job_id}"), 400, "JOB_ALREADY_COMPLETED"
    )
    assert "completed" in body["error"]


def test_pyama_validation_errors_are_400_invalid_parameters(edge):
    body = _assert_error_body(
        edge.post("/api/processing/load-metadata", json={}), 400, "INVALID_PARAMETERS"
    )
    assert "file_path" in body["error"]
    _assert_error_body(
        edge.get("/api/processing/recent-files", params={"limit": 0}), 400, "INVALID_PARAMETERS"
    )


def test_slidekick_validation_errors_are_400_with_fastapis_detail(edge):
    response = edge.get("/api/slides/not-a-uuid")
    body = _assert_error_body(response, 400, "INVALID_PARAMETERS")
    assert body["detail"][0]["loc"] == ["path", "slide_id"]


def test_unknown_path_is_a_json_404(edge):
    _assert_error_body(edge.get("/api/nothing/here"), 404, "NOT_FOUND")
