"""Whole-slide analysis over gRPC: real spatial services (jobs in PostgreSQL +
PostGIS), the real slides service, and real inference services on loopback
whose network is the oracle (painted nuclei in, HoVerNet's ideal maps out), so
every nucleus the job stores can be checked against the painted truth.

The painted slide has pink tissue on glass, nuclei across region borders and
corners (and patch seams), and glass on its right, where no region is planned.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import numpy as np
import pytest

from common.server import ServiceRunner
from micrographia.common.v1 import common_pb2
from micrographia.slides.v1 import slides_pb2, slides_pb2_grpc
from micrographia.spatial.v1 import spatial_pb2 as pb
from micrographia.spatial.v1 import spatial_pb2_grpc
from services.inference import service as inference_service
from services.inference.service import InferenceService
from services.inference.servicer import InferenceServicer
from services.inference.settings import InferenceSettings
from services.spatial.core.bounds import Bounds
from services.spatial.service import SpatialService
from services.spatial.settings import SpatialSettings
from services.spatial.slide_analysis import JOB_TYPE
from testing.oracle import TYPE_COLOURS
from tests.harness import RunningPlatform
from tests.inference.conftest import CountingOracle, upload
from tests.inference.synthetic import TrueNucleus, write_aperio

WIDTH, HEIGHT = 1100, 800
MPP = 0.25
REGION = 256
GLASS = (242, 240, 244)
TISSUE = (225, 170, 205)  # pink: coloured, but too light for the oracle to call nuclear
TISSUE_RECT = (40, 30, 900, 770)  # x0, y0, x1, y1: the last region column (x >= 1024) is glass
RADIUS = 8
SPOTS = [
    # on vertical region borders (x = 256, 512, 768)
    (256, 130),
    (512, 400),
    (768, 300),
    (256, 620),
    (512, 700),
    # on horizontal region borders (y = 256, 512, 768)
    (150, 256),
    (400, 512),
    (650, 256),
    (860, 512),
    (330, 768),
    # on region corners
    (256, 256),
    (512, 512),
    (768, 512),
    (768, 768),
    # on patch seams (every 164 px at 0.25 um/px) and inside regions
    (164, 400),
    (656, 656),
    (100, 80),
    (600, 150),
    (880, 700),
    (60, 700),
]
PAINTED = [TrueNucleus(x, y, RADIUS, 1 + i % 5) for i, (x, y) in enumerate(SPOTS)]
# 4 x 4 regions: three full columns and rows, the bottom row 32 px high.
REGIONS = 16
TISSUE_MM2 = 4 * REGION * HEIGHT * (MPP / 1000) ** 2


def paint_slide(
    path: Path,
    nuclei: list[TrueNucleus],
    tissue: tuple[int, int, int, int] | None = TISSUE_RECT,
    size: tuple[int, int] = (WIDTH, HEIGHT),
) -> Path:
    width, height = size
    image = np.empty((height, width, 3), np.uint8)
    image[:] = GLASS
    if tissue is not None:
        x0, y0, x1, y1 = tissue
        image[y0:y1, x0:x1] = TISSUE
    for nucleus in nuclei:
        image[nucleus.mask((height, width))] = TYPE_COLOURS[nucleus.cell_type]
    return write_aperio(path, image, MPP)


class CountingServicer(InferenceServicer):
    """The real inference servicer, noting each region it was asked for."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.asked: list[tuple[int, int]] = []

    async def SegmentRegion(self, request, context):
        self.asked.append((request.x, request.y))
        async for message in super().SegmentRegion(request, context):
            yield message


@dataclass
class Replica:
    runner: ServiceRunner
    oracle: CountingOracle

    @property
    def asked(self) -> list[tuple[int, int]]:
        return self.runner.service.servicer.asked


