"""No internal detail in what users read: job messages, SSE events, error bodies
and MCP errors name the service and the problem, never an address, an RPC path
or an exception representation (common/public_text.py is the one rule)."""

from __future__ import annotations

import asyncio
import json
import re
import time

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from mcp import Client

from common.public_text import INTERNAL, public_text
from common.rpc_errors import RpcFailure
from tests.edge.conftest import wait_until_the_edge_reaches
from tests.harness import free_port
from tests.inference.synthetic import write_small_slide

# What must never reach a user.
INTERNAL_DETAIL = re.compile(
    r"ipv[46]:|unix:|\b127\.0\.0\.1\b|\[::1\]|/micrographia\.|/grpc\.|Traceback|"
    r"RpcError|debug_error_string|\w+Error\(| at 0x"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "connections to all backends failing; last error: UNKNOWN: "
            "ipv4:127.0.0.1:51053: Failed to connect to remote host",
            f"connections to all backends failing; last error: UNKNOWN: {INTERNAL} "
            "Failed to connect to remote host",
        ),
        ("Method not found: /micrographia.inference.v1.InferenceService/Segment", None),
        ("crashed: ConnectionRefusedError(111, 'Connect call failed')", None),
        ("peer [::1]:50051 and 10.0.3.7:5432 and localhost:8000", None),
        ("Traceback (most recent call last):\n  File x, line 1", None),
    ],
)
def test_public_text_removes_internal_detail(text, expected):
    public = public_text(text)
    assert not INTERNAL_DETAIL.search(public), public
    assert INTERNAL in public
    if expected is not None:
        assert public == expected


@pytest.mark.parametrize(
    "text", ["Processing batch 3/12", "file /data/exp.nd2 not found", "level must be 0 or more"]
)
def test_public_text_keeps_what_users_need(text):
    assert public_text(text) == text


def test_a_call_that_reaches_no_service_reads_back_in_words():
    async def call() -> RpcFailure:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{free_port()}") as channel:
            try:
                await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=5
                )
            except grpc.RpcError as error:
                return RpcFailure.from_error(error)
        raise AssertionError("the call succeeded")

    failure = asyncio.run(call())
    assert failure.grpc_code is grpc.StatusCode.UNAVAILABLE
    assert failure.message == "the service could not be reached"
    assert "127.0.0.1" in failure.internal_message  # kept for the logs


def _events(client: httpx.Client, path: str) -> list[tuple[str, str]]:
    events, name = [], "message"
    with client.stream("GET", path, timeout=120) as response:
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name, line.removeprefix("data: ")))
    return events


@pytest.mark.slow
def test_a_whole_slide_job_that_loses_its_inference_service_says_so_plainly(platform, tmp_path):
    """The issue's case: a region fails because no inference replica answers."""
    with httpx.Client(base_url=platform.base_url, timeout=60) as edge:
        path = write_small_slide(tmp_path / "lost.svs")
        with path.open("rb") as file:
            slide_id = edge.post("/api/slides/upload", files={"file": (path.name, file)}).json()[
                "id"
            ]
        # Whole-slide jobs wait out an outage (300 s by default); a second here.
        analyses = platform.runners["spatial"].service.slide_analyses
        settings = analyses.settings
        analyses.settings = settings.model_copy(update={"slide_analysis_unavailable_retry_s": 1})
        platform.stop_service("inference")
        try:
            started = edge.post(
                "/api/slide-analysis/start", json={"slide_id": slide_id, "region_size": 256}
            )
            assert started.status_code == 202, started.text
            job_id = started.json()["job_id"]
            events = _events(edge, f"/api/slide-analysis/events/{job_id}")
            deadline = time.monotonic() + 60
            while (status := edge.get(f"/api/slide-analysis/status/{job_id}").json())[
                "status"
            ] not in ("failed", "completed", "cancelled"):
                assert time.monotonic() < deadline
                time.sleep(0.2)

            async def mcp_error() -> str:
                async with Client(f"{platform.base_url}/mcp") as client:
                    answer = await client.call_tool(
                        "analyze_region",
                        {"slide_id": slide_id, "x": 0, "y": 0, "width": 64, "height": 64},
                    )
                    assert answer.is_error
                    return answer.content[0].text

            tool_error = asyncio.run(mcp_error())
        finally:
            analyses.settings = settings
            platform.start_service("inference")
            wait_until_the_edge_reaches(platform, "inference")
            edge.delete(f"/api/slides/{slide_id}")

    assert status["status"] == "failed"
    said = json.dumps(status)
    assert "inference service" in said, said
    assert not INTERNAL_DETAIL.search(said), said
    for name, data in events:
        assert not INTERNAL_DETAIL.search(data), (name, data)
    assert "inference" in tool_error and not INTERNAL_DETAIL.search(tool_error), tool_error
