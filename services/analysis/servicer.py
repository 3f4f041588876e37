"""gRPC servicer of the analysis service: translates protos to the domain core and back."""

from __future__ import annotations

from common.jobs.rpc import JobsServicerMixin
from common.jobs.runner import JobRunner
from micrographia.analysis.v1 import analysis_pb2_grpc


class AnalysisServicer(JobsServicerMixin, analysis_pb2_grpc.AnalysisServiceServicer):
    """Job RPCs are live; the others answer UNIMPLEMENTED until their issue lands."""

    service_name = "analysis"

    def __init__(self, jobs: JobRunner) -> None:
        self.jobs = jobs