@dataclass
class Stack:
    platform: RunningPlatform
    folder: Path
    runners: list[ServiceRunner] = field(default_factory=list)
    channels: list[grpc.Channel] = field(default_factory=list)

    def inference(
        self, delay_s: float = 0.0, oracle: bool = True, weights: str = "random", **settings
    ) -> Replica:
        """An inference replica whose network is the oracle (or, with `oracle`
        False, HoVerNet with `weights`)."""
        server = InferenceSettings(host="127.0.0.1", port=0, grace_period_s=1, **settings)
        platform = self.platform.platform.model_copy(update={"inference_weights": weights})
        runner = ServiceRunner(InferenceService, server, platform)
        self.platform.loop.run(runner.start())
        self.platform.loop.run(runner.wait_ready())
        counting = CountingOracle(delay_s)
        if oracle:
            runner.service.host.install(counting)
        self.runners.append(runner)
        return Replica(runner, counting)

    def spatial(self, inference_address: str, **settings) -> ServiceRunner:
        peers = self.platform.platform.model_copy(update={"inference_address": inference_address})
        # Jobs of a stopped service are resumed only by one told to (a short
        # job_stale_after_s): every spatial service here shares the jobs table.
        options = {
            "slide_analysis_region_size": REGION,
            "job_heartbeat_s": 0.2,
            "job_stale_after_s": 60.0,
            **settings,
        }
        runner = ServiceRunner(
            SpatialService,
            SpatialSettings(host="127.0.0.1", port=0, grace_period_s=1, **options),
            peers,
        )
        self.platform.loop.run(runner.start())
        self.runners.append(runner)
        return runner

    def stub(self, runner: ServiceRunner) -> spatial_pb2_grpc.SpatialServiceStub:
        channel = grpc.insecure_channel(runner.address)
        self.channels.append(channel)
        return spatial_pb2_grpc.SpatialServiceStub(channel)

    def slide(self, name: str = "painted.svs", **paint) -> str:
        path = paint_slide(self.folder / name, PAINTED, **paint)
        return upload(self.platform, path)["id"]

    def stop(self, runner: ServiceRunner) -> None:
        """Stop a service as a crash would leave its jobs: running, heartbeat stale."""
        self.runners.remove(runner)
        self.platform.loop.run(runner.stop(grace=0))


@pytest.fixture(scope="module")
def stack(platform: RunningPlatform, tmp_path_factory) -> Iterator[Stack]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(inference_service, "InferenceServicer", CountingServicer)
        running = Stack(platform, tmp_path_factory.mktemp("whole-slide"))
        yield running
        for channel in running.channels:
            channel.close()
        for runner in reversed(running.runners):
            platform.loop.run(runner.stop(grace=1))


@pytest.fixture(scope="module")
def one_replica(stack: Stack) -> tuple[Replica, spatial_pb2_grpc.SpatialServiceStub]:
    replica = stack.inference()
    return replica, stack.stub(stack.spatial(replica.runner.address))


def watch(stub: spatial_pb2_grpc.SpatialServiceStub, job_id: str) -> list[common_pb2.Job]:
    request = common_pb2.WatchJobRequest(job_id=job_id)
    return list(stub.WatchJob(request, timeout=120))


def all_nuclei(stub: spatial_pb2_grpc.SpatialServiceStub, slide_id: str) -> list[tuple]:
    """The slide's visible nuclei as sorted (x, y, type)."""
    response = stub.ListNucleiInViewport(
        pb.ListNucleiInViewportRequest(slide_id=slide_id, width=WIDTH, height=HEIGHT), timeout=30
    )
    assert not response.truncated
    return sorted((round(n.x, 3), round(n.y, 3), n.cell_type) for n in response.nuclei)


def assert_each_painted_nucleus_once(found: list[tuple]) -> None:
    assert len(found) == len(PAINTED), found
    for nucleus in PAINTED:
        matches = [f for f in found if max(abs(f[0] - nucleus.x), abs(f[1] - nucleus.y)) <= 1.5]
        assert len(matches) == 1, (nucleus, matches)
        assert matches[0][2] == nucleus.cell_type


def job_of(stub, job_id: str) -> common_pb2.Job:
    return stub.GetJob(common_pb2.GetJobRequest(job_id=job_id), timeout=10).job


def regions_of(stub, job_id: str) -> pb.ListSlideAnalysisRegionsResponse:
    return stub.ListSlideAnalysisRegions(
        pb.ListSlideAnalysisRegionsRequest(job_id=job_id), timeout=30
    )


def wait_for_stored(stub, job_id: str, at_least: int, timeout_s: float = 60) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stored = sum(region.stored for region in regions_of(stub, job_id).regions)
        if stored >= at_least:
            return stored
        time.sleep(0.05)
    raise AssertionError(f"fewer than {at_least} regions stored after {timeout_s} s")


def start(stub, slide_id: str, **fields) -> pb.StartSlideAnalysisResponse:
    return stub.StartSlideAnalysis(
        pb.StartSlideAnalysisRequest(slide_id=slide_id, **fields), timeout=60
    )


