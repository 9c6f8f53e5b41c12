"""The HTTP protocol ``kovflow serve`` gives uvicorn: h11 with TCP_NODELAY on every connection.

asyncio sets TCP_NODELAY only on sockets whose protocol number says TCP. The listening socket
uvicorn hands to its worker processes (``serve --workers``) is rebuilt from a file descriptor and
says 0, so an answer's body (written after its headers) waited for the client's delayed ACK:
40 ms on every request. Setting the option on each connection makes both modes alike.
"""

from __future__ import annotations

import socket
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: Any) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
