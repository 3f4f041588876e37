"""What a user may read about a failure: the service and the problem, never an
internal address, an RPC path or an exception's representation.

`public_text` is the one rule. It is applied where such text could reach a user:

- reading a failed call back (`common.rpc_errors.RpcFailure.from_error`): every
  failure the edge turns into an error body, an SSE `error` event or an MCP tool
  error, and every peer failure a service wraps into its own (a whole-slide job
  whose inference replica went away), passes there; gRPC's own words for a call
  that never reached its service ("failed to connect to all addresses; last
  error: UNKNOWN: ipv4:10.0.3.7:50051 ...") are replaced by a sentence;
- writing a job record (`common.jobs.store.JobStore`): the message and error a
  job shows (REST status, SSE progress, MCP `get_task`).

The original text stays in the logs (and in `RpcFailure.internal_message`).
"""

from __future__ import annotations

import re

import grpc

INTERNAL = "(internal detail)"

# Most specific first: a whole exception representation swallows what is inside it.
_PATTERNS = [
    # Python tracebacks: nothing from the first line on is for users.
    re.compile(r"Traceback \(most recent call last\):.*", re.S),
    # gRPC's debug string and reprs such as "<_AioRpcError of RPC that terminated with: ...>"
    # or "<object at 0x7f...>".
    re.compile(r'debug_error_string\s*=\s*"[^"]*"'),
    re.compile(r"<_?\w*RpcError\b[^<>]*>", re.S),
    re.compile(r"<[^<>]*\bat 0x[0-9A-Fa-f]+>"),
    # An exception's repr: "ConnectionRefusedError(111, 'Connect call failed')".
    re.compile(r"\b[A-Z]\w*(?:Error|Exception)\((?:[^()]|\([^()]*\))*\)"),
    # Addresses as gRPC writes them ("ipv4:127.0.0.1:51053", "unix:/run/x.sock").
    re.compile(r"\b(?:ipv4|ipv6|unix|unix-abstract|dns|xds):[^\s,;]+"),
    # Bare addresses: IPv4 (with or without port), bracketed IPv6, host:port on loopback.
    re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b"),
    re.compile(r"\[[0-9A-Fa-f:.]+\](?::\d{1,5})?"),
    re.compile(r"\blocalhost:\d{1,5}\b"),
    # RPC paths: "/micrographia.inference.v1.InferenceService/SegmentRegion".
    re.compile(r"/?\b(?:micrographia|grpc)\.[\w.]+/[A-Z]\w*"),
]

# What a call that never reached its service (no status of ours) means, in words.
_TRANSPORT_FAILURES = {
    grpc.StatusCode.UNAVAILABLE: "{service} could not be reached",
    grpc.StatusCode.DEADLINE_EXCEEDED: "{service} did not answer in time",
    grpc.StatusCode.CANCELLED: "the call to {service} was cancelled",
    grpc.StatusCode.UNIMPLEMENTED: "{service} does not offer this operation",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "the message was too large for {service}, or it is busy",
}


def public_text(text: str) -> str:
    """`text` with every internal detail replaced by "(internal detail)"."""
    for pattern in _PATTERNS:
        text = pattern.sub(INTERNAL, text)
    # Adjacent replacements read as one.
    return re.sub(rf"(?:{re.escape(INTERNAL)}[\s:,;]*){{2,}}", INTERNAL + " ", text).strip()


def transport_failure(code: grpc.StatusCode, text: str, service: str = "the service") -> str:
    """gRPC's own message for a failed call (no status from our services), for
    users; `service` names the peer when the caller knows it."""
    template = _TRANSPORT_FAILURES.get(code)
    if template is not None:
        return template.format(service=service)
    return public_text(text) or code.name.lower()
