"""gRPC servicer of the slides service: translates protos to the domain core and back."""

from __future__ import annotations

from micrographia.slides.v1 import slides_pb2_grpc


class SlidesServicer(slides_pb2_grpc.SlidesServiceServicer):
    """Every RPC answers UNIMPLEMENTED until the slides issue lands."""