# ------------------------------------------------------------------ the whole job


def test_every_painted_nucleus_is_stored_once_across_region_borders(stack, one_replica):
    replica, stub = one_replica
    slide_id = stack.slide("borders.svs")
    started = start(stub, slide_id)
    assert started.regions == REGIONS
    assert started.tissue_mm2 == pytest.approx(TISSUE_MM2)
    assert started.job.type == "slide_analysis"
    assert started.job_id == started.job.id and started.estimated_duration_s >= 0
    assert f"{REGIONS} regions" in started.message

    jobs = watch(stub, started.job_id)
    final = jobs[-1]
    assert final.status == common_pb2.JOB_STATUS_COMPLETED, final
    counters = final.progress.counters
    assert counters["regions_done"] == counters["regions_total"] == REGIONS
    assert counters["nuclei"] == len(PAINTED)
    assert counters["mm2_done"] == pytest.approx(counters["mm2_total"])
    assert counters["mm2_total"] == pytest.approx(TISSUE_MM2)
    assert final.progress.current == final.progress.total == REGIONS
    assert final.progress.percentage == 100
    # Progress went region by region.
    seen = [job.progress.counters.get("regions_done", 0) for job in jobs]
    assert seen == sorted(seen)

    # Exactly once, whatever the border; the glass column was never asked for.
    found = all_nuclei(stub, slide_id)
    assert_each_painted_nucleus_once(found)
    assert all(x < 1024 for x, _ in replica.asked)

    plan = regions_of(stub, started.job_id)
    assert (plan.slide_id, plan.box_id) == (slide_id, started.box_id)
    assert [r.index for r in plan.regions] == list(range(REGIONS))
    assert all(r.stored and r.HasField("stored_at") for r in plan.regions)
    assert sum(r.nuclei for r in plan.regions) == len(PAINTED)
    first = plan.regions[0].bounds
    assert (first.x_min, first.y_min, first.x_max, first.y_max) == (0, 0, REGION, REGION)
    last = plan.regions[-1].bounds
    assert (last.x_min, last.y_min, last.x_max, last.y_max) == (768, 768, 1024, HEIGHT)

    # ROI statistics, the box and its export cover the whole slide.
    whole = pb.Bounds(x_min=0, y_min=0, x_max=WIDTH, y_max=HEIGHT)
    stats = stub.GetRoiStats(pb.GetRoiStatsRequest(slide_id=slide_id, bounds=whole), timeout=30)
    assert stats.total_nuclei == len(PAINTED)
    box = stub.GetAnalysisBox(pb.GetAnalysisBoxRequest(box_id=started.box_id), timeout=30).box
    assert box.label == "Whole slide 1"
    assert box.total_nuclei == len(PAINTED)
    b = box.bounds
    assert (b.x_min, b.y_min, b.x_max, b.y_max) == (0, 0, WIDTH, HEIGHT)
    chunks = stub.ExportGeoJson(pb.ExportGeoJsonRequest(box_id=started.box_id), timeout=30)
    exported = json.loads(b"".join(chunk.chunk for chunk in chunks))
    assert len(exported["features"]) == len(PAINTED)

    listed = stub.ListJobs(common_pb2.ListJobsRequest(type="slide_analysis"), timeout=30)
    assert started.job_id in [job.id for job in listed.jobs]
    got = stub.GetJob(common_pb2.GetJobRequest(job_id=started.job_id), timeout=30).job
    assert got.status == common_pb2.JOB_STATUS_COMPLETED and got.service == "spatial"


@pytest.mark.slow
def test_two_replicas_split_the_job_and_find_the_same_nuclei(stack, one_replica):
    _, single = one_replica
    reference_slide = stack.slide("reference.svs")
    reference = start(single, reference_slide)
    assert watch(single, reference.job_id)[-1].status == common_pb2.JOB_STATUS_COMPLETED

    a, b = stack.inference(delay_s=0.02), stack.inference(delay_s=0.02)
    both = f"{a.runner.address},{b.runner.address}"  # a plain list: common.channels
    stub = stack.stub(stack.spatial(both, slide_analysis_concurrency=4))
    slide_id = stack.slide("replicas.svs")
    started = start(stub, slide_id)
    assert watch(stub, started.job_id)[-1].status == common_pb2.JOB_STATUS_COMPLETED

    # Both replicas segmented regions, together each region once.
    assert a.asked and b.asked, (a.asked, b.asked)
    assert a.oracle.batches > 0 and b.oracle.batches > 0
    assert sorted(a.asked + b.asked) == sorted(
        (int(r.bounds.x_min), int(r.bounds.y_min)) for r in regions_of(stub, started.job_id).regions
    )
    found = all_nuclei(stub, slide_id)
    assert found == all_nuclei(single, reference_slide)
    assert_each_painted_nucleus_once(found)


