"""OpenTelemetry tracing shared by the services and the edge.

Each service gets its own TracerProvider (so spans carry the right
`service.name` even when every service runs in one process), all feeding the
configured exporter. Trace context crosses gRPC in the W3C `traceparent`
metadata, injected by the client interceptors and extracted by the server's
tracing layer (`common.interceptors.TracingLayer`: OpenTelemetry's own aio server
interceptor holds its span across the yields of a stream and detaches it from
another task when a caller leaves early).
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.instrumentation.grpc import aio_client_interceptors, filters
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
)

from common.settings import PlatformSettings


def _exporter_processors(platform: PlatformSettings) -> Sequence[SpanProcessor]:
    if platform.otel_exporter == "console":
        return [SimpleSpanProcessor(ConsoleSpanExporter())]
    if platform.otel_exporter == "otlp":
        # Imported lazily: the OTLP exporter pulls in its own gRPC stubs.
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        exporter = (
            OTLPSpanExporter(endpoint=platform.otel_endpoint)
            if platform.otel_endpoint
            else OTLPSpanExporter()
        )
        return [BatchSpanProcessor(exporter)]
    return []


def tracer_provider_for(service_name: str, platform: PlatformSettings) -> TracerProvider:
    """A provider whose spans name `service_name` and go to the configured exporter."""
    provider = TracerProvider(
        resource=Resource.create({"service.name": f"micrographia-{service_name}"})
    )
    for processor in _exporter_processors(platform):
        provider.add_span_processor(processor)
    return provider


# Not traced: health probes and reflection (noise), and Deep
# Zoom tile fetches, which come by the hundred per pan: a span each would cost
# more than serving a cached tile.
TRACED = filters.negate(
    filters.any_of(
        filters.service_prefix("grpc.health."),
        filters.service_prefix("grpc.reflection."),
        filters.full_method_name("/micrographia.slides.v1.SlidesService/GetDeepZoomTile"),
    )
)


def client_interceptors(provider: TracerProvider) -> list:
    """gRPC client interceptors that start a client span and propagate it."""
    return list(aio_client_interceptors(tracer_provider=provider, filter_=TRACED))
