"""gRPC servicer of the spatial service: translates protos to the domain core and back."""

from __future__ import annotations

from micrographia.spatial.v1 import spatial_pb2_grpc


class SpatialServicer(spatial_pb2_grpc.SpatialServiceServicer):
    """Every RPC answers UNIMPLEMENTED until the spatial issue lands."""