@pytest.mark.slow
def test_a_replica_lost_mid_job_leaves_its_regions_to_the_other(stack):
    a, b = stack.inference(delay_s=0.3), stack.inference(delay_s=0.3)
    both = f"{a.runner.address},{b.runner.address}"
    stub = stack.stub(stack.spatial(both, slide_analysis_concurrency=4))
    slide_id = stack.slide("lost-replica.svs")
    started = start(stub, slide_id)
    wait_for_stored(stub, started.job_id, 2)
    stack.stop(b.runner)  # its calls in flight end UNAVAILABLE: retried on the other
    final = watch(stub, started.job_id)[-1]
    assert final.status == common_pb2.JOB_STATUS_COMPLETED, final
    assert b.asked and len(a.asked) + len(b.asked) > REGIONS  # some regions twice
    assert_each_painted_nucleus_once(all_nuclei(stub, slide_id))


def test_a_job_cancelled_before_its_first_region_leaves_no_box(stack):
    replica = stack.inference(delay_s=1.0)
    stub = stack.stub(stack.spatial(replica.runner.address, slide_analysis_concurrency=1))
    slide_id = stack.slide("cancelled-early.svs")
    started = start(stub, slide_id)
    boxes = stub.ListAnalysisBoxes(pb.ListAnalysisBoxesRequest(slide_id=slide_id), timeout=30)
    assert [box.id for box in boxes.boxes] == [started.box_id]
    stub.CancelJob(common_pb2.CancelJobRequest(job_id=started.job_id), timeout=30)
    final = watch(stub, started.job_id)[-1]
    assert final.status == common_pb2.JOB_STATUS_CANCELLED, final
    assert not any(r.stored for r in regions_of(stub, started.job_id).regions)
    boxes = stub.ListAnalysisBoxes(pb.ListAnalysisBoxesRequest(slide_id=slide_id), timeout=30)
    assert not boxes.boxes


def test_a_job_cancelled_while_pending_leaves_no_box(stack):
    """A job recorded (with its box) but not started yet, as a service stopped
    between the two leaves it: its work never runs, yet its cancel removes the box."""
    replica = stack.inference(delay_s=1.0)
    runner = stack.spatial(replica.runner.address)
    stub = stack.stub(runner)
    slide_id = stack.slide("cancelled-pending.svs")
    service = runner.service

    async def record_pending() -> str:
        box = await service.slide_analyses.store.create_whole_slide_box(
            slide_id, Bounds(0, 0, WIDTH, HEIGHT), MPP
        )
        job = await service.jobs.store.create(
            JOB_TYPE, {}, {"slide_id": slide_id, "box_id": box.id}
        )
        return job.id

    job_id = stack.platform.loop.run(record_pending())
    assert len(stub.ListAnalysisBoxes(pb.ListAnalysisBoxesRequest(slide_id=slide_id)).boxes) == 1
    cancelled = stub.CancelJob(common_pb2.CancelJobRequest(job_id=job_id), timeout=30).job
    assert cancelled.status == common_pb2.JOB_STATUS_CANCELLED, cancelled
    boxes = stub.ListAnalysisBoxes(pb.ListAnalysisBoxesRequest(slide_id=slide_id), timeout=30)
    assert not boxes.boxes


@pytest.mark.slow
def test_the_duration_estimate_follows_the_measured_throughput(stack):
    """The first job's estimate is the nominal figure; after a job, the service
    estimates from the rate it measured (here a slow CPU oracle, far below it)."""
    replica = stack.inference(delay_s=0.2)
    stub = stack.stub(stack.spatial(replica.runner.address))
    first = start(stub, stack.slide("estimate-1.svs"))
    began = time.monotonic()
    assert watch(stub, first.job_id)[-1].status == common_pb2.JOB_STATUS_COMPLETED
    took = time.monotonic() - began
    second = start(stub, stack.slide("estimate-2.svs"))  # the same plan
    stub.CancelJob(common_pb2.CancelJobRequest(job_id=second.job_id), timeout=30)
    assert second.regions == first.regions
    assert second.estimated_duration_s > 10 * first.estimated_duration_s
    assert 0.2 * took <= second.estimated_duration_s <= 2 * took


