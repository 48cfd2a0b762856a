"""The bot's HTTP client (bot/transport.py) against real servers on 127.0.0.1: what PTB expects
of a `BaseRequest`, from form fields and uploads to timeouts, refusals and proxies."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from bot.transport import AiohttpRequest, _env_proxy
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.loopback import serve

TOKEN = "123456:TEST"


def bot_for(base: str, request: AiohttpRequest) -> Bot:
    return Bot(TOKEN, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot", request=request)


@pytest.fixture
async def slow_api() -> AsyncIterator[str]:
    """A Bot API that takes a second over every answer."""

    async def answer(request: web.Request) -> web.Response:
        await asyncio.sleep(1.0)
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner, port = await serve(app)
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_messages_and_uploads_reach_the_api_as_ptb_sends_them(bot_api: FakeBotAPI) -> None:
    async with bot_for(f"http://127.0.0.1:{bot_api.port}", AiohttpRequest(4)) as bot:
        await bot.send_message(42, "<b>A & B</b> ü", parse_mode="HTML", disable_notification=True)
        await bot.send_photo(42, b"\x89PNG fake", caption="chart", message_thread_id=7)
    text, photo = bot_api.messages(42)
    assert text["text"] == "<b>A & B</b> ü"
    assert text["parse_mode"] == "HTML"
    assert text["disable_notification"] is True
    assert photo["photo"] == b"\x89PNG fake"
    assert (photo["caption"], photo["message_thread_id"]) == ("chart", 7)


async def test_a_slow_answer_is_timed_out(slow_api: str) -> None:
    request = AiohttpRequest(4, read_timeout=0.2)
    await request.initialize()
    try:
        with pytest.raises(TimedOut):
            await request.post(f"{slow_api}/bot{TOKEN}/sendMessage")
        # A per-call timeout overrides the default, as with PTB's own client.
        assert await request.post(f"{slow_api}/bot{TOKEN}/close", read_timeout=3.0) is True
    finally:
        await request.shutdown()


async def test_a_refused_connection_is_a_network_error() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    request = AiohttpRequest(4)
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as raised:
            await request.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")
    finally:
        await request.shutdown()
    assert not isinstance(raised.value, TimedOut)


async def test_a_request_before_initialize_is_refused() -> None:
    with pytest.raises(NetworkError, match="not initialized"):
        await AiohttpRequest(1).post(f"http://127.0.0.1:1/bot{TOKEN}/getMe")


async def test_the_environments_proxy_is_used(
    bot_api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP_PROXY / NO_PROXY are honoured, as PTB's httpx client honoured them."""
    seen: list[str] = []

    async def proxy(request: web.Request) -> web.Response:
        seen.append(str(request.url))
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy)
    runner, proxy_port = await serve(app)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy_port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    _env_proxy.cache_clear()
    request = AiohttpRequest(4)
    await request.initialize()
    api = f"http://127.0.0.1:{bot_api.port}/bot{TOKEN}"
    try:
        assert await request.post(f"{api}/close") is True
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        _env_proxy.cache_clear()
        assert (await request.post(f"{api}/getMe"))["is_bot"] is True
    finally:
        _env_proxy.cache_clear()
        await request.shutdown()
        await runner.cleanup()
    assert seen == [f"{api}/close"]
    assert [call.method for call in bot_api.calls] == ["getMe"]
