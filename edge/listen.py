"""The sockets the edge listens on: by default both loopbacks, 127.0.0.1 and
::1 (`localhost` resolves to either, and browsers try ::1 first)."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterable

logger = logging.getLogger("micrographia.edge")


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            # "::1" and "127.0.0.1" are separate sockets on the same port.
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


def bind_sockets(hosts: Iterable[str], port: int) -> list[socket.socket]:
    """A listening socket per host, all on `port` (0: the port the first one got).

    A host this machine cannot bind (no IPv6) is skipped with a warning; none
    bound at all is an error.
    """
    sockets: list[socket.socket] = []
    for host in hosts:
        try:
            sockets.append(_bind(host, port))
        except OSError as error:
            logger.warning("the edge cannot listen on %s port %s: %s", host, port, error)
            continue
        port = port or sockets[0].getsockname()[1]
    if not sockets:
        raise OSError(f"the edge could not listen on any of {list(hosts)} port {port}")
    return sockets
