"""OpenTelemetry tracing shared by the services and the edge.

Each service gets its own TracerProvider (so spans carry the right
`service.name` even when every service runs in one process), all feeding the
configured exporter. Trace context crosses gRPC in the W3C `traceparent`
metadata, injected by the client interceptors and extracted by the server one.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.instrumentation.grpc import aio_client_interceptors, aio_server_interceptor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
)

from common.settings import PlatformSettings

# Processors added here reach every provider created afterwards; tests use this
# to collect spans in memory next to the configured exporter.
_extra_processors: list[SpanProcessor] = []


def add_span_processor(processor: SpanProcessor) -> None:
    """Send the spans of every tracer provider created from now on to `processor` too."""
    _extra_processors.append(processor)


def remove_span_processor(processor: SpanProcessor) -> None:
    if processor in _extra_processors:
        _extra_processors.remove(processor)


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
    for processor in [*_exporter_processors(platform), *_extra_processors]:
        provider.add_span_processor(processor)
    return provider


def server_interceptor(provider: TracerProvider):
    """The gRPC server interceptor that continues the caller's trace."""
    return aio_server_interceptor(tracer_provider=provider)


def client_interceptors(provider: TracerProvider) -> list:
    """gRPC client interceptors that start a client span and propagate it."""
    return list(aio_client_interceptors(tracer_provider=provider))
