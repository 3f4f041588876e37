"""One request's trace holds spans of the edge and of the service it called."""

from __future__ import annotations

import time

from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind


def test_trace_spans_edge_and_service(platform, edge):
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    platform.app.state.tracer_provider.add_span_processor(processor)
    platform.runners["microscopy"].tracer_provider.add_span_processor(processor)
    try:
        assert (
            edge.get(
                "/api/processing/workflow/status/00000000-0000-0000-0000-000000000000"
            ).status_code
            == 404
        )
        # The edge's request span ends just after the response went out, so the
        # client can hold the response before that span is finished.
        deadline = time.monotonic() + 5
        while not any(
            span.kind is SpanKind.SERVER
            and span.resource.attributes["service.name"] == "micrographia-edge"
            for span in exporter.get_finished_spans()
        ):
            assert time.monotonic() < deadline, "the edge's request span never ended"
            time.sleep(0.01)
        spans = exporter.get_finished_spans()
    finally:
        exporter.shutdown()

    service_span = next(
        s
        for s in spans
        if s.kind is SpanKind.SERVER and s.name.endswith("MicroscopyService/GetJob")
    )
    trace_id = service_span.context.trace_id
    in_trace = [s for s in spans if s.context.trace_id == trace_id]
    edge_server = [
        s
        for s in in_trace
        if s.kind is SpanKind.SERVER
        and s.resource.attributes["service.name"] == "micrographia-edge"
    ]
    edge_client = [s for s in in_trace if s.kind is SpanKind.CLIENT]
    assert edge_server, "the edge's request span is in the same trace"
    assert edge_client and service_span.parent.span_id == edge_client[0].context.span_id
    assert service_span.resource.attributes["service.name"] == "micrographia-microscopy"
    assert service_span.attributes["rpc.grpc.status_code"] == 5  # NOT_FOUND recorded
