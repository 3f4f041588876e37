"""Whole-slide analysis as a durable job: slides -> tissue mask -> regions ->
inference (every replica at once) -> store, region by region.

`start` checks everything before a job exists (slide id, region size, the
slide, its tissue), creates the whole-slide box and submits the job; the plan
(slide, box, regions) lives in the job's params. `work` runs the regions not
stored yet, `SLIDE_ANALYSIS_CONCURRENCY` SegmentRegion calls in flight over the
one inference channel (round-robin over every replica its address resolves to), and stores
each region's nuclei in one transaction as it completes (core/store.py
`store_region`). The same `work` resumes a job whose process died: the stored
regions are skipped. Cancelling the job cancels the task, hence the gRPC calls
in flight and any store under way (its transaction rolls back).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
import numpy as np
from PIL import Image

from common import errors
from common.fanout import fan_out
from common.jobs import JobContext, JobRecord, JobRunner, JobStatus
from common.jobs.rpc import timestamp
from common.retry import UnavailableBackoff, is_unavailable
from common.rpc_errors import RpcFailure
from micrographia.inference.v1 import inference_pb2, inference_pb2_grpc
from micrographia.slides.v1 import slides_pb2, slides_pb2_grpc
from micrographia.spatial.v1 import spatial_pb2 as pb
from services.spatial.core import Bounds, NucleiBatch, SpatialStore, StoredRegion
from services.spatial.core.regions import check_region_size, plan_regions, region_area_mm2
from services.spatial.core.store import parse_id
from services.spatial.core.tissue import tissue_mask
from services.spatial.messages import bounds_message, slide_mpp
from services.spatial.segmentation import nuclei_batch, segment_request
from services.spatial.settings import SpatialSettings

logger = logging.getLogger("micrographia.spatial")

JOB_TYPE = "slide_analysis"
# A rough figure for the estimate in the start answer: level-0 megapixels one
# inference replica segments per second (HoVerNet fast on a GPU, 0.25 um/px).
ESTIMATED_MEGAPIXELS_PER_S = 4.0
# Level-0 pixels: tissue is grown by this much (borders kept), at least one mask
# pixel, at most 8; specks under this edge squared go, at least 4 mask pixels.
TISSUE_MARGIN_PX = 64
SPECK_PX = 64


@dataclass(frozen=True)
class SlideAnalysisPlan:
    """What a job does, as stored in its params."""

    slide_id: str
    box_id: str
    mpp: float | None
    region_size: int
    regions: list[Bounds]

    def to_params(self) -> dict[str, Any]:
        return {
            "slide_id": self.slide_id,
            "box_id": self.box_id,
            "mpp": self.mpp,
            "region_size": self.region_size,
            "regions": [[r.x_min, r.y_min, r.x_max, r.y_max] for r in self.regions],
        }

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> SlideAnalysisPlan:
        return cls(
            slide_id=params["slide_id"],
            box_id=params["box_id"],
            mpp=params.get("mpp"),
            region_size=int(params["region_size"]),
            regions=[Bounds(*corners) for corners in params["regions"]],
        )

    @property
    def tissue_mm2(self) -> float:
        return region_area_mm2(self.regions, self.mpp)


def _mask_of(jpeg: bytes, width: int, height: int) -> np.ndarray:
    """The tissue mask of a slide's thumbnail (blocking)."""
    with Image.open(io.BytesIO(jpeg)) as image:
        rgb = np.asarray(image.convert("RGB"))
    scale = max(width / rgb.shape[1], height / rgb.shape[0])  # level-0 px per mask px
    return tissue_mask(
        rgb,
        min_object_px=max(4, round((SPECK_PX / scale) ** 2)),
        dilation_px=max(1, min(8, round(TISSUE_MARGIN_PX / scale))),
    )


class _Tally:
    """Progress of one job: regions, nuclei and area stored so far."""

    def __init__(self, plan: SlideAnalysisPlan, stored: list[StoredRegion]) -> None:
        self.plan = plan
        self.regions = 0
        self.nuclei = 0
        self.mm2 = 0.0
        for region in stored:
            self.add(region)

    def add(self, region: StoredRegion) -> None:
        self.regions += 1
        self.nuclei += region.nuclei
        self.mm2 += region.bounds.area_mm2(self.plan.mpp)

    def report(self) -> dict[str, Any]:
        total = len(self.plan.regions)
        message = f"Region {self.regions}/{total} stored: {self.nuclei:,} nuclei"
        if self.plan.mpp:
            message += f", {self.mm2:.1f} of {self.plan.tissue_mm2:.1f} mm²"
        return {
            "current": self.regions,
            "total": total,
            "message": message,
            "counters": {
                "regions_done": self.regions,
                "regions_total": total,
                "nuclei": self.nuclei,
                "mm2_done": round(self.mm2, 6),
                "mm2_total": round(self.plan.tissue_mm2, 6),
            },
        }


