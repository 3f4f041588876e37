"""gRPC servicer of the inference service: translates protos to the domain core and back."""

from __future__ import annotations

from micrographia.inference.v1 import inference_pb2_grpc


class InferenceServicer(inference_pb2_grpc.InferenceServiceServicer):
    """Every RPC answers UNIMPLEMENTED until the inference issue lands."""
