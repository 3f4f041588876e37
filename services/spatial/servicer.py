"""gRPC servicer of the spatial service: translates protos to the domain core and back.

Slides are looked up in the slides service (an unknown slide is its NOT_FOUND,
passed through); the rest is the core's (core/README.md maps each RPC). The
whole-slide analysis is a job (slide_analysis.py); the four job RPCs come from
the mixin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import grpc
from grpc import aio

from common.errors import InvalidArgument, NotFound
from common.jobs import JobRunner
from common.jobs.rpc import JobsServicerMixin, job_to_proto
from micrographia.inference.v1 import inference_pb2_grpc
from micrographia.slides.v1 import slides_pb2, slides_pb2_grpc
from micrographia.spatial.v1 import spatial_pb2 as pb
from micrographia.spatial.v1 import spatial_pb2_grpc
from services.spatial.core import Bounds, SpatialStore, box_metrics, viewport_bounds
from services.spatial.core.geojson import feature_collection
from services.spatial.core.store import parse_id
from services.spatial.messages import (
    bounds_message,
    box_message,
    metrics_message,
    nucleus_message,
    roi_stats_message,
    slide_mpp,
)
from services.spatial.settings import SpatialSettings
from services.spatial.slide_analysis import JOB_TYPE, SlideAnalysisJobs, regions_message
from services.spatial.viewport import ViewportAnalysis, analysis_bounds


def _bounds(message: pb.Bounds) -> Bounds:
    return Bounds(message.x_min, message.y_min, message.x_max, message.y_max)


class SpatialServicer(JobsServicerMixin, spatial_pb2_grpc.SpatialServiceServicer):
    service_name = "spatial"

    def __init__(
        self,
        store: SpatialStore,
        slides: Callable[[], slides_pb2_grpc.SlidesServiceStub],
        inference: Callable[[], inference_pb2_grpc.InferenceServiceStub],
        settings: SpatialSettings,
        jobs: JobRunner,
        slide_analyses: SlideAnalysisJobs,
    ) -> None:
        self.store = store
        self.jobs = jobs
        self.slide_analyses = slide_analyses
        # Factories: a peer's channel opens on first use, once its address is known.
        self.slides = slides
        self.inference = inference
        self.settings = settings

    async def _slide(self, slide_id: str) -> slides_pb2.Slide:
        """The slide's registry entry; the slides service's NOT_FOUND passes through."""
        request = slides_pb2.GetSlideRequest(slide_id=slide_id)
        response = await self.slides().GetSlide(request, timeout=self.settings.peer_timeout_s)
        return response.slide

    async def _slide_exists(self, slide_id: str) -> bool:
        try:
            await self._slide(slide_id)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return False
            raise
        return True

    async def AnalyzeViewport(
        self, request: pb.AnalyzeViewportRequest, context: aio.ServicerContext
    ) -> AsyncIterator[pb.AnalyzeViewportResponse]:
        slide = await self._slide(request.slide_id)
        analysis = ViewportAnalysis(
            self.store,
            self.inference(),
            slide,
            analysis_bounds(request, slide),
            request,
            inference_timeout_s=self.settings.inference_timeout_s,
            slide_exists=lambda: self._slide_exists(slide.id),
        )
        async for message in analysis.run():
            yield message

    async def GetRoiStats(
        self, request: pb.GetRoiStatsRequest, context: aio.ServicerContext
    ) -> pb.GetRoiStatsResponse:
        slide = await self._slide(request.slide_id)
        bounds = _bounds(request.bounds).clamped(slide.width_px, slide.height_px)
        summary = await self.store.region_stats(slide.id, bounds, slide_mpp(slide))
        return roi_stats_message(slide.id, bounds, summary, slide_mpp(slide))

    async def ListNucleiInViewport(
        self, request: pb.ListNucleiInViewportRequest, context: aio.ServicerContext
    ) -> pb.ListNucleiInViewportResponse:
        slide = await self._slide(request.slide_id)
        bounds = viewport_bounds(
            request.x, request.y, request.width, request.height, request.level
        ).clamped(slide.width_px, slide.height_px)
        found = await self.store.viewport_nuclei(slide.id, bounds, request.limit)
        return pb.ListNucleiInViewportResponse(
            slide_id=slide.id,
            bounds_l0=bounds_message(bounds),
            nuclei=[nucleus_message(nucleus) for nucleus in found.nuclei],
            truncated=found.truncated,
        )

    async def ListAnalysisBoxes(
        self, request: pb.ListAnalysisBoxesRequest, context: aio.ServicerContext
    ) -> pb.ListAnalysisBoxesResponse:
        slide = await self._slide(request.slide_id)
        boxes = await self.store.list_boxes(slide.id)
        return pb.ListAnalysisBoxesResponse(
            slide_id=slide.id, boxes=[box_message(box) for box in boxes]
        )

    async def GetAnalysisBox(
        self, request: pb.GetAnalysisBoxRequest, context: aio.ServicerContext
    ) -> pb.GetAnalysisBoxResponse:
        box = await self.store.get_box(request.box_id)
        return pb.GetAnalysisBoxResponse(
            box=box_message(box), metrics=metrics_message(box_metrics(box.counts))
        )

    async def DeleteAnalysisBox(
        self, request: pb.DeleteAnalysisBoxRequest, context: aio.ServicerContext
    ) -> pb.DeleteAnalysisBoxResponse:
        box = await self.store.get_box(request.box_id)
        # A whole-slide analysis filling this box stops first (nothing half-written).
        await self.slide_analyses.stop_for(slide_id=box.slide_id, box_id=box.id)
        deleted = await self.store.delete_box(request.box_id)
        return pb.DeleteAnalysisBoxResponse(deleted_nuclei=deleted)

    async def DeleteSlideAnalyses(
        self, request: pb.DeleteSlideAnalysesRequest, context: aio.ServicerContext
    ) -> pb.DeleteSlideAnalysesResponse:
        slide_id = str(parse_id(request.slide_id, "slide_id"))
        await self.slide_analyses.stop_for(slide_id=slide_id)
        boxes, nuclei = await self.store.delete_slide(slide_id)
        return pb.DeleteSlideAnalysesResponse(deleted_boxes=boxes, deleted_nuclei=nuclei)

    async def ExportGeoJson(
        self, request: pb.ExportGeoJsonRequest, context: aio.ServicerContext
    ) -> AsyncIterator[pb.ExportGeoJsonResponse]:
        # Everything that can fail with a status is checked before the first chunk.
        source = request.WhichOneof("source")
        if source == "box_id":
            box = await self.store.get_box(request.box_id)
            pages = self.store.box_features(box.id)
        elif source == "region":
            slide = await self._slide(request.region.slide_id)
            bounds = _bounds(request.region.bounds).clamped(slide.width_px, slide.height_px)
            pages = self.store.region_features(slide.id, bounds)
        else:
            raise InvalidArgument("an export names a box_id or a region")
        async for chunk in feature_collection(pages):
            yield pb.ExportGeoJsonResponse(chunk=chunk)

    async def StartSlideAnalysis(
        self, request: pb.StartSlideAnalysisRequest, context: aio.ServicerContext
    ) -> pb.StartSlideAnalysisResponse:
        job, plan = await self.slide_analyses.start(request)
        tissue = plan.tissue_mm2
        area = f", {tissue:.2f} mm² of tissue" if plan.mpp else ""
        return pb.StartSlideAnalysisResponse(
            job_id=job.id,
            box_id=plan.box_id,
            regions=len(plan.regions),
            tissue_mm2=tissue,
            message=f"Analysing {len(plan.regions)} regions{area}",
            estimated_duration_s=self.slide_analyses.estimated_duration_s(plan),
            job=job_to_proto(job, self.service_name),
        )

    async def ListSlideAnalysisRegions(
        self, request: pb.ListSlideAnalysisRegionsRequest, context: aio.ServicerContext
    ) -> pb.ListSlideAnalysisRegionsResponse:
        job = await self.jobs.store.get(request.job_id)
        if job.type != JOB_TYPE:
            raise NotFound(
                f"job {job.id} is not a whole-slide analysis (it is {job.type!r})",
                job_id=job.id,
            )
        return regions_message(job, await self.store.stored_regions(job.id))
