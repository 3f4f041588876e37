"""Client channels to peer services: traced, sized for frames and regions, and
balanced round-robin over every address a name resolves to (a Kubernetes
headless service gives one per replica)."""

from __future__ import annotations

import ipaddress
import json

from google.protobuf import descriptor_pb2
from grpc import aio
from opentelemetry.sdk.trace import TracerProvider

from common.telemetry import client_interceptors
from micrographia.analysis.v1 import analysis_pb2
from micrographia.inference.v1 import inference_pb2
from micrographia.microscopy.v1 import microscopy_pb2
from micrographia.slides.v1 import slides_pb2
from micrographia.spatial.v1 import spatial_pb2

# The RPCs that may be retried are marked where they are defined, in protos/:
# `option idempotency_level = NO_SIDE_EFFECTS` (reads) or `IDEMPOTENT` (repeating
# changes nothing more: LoadMetadata only refreshes the recent-files entry).
# Anything that creates, deletes, starts or cancels (DeleteSlide, Start*, CancelJob,
# UploadSlide, AnalyzeViewport, ...) is unmarked and runs at most once per call: a
# retry after UNAVAILABLE could repeat work the peer did, and multiplies the wait.
_SERVICE_FILES = (
    microscopy_pb2.DESCRIPTOR,
    analysis_pb2.DESCRIPTOR,
    slides_pb2.DESCRIPTOR,
    inference_pb2.DESCRIPTOR,
    spatial_pb2.DESCRIPTOR,
)


def retryable_methods() -> dict[str, tuple[str, ...]]:
    """Every service's RPCs marked idempotent in its proto, by full service name."""
    unknown = descriptor_pb2.MethodOptions.IDEMPOTENCY_UNKNOWN
    return {
        service.full_name: tuple(
            method.name
            for method in service.methods
            if method.GetOptions().idempotency_level != unknown
        )
        for file in _SERVICE_FILES
        for service in file.services_by_name.values()
    }


IDEMPOTENT_READS = retryable_methods()

# Transient UNAVAILABLE (a replica restarting) is retried a couple of times;
# a peer that is really down still fails fast, well inside any edge deadline.
_SERVICE_CONFIG = json.dumps(
    {
        "loadBalancingConfig": [{"round_robin": {}}],
        "methodConfig": [
            {
                "name": [
                    {"service": service, "method": method}
                    for service, methods in IDEMPOTENT_READS.items()
                    for method in methods
                ],
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

# Keep-alive pings find a dead or hung peer under a call without a deadline (a
# job's progress stream), also while that stream is quiet. Servers accept pings
# this often (common.server), so they do not answer with "too many pings".
KEEPALIVE_TIME_MS = 30_000


def channel_options(max_message_bytes: int) -> list[tuple[str, object]]:
    return [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.service_config", _SERVICE_CONFIG),
        ("grpc.enable_retries", 1),
        ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.http2.max_pings_without_data", 0),
        # Reconnect quickly once a stopped peer is back.
        ("grpc.initial_reconnect_backoff_ms", 200),
        ("grpc.max_reconnect_backoff_ms", 2_000),
        # A channel's connection state is its own: a channel opened beside another
        # to the same peer (a second edge in one process) starts fresh instead of
        # sharing a subchannel already in backoff after a refused connect.
        ("grpc.use_local_subchannel_pool", 1),
    ]


_SCHEMES = ("dns:", "ipv4:", "ipv6:", "unix:", "unix-abstract:", "vsock:")


def grpc_target(address: str) -> str:
    """The gRPC target of an address setting. One address, or a target with a
    scheme, is used as it is (a name resolving to every replica is balanced over
    them all); a comma list of IP:port pairs ("10.0.0.5:50054,10.0.0.6:50054")
    becomes gRPC's `ipv4:`/`ipv6:` list, balanced over each."""
    address = address.strip()
    if "," not in address or address.startswith(_SCHEMES):
        return address
    parts = [part.strip() for part in address.split(",") if part.strip()]
    versions = set()
    for part in parts:
        host, _, port = part.rpartition(":")
        try:
            versions.add(ipaddress.ip_address(host.strip("[]")).version)
        except ValueError:
            raise ValueError(
                f"address list {address!r}: {part!r} is not IP:port (a list takes IP "
                "addresses; a DNS name resolving to every replica is one address)"
            ) from None
        if not port.isdigit():
            raise ValueError(f"address list {address!r}: {part!r} has no port")
    if len(versions) > 1:
        raise ValueError(f"address list {address!r} mixes IPv4 and IPv6")
    return f"ipv{versions.pop()}:{','.join(parts)}"


def open_channel(
    address: str,
    tracer_provider: TracerProvider | None,
    max_message_bytes: int = 64 * 1024 * 1024,
) -> aio.Channel:
    """An insecure (in-cluster) channel to `address`, e.g. "127.0.0.1:50053", a
    name resolving to every replica, or a comma list of IP:port (`grpc_target`)."""
    interceptors = client_interceptors(tracer_provider) if tracer_provider is not None else None
    return aio.insecure_channel(
        grpc_target(address), options=channel_options(max_message_bytes), interceptors=interceptors
    )