@pytest.mark.slow
def test_a_slides_outage_is_waited_for_and_the_job_goes_on(stack, platform):
    """The slides service (where inference reads pixels) goes away mid-job for a
    few seconds: the job says what it waits for, retries, and completes."""
    replica = stack.inference(delay_s=0.2)
    runner = stack.spatial(replica.runner.address, slide_analysis_concurrency=2)
    stub = stack.stub(runner)
    slide_id = stack.slide("slides-outage.svs")
    started = start(stub, slide_id)
    wait_for_stored(stub, started.job_id, 1)
    platform.stop_service("slides")
    try:
        deadline = time.monotonic() + 60
        while "Waiting for the slides service" not in job_of(stub, started.job_id).message:
            assert time.monotonic() < deadline, "the job never said what it waits for"
            time.sleep(0.05)
        time.sleep(3)  # a few retries with backoff
        assert job_of(stub, started.job_id).status == common_pb2.JOB_STATUS_RUNNING
    finally:
        platform.start_service("slides")
    final = watch(stub, started.job_id)[-1]
    assert final.status == common_pb2.JOB_STATUS_COMPLETED, final
    assert_each_painted_nucleus_once(all_nuclei(stub, slide_id))


def test_an_outage_longer_than_the_retry_window_fails_in_the_users_terms(stack, platform):
    replica = stack.inference(delay_s=0.2)
    runner = stack.spatial(replica.runner.address, slide_analysis_unavailable_retry_s=1.5)
    stub = stack.stub(runner)
    slide_id = stack.slide("slides-gone.svs")
    started = start(stub, slide_id)
    wait_for_stored(stub, started.job_id, 1)
    platform.stop_service("slides")
    try:
        final = watch(stub, started.job_id)[-1]
    finally:
        platform.start_service("slides")
    assert final.status == common_pb2.JOB_STATUS_FAILED, final
    assert final.error.code == "SERVICE_UNAVAILABLE"
    message = final.error.message
    assert "the slides service was unavailable for more than 1.5 s" in message
    assert "127.0.0.1" not in message and "ipv4:" not in message


def test_cancel_stops_the_inference_and_keeps_whole_regions(stack):
    replica = stack.inference(delay_s=0.2)
    stub = stack.stub(stack.spatial(replica.runner.address, slide_analysis_concurrency=2))
    slide_id = stack.slide("cancel.svs")
    started = start(stub, slide_id)
    wait_for_stored(stub, started.job_id, 1)
    cancelled = stub.CancelJob(common_pb2.CancelJobRequest(job_id=started.job_id), timeout=30).job
    assert cancelled.status == common_pb2.JOB_STATUS_CANCELLED, cancelled
    batches = replica.oracle.batches
    time.sleep(1.0)
    # The calls in flight were cancelled: at most the batch each was running.
    assert replica.oracle.batches - batches <= 2

    plan = regions_of(stub, started.job_id)
    stored = [r for r in plan.regions if r.stored]
    assert 1 <= len(stored) < REGIONS
    # Nothing half-written: every visible nucleus lies in a stored region, and
    # the stored regions hold exactly the painted nuclei there.
    found = all_nuclei(stub, slide_id)
    assert sum(r.nuclei for r in stored) == len(found)

    def in_stored(x: float, y: float) -> bool:
        return any(
            r.bounds.x_min <= x < r.bounds.x_max and r.bounds.y_min <= y < r.bounds.y_max
            for r in stored
        )

    assert all(in_stored(x, y) for x, y, _ in found)
    expected = [n for n in PAINTED if in_stored(n.x + 0.5, n.y + 0.5)]
    assert len(found) == len(expected)
    # A finished job cannot be cancelled again.
    with pytest.raises(grpc.RpcError) as error:
        stub.CancelJob(common_pb2.CancelJobRequest(job_id=started.job_id), timeout=30)
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION


