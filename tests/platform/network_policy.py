"""Would the cluster let this connection through? NetworkPolicy semantics, offline.

A connection from `source` to `target` on a port is allowed when both ends agree:
the target's namespace lets it in (no policy selects the target for Ingress, or
one of those that do has a rule matching the source and port) and the source's
namespace lets it out (the same for Egress). Endpoints outside the cluster carry
an IP address and are matched by ipBlock rules only.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Manifest = dict[str, Any]


@dataclass(frozen=True)
class Endpoint:
    """A pod (namespace, labels, named container ports) or an address outside the cluster."""

    name: str
    namespace: str = ""
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    named_ports: Mapping[str, int] = field(default_factory=dict)
    ip: str | None = None

    @property
    def namespace_labels(self) -> dict[str, str]:
        return {"kubernetes.io/metadata.name": self.namespace}


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    if set(selector) - {"matchLabels"}:
        raise NotImplementedError(f"only matchLabels selectors are evaluated: {selector}")
    return all(labels.get(key) == value for key, value in selector.get("matchLabels", {}).items())


def policy_types(policy: Manifest) -> list[str]:
    spec = policy["spec"]
    return spec.get("policyTypes") or ["Ingress", *(["Egress"] if "egress" in spec else [])]


def peer_matches(peer: Manifest, policy_namespace: str, endpoint: Endpoint) -> bool:
    if "ipBlock" in peer:
        if endpoint.ip is None:
            return False
        address = ipaddress.ip_address(endpoint.ip)
        block = peer["ipBlock"]
        excluded = any(address in ipaddress.ip_network(cidr) for cidr in block.get("except", []))
        return address in ipaddress.ip_network(block["cidr"]) and not excluded
    if endpoint.ip is not None:
        return False
    if "namespaceSelector" in peer:
        in_namespace = selects(peer["namespaceSelector"], endpoint.namespace_labels)
    else:
        in_namespace = endpoint.namespace == policy_namespace
    return in_namespace and selects(peer.get("podSelector", {}), endpoint.pod_labels)


def port_matches(ports: list[Manifest] | None, port: int, protocol: str, target: Endpoint) -> bool:
    if not ports:
        return True
    for rule in ports:
        if rule.get("protocol", "TCP") != protocol:
            continue
        wanted = rule.get("port")
        if wanted is None:
            return True
        if isinstance(wanted, str):
            wanted = target.named_ports.get(wanted)
        if wanted is not None and wanted <= port <= rule.get("endPort", wanted):
            return True
    return False


def _admits(
    policies: list[Manifest],
    direction: str,
    subject: Endpoint,
    peer: Endpoint,
    port: int,
    protocol: str,
    target: Endpoint,
) -> bool:
    """Do the policies on `subject`'s side admit traffic to or from `peer`?"""
    if subject.ip is not None:
        return True  # outside the cluster: not ours to police
    relevant = [
        policy
        for policy in policies
        if policy["metadata"].get("namespace", "") == subject.namespace
        and selects(policy["spec"]["podSelector"], subject.pod_labels)
        and direction in policy_types(policy)
    ]
    if not relevant:
        return True
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    for policy in relevant:
        namespace = policy["metadata"].get("namespace", "")
        for rule in policy["spec"].get(rules_key) or []:
            peers = rule.get(peers_key)
            if (
                not peers or any(peer_matches(one, namespace, peer) for one in peers)
            ) and port_matches(rule.get("ports"), port, protocol, target):
                return True
    return False


def allows(
    policies: list[Manifest], source: Endpoint, target: Endpoint, port: int, protocol: str = "TCP"
) -> bool:
    """Whether `source` can open a connection to `target` on `port`."""
    return _admits(policies, "Ingress", target, source, port, protocol, target) and _admits(
        policies, "Egress", source, target, port, protocol, target
    )
