"""gRPC servicer of the microscopy service: translates protos to the domain core and back."""

from __future__ import annotations

from common.jobs.rpc import JobsServicerMixin
from common.jobs.runner import JobRunner
from micrographia.microscopy.v1 import microscopy_pb2_grpc


class MicroscopyServicer(JobsServicerMixin, microscopy_pb2_grpc.MicroscopyServiceServicer):
    """Job RPCs are live; the others answer UNIMPLEMENTED until their issue lands."""

    service_name = "microscopy"

    def __init__(self, jobs: JobRunner) -> None:
        self.jobs = jobs
