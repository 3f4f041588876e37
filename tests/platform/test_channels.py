"""Peer addresses as gRPC targets: one address as it is, a comma list of IP:port
as gRPC's ipv4:/ipv6: list (balanced round-robin over each; the whole-slide
test in tests/spatial runs one over two real inference replicas)."""

from __future__ import annotations

import pytest

from common.channels import grpc_target


@pytest.mark.parametrize(
    ("address", "target"),
    [
        ("127.0.0.1:50054", "127.0.0.1:50054"),
        ("inference.micrographia.svc:50054", "inference.micrographia.svc:50054"),
        ("dns:///inference:50054", "dns:///inference:50054"),
        ("ipv4:10.0.0.5:1,10.0.0.6:1", "ipv4:10.0.0.5:1,10.0.0.6:1"),
        ("10.0.0.5:50054, 10.0.0.6:50054", "ipv4:10.0.0.5:50054,10.0.0.6:50054"),
        ("[::1]:50054,[fe80::2]:50054", "ipv6:[::1]:50054,[fe80::2]:50054"),
    ],
)
def test_addresses_become_targets(address: str, target: str) -> None:
    assert grpc_target(address) == target


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("inference-0:50054,inference-1:50054", "not IP:port"),
        ("10.0.0.5:50054,10.0.0.6", "not IP:port"),
        ("10.0.0.5:50054,10.0.0.6:x", "no port"),
        ("10.0.0.5:50054,[::1]:50054", "mixes"),
    ],
)
def test_bad_address_lists_are_named(address: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        grpc_target(address)
