"""Client channels to peer services: traced, sized for frames and regions, and
balanced round-robin over every address a name resolves to (a Kubernetes
headless service gives one per replica)."""

from __future__ import annotations

import json

from grpc import aio
from opentelemetry.sdk.trace import TracerProvider

from common.telemetry import client_interceptors

# Transient UNAVAILABLE (a replica restarting) is retried a couple of times;
# a peer that is really down still fails fast, well inside any edge deadline.
_SERVICE_CONFIG = json.dumps(
    {
        "loadBalancingConfig": [{"round_robin": {}}],
        "methodConfig": [
            {
                "name": [{}],
                "retryPolicy": {
                    "maxAttempts": 3,
                    "initialBackoff": "0.05s",
                    "maxBackoff": "0.5s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ],
    }
)


def channel_options(max_message_bytes: int) -> list[tuple[str, object]]:
    return [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.service_config", _SERVICE_CONFIG),
        ("grpc.enable_retries", 1),
        ("grpc.keepalive_time_ms", 30_000),
        # Reconnect quickly once a stopped peer is back.
        ("grpc.initial_reconnect_backoff_ms", 200),
        ("grpc.max_reconnect_backoff_ms", 2_000),
    ]


def open_channel(
    address: str,
    tracer_provider: TracerProvider | None,
    max_message_bytes: int = 64 * 1024 * 1024,
) -> aio.Channel:
    """An insecure (in-cluster) channel to `address`, e.g. "127.0.0.1:50053"."""
    interceptors = client_interceptors(tracer_provider) if tracer_provider is not None else None
    return aio.insecure_channel(
        address, options=channel_options(max_message_bytes), interceptors=interceptors
    )