class SlideAnalysisJobs:
    """Starts whole-slide analyses on a `JobRunner`, runs and resumes them."""

    def __init__(
        self,
        store: SpatialStore,
        slides: Callable[[], slides_pb2_grpc.SlidesServiceStub],
        inference: Callable[[], inference_pb2_grpc.InferenceServiceStub],
        settings: SpatialSettings,
    ) -> None:
        self.store = store
        self.slides = slides
        self.inference = inference
        self.settings = settings
        self.runner: JobRunner | None = None
        # Level-0 megapixels segmented and stored per second of a job's regions, as
        # measured (all workers together); None until a region was done here.
        self._measured_rate: float | None = None

    # ------------------------------------------------------------ start

    async def start(
        self, request: pb.StartSlideAnalysisRequest
    ) -> tuple[JobRecord, SlideAnalysisPlan]:
        """Validate, find the tissue, plan the regions, create the box, submit."""
        parse_id(request.slide_id, "slide_id")
        size = check_region_size(request.region_size or self.settings.slide_analysis_region_size)
        timeout = self.settings.peer_timeout_s
        slide = (
            await self.slides().GetSlide(
                slides_pb2.GetSlideRequest(slide_id=request.slide_id), timeout=timeout
            )
        ).slide
        thumbnail = await self.slides().GetThumbnail(
            slides_pb2.GetThumbnailRequest(
                slide_id=slide.id, max_size=self.settings.tissue_mask_size
            ),
            timeout=timeout,
        )
        mask = await asyncio.to_thread(_mask_of, thumbnail.image, slide.width_px, slide.height_px)
        regions = plan_regions(slide.width_px, slide.height_px, size, mask)
        if not regions:
            raise errors.FailedPrecondition(
                f"no tissue found on slide {slide.id}: its thumbnail is all background",
                slide_id=slide.id,
            )
        mpp = slide_mpp(slide)
        box = await self.store.create_whole_slide_box(
            slide.id, Bounds(0, 0, slide.width_px, slide.height_px), mpp, label=request.label
        )
        plan = SlideAnalysisPlan(slide.id, box.id, mpp, size, regions)
        assert self.runner is not None
        try:
            job = await self.runner.submit(
                JOB_TYPE,
                self.work,
                params=plan.to_params(),
                labels={"slide_id": slide.id, "box_id": box.id},
            )
        except BaseException:
            await asyncio.shield(self.store.delete_box(box.id))  # no box without its job
            raise
        return job, plan

    def estimated_duration_s(self, plan: SlideAnalysisPlan) -> float:
        """From the throughput this service measured on its last job's regions
        (the figure for a GPU replica until it has measured one)."""
        megapixels = sum(region.area_px for region in plan.regions) / 1e6
        return round(megapixels / (self._measured_rate or ESTIMATED_MEGAPIXELS_PER_S), 1)

    # ------------------------------------------------------------ the job

    async def work(self, job: JobContext) -> dict[str, Any]:
        """Segment and store every region not stored yet; progress after each."""
        plan = SlideAnalysisPlan.from_params(job.params)
        stored = await self.store.stored_regions(job.job_id)
        tally = _Tally(plan, stored)
        await job.report(**tally.report(), force=True)
        done = {region.index for region in stored}
        todo = [index for index in range(len(plan.regions)) if index not in done]
        workers = min(self.settings.slide_analysis_concurrency, len(todo))
        try:
            if workers:
                await self._run_regions(job, plan, todo, tally, workers)
        except (asyncio.CancelledError, errors.Cancelled):
            if tally.regions == 0 and await self._cancel_asked(job):
                # Cancelled before any region was stored: no empty box is left
                # behind (a shutdown leaves it, for the resumed job).
                await asyncio.shield(self.store.delete_box(plan.box_id))
            raise
        await job.report(**tally.report(), force=True)
        return {
            "slide_id": plan.slide_id,
            "box_id": plan.box_id,
            "regions": tally.regions,
            "nuclei": tally.nuclei,
            "tissue_mm2": round(plan.tissue_mm2, 6),
        }

    async def forget_box(self, job: JobRecord) -> None:
        """A job cancelled while pending never ran, so `work` cannot remove its
        empty box: remove it here (nothing was stored in it)."""
        with contextlib.suppress(errors.NotFound):
            await self.store.delete_box(job.labels["box_id"])

    async def _cancel_asked(self, job: JobContext) -> bool:
        assert self.runner is not None
        return job.cancel_requested or (await self.runner.store.get(job.job_id)).cancel_requested

    async def _run_regions(
        self,
        job: JobContext,
        plan: SlideAnalysisPlan,
        todo: list[int],
        tally: _Tally,
        workers: int,
    ) -> None:
        """`workers` regions at a time until none is left; the first failure (or
        a cancel, seen at a report or the runner's heartbeat) stops the others."""

        started = time.monotonic()
        megapixels = 0.0

        async def store_region(index: int) -> None:
            nonlocal megapixels
            nuclei = await self._segment(job, plan, index)
            region = await self.store.store_region(
                plan.box_id, job.job_id, index, plan.regions[index], nuclei
            )
            tally.add(region)
            megapixels += plan.regions[index].area_px / 1e6
            self._measured_rate = megapixels / max(time.monotonic() - started, 1e-3)
            await job.report(**tally.report())

        await fan_out(todo, store_region, workers)

    async def _segment(self, job: JobContext, plan: SlideAnalysisPlan, index: int) -> NucleiBatch:
        """One region's nuclei from the inference service (centroid inside it).

        A call that fails as UNAVAILABLE (a replica gone, or the slides service
        it reads from) is retried with backoff, round-robin to another replica,
        for up to `slide_analysis_unavailable_retry_s`, the job's progress saying
        what it waits for; any other failure fails the region at once."""
        bounds = plan.regions[index]
        where = f"{bounds.x_min:g},{bounds.y_min:g} to {bounds.x_max:g},{bounds.y_max:g}"
        region = f"region {index + 1}/{len(plan.regions)} ({where})"
        window = self.settings.slide_analysis_unavailable_retry_s
        backoff = UnavailableBackoff(window)
        while True:
            try:
                found = await self._segment_once(plan.slide_id, bounds)
                break
            except grpc.RpcError as error:
                failure = RpcFailure.from_error(error)
                if not is_unavailable(error):
                    raise errors.ProcessingError(
                        f"{region} failed in the inference service: {failure.message}",
                        code=failure.error_code,
                        region=index,
                    ) from None
                # The inference's own dependency when it named one (slides,
                # database); the inference service itself when it is the one gone.
                service = failure.details.get("dependency", "inference")
                wait = backoff.next_wait()
                if wait is None:
                    raise errors.Unavailable(
                        f"{region}: the {service} service was unavailable for more than "
                        f"{window:g} s; the regions stored so far are kept, and starting "
                        "the analysis again goes on from there",
                        region=index,
                        service=service,
                    ) from None
                logger.warning(
                    "%s of job %s: %s unavailable (%s), retrying in %.1f s",
                    region,
                    job.job_id,
                    service,
                    failure.message,
                    wait,
                )
                await job.report(message=f"Waiting for the {service} service", force=True)
                await asyncio.sleep(wait)
        return await asyncio.to_thread(nuclei_batch, found, bounds)

    async def _segment_once(self, slide_id: str, bounds: Bounds) -> list[inference_pb2.Nucleus]:
        call = self.inference().SegmentRegion(
            segment_request(slide_id, bounds), timeout=self.settings.inference_timeout_s
        )
        found: list[inference_pb2.Nucleus] = []
        try:
            async for message in call:
                if message.HasField("nuclei"):
                    found.extend(message.nuclei.nuclei)
        finally:
            call.cancel()  # cancelled or failed: stop the inference at once
        return found

    # ------------------------------------------------------------ stopping

    async def stop_for(self, *, slide_id: str, box_id: str | None = None) -> None:
        """Cancel the unfinished analyses of a slide (or of one box), before the
        box or the slide's analyses are deleted."""
        assert self.runner is not None
        active, _ = await self.runner.store.list(
            [JobStatus.PENDING, JobStatus.RUNNING], JOB_TYPE, 1000
        )
        for record in active:
            if record.params.get("slide_id") != slide_id:
                continue
            if box_id is not None and record.params.get("box_id") != box_id:
                continue
            with contextlib.suppress(errors.FailedPrecondition):  # ended meanwhile
                await self.runner.cancel(record.id)


def regions_message(
    job: JobRecord, stored: list[StoredRegion]
) -> pb.ListSlideAnalysisRegionsResponse:
    """The plan of a job with what is stored of it."""
    plan = SlideAnalysisPlan.from_params(job.params)
    by_index = {region.index: region for region in stored}
    regions = []
    for index, bounds in enumerate(plan.regions):
        region = by_index.get(index)
        regions.append(
            pb.SlideAnalysisRegion(
                index=index,
                bounds=bounds_message(bounds),
                stored=region is not None,
                nuclei=region.nuclei if region else 0,
                stored_at=timestamp(region.stored_at) if region else None,
            )
        )
    return pb.ListSlideAnalysisRegionsResponse(
        job_id=job.id, slide_id=plan.slide_id, box_id=plan.box_id, regions=regions
    )