@pytest.mark.slow
def test_a_restarted_service_resumes_only_the_missing_regions(stack, one_replica):
    replica = stack.inference(delay_s=0.2)
    first = stack.spatial(replica.runner.address, slide_analysis_concurrency=2)
    stub = stack.stub(first)
    slide_id = stack.slide("resume.svs")
    started = start(stub, slide_id)
    wait_for_stored(stub, started.job_id, 2)
    stack.stop(first)  # like a crash: the job stays running, its heartbeat goes stale

    asked_before = set(replica.asked)
    second = stack.spatial(
        replica.runner.address, slide_analysis_concurrency=2, job_stale_after_s=1.0
    )
    stub = stack.stub(second)
    job = stub.GetJob(common_pb2.GetJobRequest(job_id=started.job_id), timeout=30).job
    assert job.status == common_pb2.JOB_STATUS_RUNNING
    stored_then = {r.index: r for r in regions_of(stub, started.job_id).regions if r.stored}
    assert 2 <= len(stored_then) < REGIONS

    final = watch(stub, started.job_id)[-1]
    assert final.status == common_pb2.JOB_STATUS_COMPLETED, final
    assert final.progress.counters["regions_done"] == REGIONS
    plan = regions_of(stub, started.job_id)
    assert all(r.stored for r in plan.regions)
    # The stored regions were not run again.
    for index, region in stored_then.items():
        assert plan.regions[index].stored_at == region.stored_at
        assert plan.regions[index].nuclei == region.nuclei
    resumed = set(replica.asked) - asked_before
    stored_corners = {(int(r.bounds.x_min), int(r.bounds.y_min)) for r in stored_then.values()}
    assert resumed and not resumed & stored_corners

    # The same nuclei as an uninterrupted run.
    found = all_nuclei(stub, slide_id)
    assert_each_painted_nucleus_once(found)
    _, single = one_replica
    reference_slide = stack.slide("resume-reference.svs")
    reference = start(single, reference_slide)
    assert watch(single, reference.job_id)[-1].status == common_pb2.JOB_STATUS_COMPLETED
    assert found == all_nuclei(single, reference_slide)


def test_a_failing_region_fails_the_job_with_the_reason(stack):
    replica = stack.inference(oracle=False, weights=str(stack.folder / "missing.pth"))
    stub = stack.stub(stack.spatial(replica.runner.address))
    slide_id = stack.slide("no-model.svs")
    started = start(stub, slide_id)
    final = watch(stub, started.job_id)[-1]
    assert final.status == common_pb2.JOB_STATUS_FAILED, final
    assert final.error.code == "FAILED_PRECONDITION"
    assert f"/{REGIONS}" in final.error.message and "no HoVerNet model" in final.error.message
    assert not any(r.stored for r in regions_of(stub, started.job_id).regions)


def test_deleting_the_box_stops_the_job(stack):
    replica = stack.inference(delay_s=0.2)
    stub = stack.stub(stack.spatial(replica.runner.address, slide_analysis_concurrency=2))
    slide_id = stack.slide("delete.svs")
    started = start(stub, slide_id)
    wait_for_stored(stub, started.job_id, 1)
    stub.DeleteAnalysisBox(pb.DeleteAnalysisBoxRequest(box_id=started.box_id), timeout=30)
    job = stub.GetJob(common_pb2.GetJobRequest(job_id=started.job_id), timeout=30).job
    assert job.status in (common_pb2.JOB_STATUS_CANCELLED, common_pb2.JOB_STATUS_FAILED), job
    assert all_nuclei(stub, slide_id) == []
    assert not any(r.stored for r in regions_of(stub, started.job_id).regions)
    with pytest.raises(grpc.RpcError) as error:
        stub.GetAnalysisBox(pb.GetAnalysisBoxRequest(box_id=started.box_id), timeout=30)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


def test_deleting_the_slide_stops_the_job_through_another_replica(stack):
    """The slides service asks the platform's spatial service to delete the
    slide's analyses; the job runs in another spatial process and stops."""
    replica = stack.inference(delay_s=0.2)
    stub = stack.stub(stack.spatial(replica.runner.address, slide_analysis_concurrency=2))
    slide_id = stack.slide("delete-slide.svs")
    started = start(stub, slide_id)
    wait_for_stored(stub, started.job_id, 1)
    with grpc.insecure_channel(stack.platform.address("slides")) as channel:
        slides = slides_pb2_grpc.SlidesServiceStub(channel)
        deleted = slides.DeleteSlide(slides_pb2.DeleteSlideRequest(slide_id=slide_id), timeout=30)
    assert deleted.deleted_boxes == 1
    final = watch(stub, started.job_id)[-1]
    assert final.status in (common_pb2.JOB_STATUS_CANCELLED, common_pb2.JOB_STATUS_FAILED), final
    time.sleep(0.5)  # nothing arrives after the job ended
    assert not any(r.stored for r in regions_of(stub, started.job_id).regions)
    with pytest.raises(grpc.RpcError) as error:
        stub.GetAnalysisBox(pb.GetAnalysisBoxRequest(box_id=started.box_id), timeout=30)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.slow
