"""The inference service."""

from __future__ import annotations

from grpc import aio

from common.server import GrpcService
from micrographia.inference.v1 import inference_pb2, inference_pb2_grpc
from services.inference.servicer import InferenceServicer


class InferenceService(GrpcService):
    name = "inference"
    service_names = (inference_pb2.DESCRIPTOR.services_by_name["InferenceService"].full_name,)

    async def setup(self, server: aio.Server) -> None:
        inference_pb2_grpc.add_InferenceServiceServicer_to_server(InferenceServicer(), server)
