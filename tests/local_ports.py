"""Free TCP ports on 127.0.0.1 for the tests' clusters and servers."""

import socket


def free_ports(n):
    """`n` distinct ports that were free a moment ago (bound to port 0, then closed)."""
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports
