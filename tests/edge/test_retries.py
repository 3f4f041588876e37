"""Retries only where they are safe: idempotent reads are retried on
UNAVAILABLE, anything that changes state runs once per call."""

from __future__ import annotations

import time
import uuid
from collections import Counter

import grpc
import pytest
from google.protobuf import descriptor_pool
from grpc import aio

from common.channels import IDEMPOTENT_READS, open_channel
from micrographia.slides.v1 import slides_pb2 as pb
from micrographia.slides.v1 import slides_pb2_grpc
from tests.edge.conftest import hung_service
from tests.slides.conftest import write_aperio_svs

SLIDES = "micrographia.slides.v1.SlidesService"


def test_the_rpcs_marked_idempotent_in_the_protos_are_reads_and_none_changes_state():
    pool = descriptor_pool.Default()
    for service, methods in IDEMPOTENT_READS.items():
        names = {method.name for method in pool.FindServiceByName(service).methods}
        for method in methods:
            assert method in names, f"{service}/{method}"
            assert not method.startswith(("Delete", "Start", "Cancel", "Upload", "Analyze"))
        if "WatchJob" in names:  # a job service: its job reads are marked, its cancel not
            assert {"GetJob", "ListJobs"} <= set(methods), service
            assert "CancelJob" not in methods, service
    assert "GetSlide" in IDEMPOTENT_READS[SLIDES]
    assert "LoadMetadata" in IDEMPOTENT_READS["micrographia.microscopy.v1.MicroscopyService"]


async def _calls_against_an_unavailable_peer(method: str, request) -> int:
    """How many times `method` reaches a real server that answers UNAVAILABLE."""
    calls: Counter[str] = Counter()

    def handler(name: str, response_class):
        async def unavailable(request, context: aio.ServicerContext):
            calls[name] += 1
            await context.abort(grpc.StatusCode.UNAVAILABLE, "restarting")

        return grpc.unary_unary_rpc_method_handler(
            unavailable,
            request_deserializer=type(request).FromString,
            response_serializer=response_class.SerializeToString,
        )

    server = aio.server()
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(
                SLIDES,
                {
                    "GetSlide": handler("GetSlide", pb.GetSlideResponse),
                    "DeleteSlide": handler("DeleteSlide", pb.DeleteSlideResponse),
                },
            )
        ]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = open_channel(f"127.0.0.1:{port}", None)
    try:
        stub = slides_pb2_grpc.SlidesServiceStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            await getattr(stub, method)(request, timeout=10)
        assert raised.value.code() is grpc.StatusCode.UNAVAILABLE
    finally:
        await channel.close()
        await server.stop(None)
    return calls[method]


def test_reads_are_retried_and_deletes_are_not(loop_thread):
    slide_id = str(uuid.uuid4())
    get = pb.GetSlideRequest(slide_id=slide_id)
    assert loop_thread.run(_calls_against_an_unavailable_peer("GetSlide", get)) == 3
    delete = pb.DeleteSlideRequest(slide_id=slide_id)
    assert loop_thread.run(_calls_against_an_unavailable_peer("DeleteSlide", delete)) == 1


@pytest.mark.slow
def test_delete_slide_with_spatial_hung_is_one_503(platform, edge, tmp_path):
    """Spatial's port accepts connections and never answers (as a SIGSTOPped
    process does): slides waits its peer deadline once and answers 503; with
    retries it ran three times and the edge gave up with 504."""
    slide_path = write_aperio_svs(tmp_path / "hung.svs", 600, 400)
    with slide_path.open("rb") as file:
        uploaded = edge.post("/api/slides/upload", files={"file": ("hung.svs", file)})
    assert uploaded.status_code == 201, uploaded.text
    slide_id = uploaded.json()["id"]
    with hung_service(platform, "spatial"):
        response = edge.delete(f"/api/slides/{slide_id}", timeout=60)
    assert response.status_code == 503, response.text
    assert response.json()["error_code"] == "SERVICE_UNAVAILABLE"
    assert "spatial" in response.json()["error"]
    assert edge.get(f"/api/slides/{slide_id}").status_code == 200  # nothing was deleted
    deadline = time.monotonic() + 15  # slides reconnects to the restarted spatial
    while (status := edge.delete(f"/api/slides/{slide_id}").status_code) == 503:
        assert time.monotonic() < deadline, "slides did not reach spatial again"
        time.sleep(0.2)
    assert status == 204
