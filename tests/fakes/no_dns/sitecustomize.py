"""Loaded by a `trendbot` subprocess whose PYTHONPATH starts here: names other than
localhost do not resolve ("Name or service not known"), as on a machine whose DNS is down.

A test can then show what trendbot says about a host that does not resolve without any
lookup leaving the machine.
"""

from __future__ import annotations

import socket
from typing import Any

_real_getaddrinfo = socket.getaddrinfo
_LOCAL = ("localhost", "127.0.0.1", "::1", "", None)


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else host
    if name not in _LOCAL:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _getaddrinfo
