"""Start an aiohttp app on 127.0.0.1 at a free port: the one way every fake server starts."""

from __future__ import annotations

import socket

from aiohttp import web

__all__ = ["serve"]


async def serve(
    app: web.Application, *, shutdown_timeout: float = 1.0, host: str = "127.0.0.1"
) -> tuple[web.AppRunner, int]:
    """The running app's runner (for `cleanup()`) and its port; `host` is a loopback
    address (127.0.0.2 can stand in for another machine)."""
    # Binding the socket ourselves gives a free port on loopback only.
    sock = socket.socket()
    sock.bind((host, 0))
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return runner, sock.getsockname()[1]
