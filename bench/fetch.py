"""CPU per conditional GET (an answer of 304): httpx against trendbot's aiohttp client.

Run from the repo root: `.venv/bin/python bench/fetch.py [--requests 2000]`.
A feed server in its own process answers every request 304 on 127.0.0.1. In the same run,
one client each (10 requests at once, kept-alive connections) sends `--requests`
conditional GETs: httpx.AsyncClient as the feed code used it (follow_redirects off, gzip
accepted), trendbot's `fetch()` on its aiohttp client (SSRF resolver, per-host gates,
redirect and size checks), and a bare aiohttp session. Reports the poller's CPU (user +
system) per request, best of `--repeats`, with the machine. httpx is a test dependency only.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import multiprocessing.connection
import platform
import resource
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import httpx
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from machine import cpu_name  # bench/machine.py: scripts run from bench/

from trends.ingest.fetch import CONCURRENCY, HostLimits, fetch, new_client

ETAG = '"v1"'
Get = Callable[[str], Awaitable[object]]


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _serve(port_out: multiprocessing.connection.Connection) -> None:
    async def answer(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == ETAG:
            return web.Response(status=304, headers={"ETag": ETAG})
        return web.Response(body=b"<rss/>", headers={"ETag": ETAG})

    async def run() -> None:
        app = web.Application()
        app.router.add_get("/f/{number}.xml", answer)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        port_out.send(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        await asyncio.Event().wait()

    asyncio.run(run())


async def _cpu_per_request(get: Get, urls: list[str]) -> float:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(url: str) -> None:
        async with gate:
            await get(url)

    await asyncio.gather(*(one(url) for url in urls[:50]))  # warm: connections open
    started = _cpu_seconds()
    await asyncio.gather(*(one(url) for url in urls))
    return (_cpu_seconds() - started) / len(urls)


async def _httpx(urls: list[str]) -> float:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    headers = {"Accept-Encoding": "gzip, deflate"}
    async with httpx.AsyncClient(limits=limits, headers=headers) as client:

        async def get(url: str) -> None:
            async with client.stream("GET", url, headers={"If-None-Match": ETAG}) as response:
                assert response.status_code == 304
                await response.aread()

        return await _cpu_per_request(get, urls)


async def _trendbot(urls: list[str]) -> float:
    hosts = HostLimits()
    async with new_client(allow_private=True) as client:

        async def get(url: str) -> None:
            result = await fetch(client, url, etag=ETAG, hosts=hosts)
            assert result.not_modified

        return await _cpu_per_request(get, urls)


async def _aiohttp(urls: list[str]) -> float:
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def get(url: str) -> None:
            async with session.get(url, headers={"If-None-Match": ETAG}) as response:
                assert response.status == 304
                await response.read()

        return await _cpu_per_request(get, urls)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {platform.platform()}, {cpu_name()}, python {platform.python_version()}")
    print(
        f"httpx {httpx.__version__}, aiohttp {aiohttp.__version__}; {args.requests} conditional "
        f"GETs, {CONCURRENCY} at once, one server process on 127.0.0.1, best of {args.repeats}"
    )
    receive, send = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.Process(target=_serve, args=(send,), daemon=True)
    server.start()
    try:
        port = receive.recv()
        urls = [f"http://127.0.0.1:{port}/f/{i}.xml" for i in range(args.requests)]
        clients = {
            "httpx (the feed client before)": _httpx,
            "trendbot fetch() on aiohttp (now)": _trendbot,
            "bare aiohttp session": _aiohttp,
        }
        best = {
            name: min(asyncio.run(run(urls)) for _ in range(args.repeats))
            for name, run in clients.items()
        }
    finally:
        server.terminate()
        server.join()
    for name, seconds in best.items():
        print(f"  {name}: {seconds * 1e3:.3f} ms CPU per 304")
    before, after = (
        best["httpx (the feed client before)"],
        best["trendbot fetch() on aiohttp (now)"],
    )
    print(f"  trendbot's client now costs {after / before:.0%} of httpx's CPU per 304")


if __name__ == "__main__":
    main()
