"""A fake OpenAI-compatible chat completions endpoint on 127.0.0.1.

    async with FakeLLMAPI() as llm:
        llm.answer = lambda request: '{"themes": [3], "summary": "..."}'
        LLMConfig(url=llm.base_url, model="fake-model")

Every request is recorded (`calls`, the parsed JSON bodies; `headers`). `answer(request)`
returns the assistant message's content, or None to answer HTTP 500; `delay` holds each
answer back that many seconds; `usage` is the `usage` object sent back (None leaves it out).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.fakes.loopback import serve

__all__ = ["FakeLLMAPI", "user_text"]


def user_text(request: dict[str, Any]) -> str:
    """The user message of a chat completion request: the post's title and text."""
    return next(m["content"] for m in request["messages"] if m["role"] == "user")


class FakeLLMAPI:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.answer: Callable[[dict[str, Any]], str | None] = lambda _request: (
            '{"themes": [], "summary": "Nothing to say."}'
        )
        self.delay = 0.0
        self.usage: dict[str, int] | None = {
            "prompt_tokens": 900,
            "completion_tokens": 100,
            "total_tokens": 1000,
        }
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> FakeLLMAPI:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        self._runner, self.port = await serve(app, shutdown_timeout=0.5)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeLLMAPI:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _completions(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(body)
        self.headers.append(dict(request.headers))
        if self.delay:
            await asyncio.sleep(self.delay)
        content = self.answer(body)
        if content is None:
            return web.json_response({"error": {"message": "scripted failure"}}, status=500)
        response: dict[str, Any] = {
            "id": f"chatcmpl-{len(self.calls)}",
            "object": "chat.completion",
            "model": body.get("model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
        }
        if self.usage is not None:
            response["usage"] = self.usage
        return web.json_response(response)