@pytest.mark.model
def test_the_real_network_runs_through_the_whole_job(stack, platform):
    """HoVerNet with random weights: the real forward pass in a whole-slide job
    on a tiny slide (one patch: no margin). What it finds is arbitrary; the
    job, the regions, the box and the statistics must agree."""
    replica = stack.inference(oracle=False, margin=0)
    stub = stack.stub(stack.spatial(replica.runner.address))
    size = (160, 150)
    path = paint_slide(stack.folder / "tiny.svs", PAINTED[-4:-3], (0, 0, *size), size)
    slide_id = upload(platform, path)["id"]
    started = start(stub, slide_id)
    assert started.regions == 1
    final = watch(stub, started.job_id)[-1]
    assert final.status == common_pb2.JOB_STATUS_COMPLETED, final
    nuclei = final.progress.counters["nuclei"]
    plan = regions_of(stub, started.job_id)
    assert [r.stored for r in plan.regions] == [True] and plan.regions[0].nuclei == nuclei
    box = stub.GetAnalysisBox(pb.GetAnalysisBoxRequest(box_id=started.box_id), timeout=30).box
    assert box.total_nuclei == nuclei
    whole = pb.Bounds(x_min=0, y_min=0, x_max=size[0], y_max=size[1])
    stats = stub.GetRoiStats(pb.GetRoiStatsRequest(slide_id=slide_id, bounds=whole), timeout=30)
    assert stats.total_nuclei == nuclei


# ------------------------------------------------------------------ bad requests


@pytest.mark.parametrize(
    ("fields", "code", "words"),
    [
        ({"slide_id": "not-a-uuid"}, grpc.StatusCode.INVALID_ARGUMENT, "not a UUID"),
        (
            {"slide_id": "00000000-0000-4000-8000-000000000000"},
            grpc.StatusCode.NOT_FOUND,
            "not found",
        ),
        ({"region_size": -5}, grpc.StatusCode.INVALID_ARGUMENT, "region_size"),
        ({"region_size": 100}, grpc.StatusCode.INVALID_ARGUMENT, "region_size"),
        ({"region_size": 1_000_000}, grpc.StatusCode.INVALID_ARGUMENT, "region_size"),
    ],
)
def test_bad_starts_are_refused_before_any_job(stack, one_replica, fields, code, words):
    _, stub = one_replica
    request = {"slide_id": "00000000-0000-4000-8000-000000000001", **fields}
    if "region_size" in fields:
        request["slide_id"] = stack.slide("bad-size.svs")
    before = stub.ListJobs(common_pb2.ListJobsRequest(), timeout=30).total
    with pytest.raises(grpc.RpcError) as error:
        start(stub, **request)
    assert error.value.code() == code, error.value.details()
    assert words in error.value.details()
    assert stub.ListJobs(common_pb2.ListJobsRequest(), timeout=30).total == before


def test_a_slide_without_tissue_is_a_failed_precondition(stack, one_replica):
    _, stub = one_replica
    glass = paint_slide(stack.folder / "bare-glass.svs", [], tissue=None)
    bare = upload(stack.platform, glass)["id"]
    with pytest.raises(grpc.RpcError) as error:
        start(stub, bare)
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "no tissue" in error.value.details()
    boxes = stub.ListAnalysisBoxes(pb.ListAnalysisBoxesRequest(slide_id=bare), timeout=30)
    assert list(boxes.boxes) == []


@pytest.mark.parametrize("job_id", ["not-a-uuid", "00000000-0000-4000-8000-000000000000"])
def test_unknown_jobs_are_not_found(one_replica, job_id):
    _, stub = one_replica
    for call in (
        lambda: regions_of(stub, job_id),
        lambda: stub.GetJob(common_pb2.GetJobRequest(job_id=job_id), timeout=30),
    ):
        with pytest.raises(grpc.RpcError) as error:
            call()
        assert error.value.code() == grpc.StatusCode.NOT_FOUND
