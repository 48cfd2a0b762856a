"""A fake Telegram Bot API server on 127.0.0.1 that python-telegram-bot talks to for real.

PTB POSTs every call to ``{base_url}/{method}`` (form-urlencoded, non-string values
JSON-encoded; multipart for uploads) and maps errors from the HTTP status: 401/404 become
``InvalidToken``, so unknown methods answer 400 here.

    async with FakeBotAPI() as fake:
        app = ApplicationBuilder().token("123456:TEST").base_url(fake.base_url)
              .base_file_url(fake.base_file_url).build()
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fakes.bot_api_updates import BotAPIError, UpdatesMixin, same_chat
from tests.fakes.loopback import serve

if TYPE_CHECKING:
    from telegram.ext import Application

# Fields PTB sends as plain strings; everything else is JSON-encoded (so "123" stays text).
_PLAIN = "text caption parse_mode callback_query_id file_id data inline_message_id language_code"
STRING_PARAMS = frozenset((_PLAIN + " url action business_connection_id").split())
MESSAGE_METHODS = ("sendMessage", "sendPhoto", "sendDocument", "editMessageText")
# How long a test waits for the bot to answer: generous, as a loaded machine can take
# seconds to draw a first chart; a passing test never waits this long.
WAIT_SECONDS = 15.0


@dataclass
class Call:
    """One request the fake received; uploaded files appear as ``bytes`` in ``params``."""

    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass
class _Failure:
    method: str
    error: BotAPIError
    chat_id: Any
    times: int
    thread_id: int | None = None


def _is_send(method: str) -> bool:
    return method.startswith(("send", "edit", "copyMessage", "forwardMessage"))


class FakeBotAPI(UpdatesMixin):
    """Bot API fake: records calls, serves updates and files, scripts errors and rate limits."""

    def __init__(self) -> None:
        self._init_updates()
        self.calls: list[Call] = []
        self.sent: asyncio.Queue[Call] = asyncio.Queue()
        self.blocked: dict[str, str] = {}
        self.migrated: dict[str, int] = {}
        self.too_many_requests = 0
        self._failures: list[_Failure] = []
        self._limits: tuple[int, int, int] | None = None
        self._send_times: deque[tuple[float, str]] = deque()
        self._delivered: list[Call] = []  # successful MESSAGE_METHODS calls
        self._awaited: set[int] = set()  # ids of params already returned by wait_for_message
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> FakeBotAPI:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner, self.port = await serve(app, shutdown_timeout=2.0)
        return self

    async def stop(self) -> None:
        self._wake_pollers()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotAPI:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # -- scripting -----------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        status: int,
        description: str,
        *,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        chat_id: Any = None,
        thread_id: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (to ``chat_id`` and its forum topic
        ``thread_id`` if given) with an error."""
        error = BotAPIError(
            status, description, retry_after=retry_after, migrate_to_chat_id=migrate_to_chat_id
        )
        self._failures.append(_Failure(method, error, chat_id, times, thread_id))

    def block_chat(self, chat_id: Any, description: str = "Forbidden: bot was blocked by the user"):
        """Every send to ``chat_id`` gets 403 from now on."""
        self.blocked[str(chat_id)] = description

    def migrate_chat(self, old_id: int, new_id: int) -> None:
        """Sends to ``old_id`` get 400 with ``migrate_to_chat_id=new_id`` (a group upgrade)."""
        self.migrated[str(old_id)] = new_id

    def enforce_limits(
        self,
        global_per_second: int = 30,
        per_private_chat_per_second: int = 1,
        per_group_per_minute: int = 20,
    ) -> None:
        """Answer 429 with retry_after when sends break Telegram's documented rates."""
        self._limits = (global_per_second, per_private_chat_per_second, per_group_per_minute)

    # -- inspection ----------------------------------------------------------------

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def messages(
        self, chat_id: Any = None, methods: tuple[str, ...] = ("sendMessage", "sendPhoto")
    ) -> list[dict[str, Any]]:
        """Params of successful sends (sendMessage/sendPhoto by default), oldest first."""
        return [
            c.params
            for c in self._delivered
            if c.method in methods and (chat_id is None or same_chat(c.params["chat_id"], chat_id))
        ]

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = WAIT_SECONDS) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked after every call); return it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (result := predicate()):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s")
            self._changed.clear()
            # Wake on every call, and also every 50 ms for state the fake doesn't see (a DB).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.05))
        return result

    async def wait_for_message(
        self,
        chat_id: Any = None,
        timeout: float = WAIT_SECONDS,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
    ) -> dict:
        """Return the first not-yet-awaited message matching ``chat_id`` and ``predicate``.

        Messages sent before the call count too, so there is no race with the bot.
        """

        def find() -> dict[str, Any] | None:
            for params in self.messages(chat_id):
                if id(params) not in self._awaited and (predicate is None or predicate(params)):
                    self._awaited.add(id(params))
                    return params
            return None

        try:
            return await self.wait_until(find, timeout)
        except TimeoutError:
            recent = [(c.method, c.params.get("chat_id")) for c in self.calls[-10:]]
            raise TimeoutError(
                f"no message for chat {chat_id} within {timeout}s; last calls: {recent}"
            ) from None

    # -- HTTP ----------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._read_params(request)
        call = Call(method, params)
        self.calls.append(call)
        try:
            self._check_scripted(method, params)
            handler = getattr(self, f"_m_{method}", None)
            if handler is None:
                raise BotAPIError(
                    400, f"Bad Request: method {method} is not implemented by the fake"
                )
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
        except BotAPIError as error:
            return web.json_response(error.body(), status=error.status)
        finally:
            self._changed.set()
        if method in MESSAGE_METHODS:
            self._delivered.append(call)
            self.sent.put_nowait(call)
        return web.json_response({"ok": True, "result": result})

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                params[key] = value.file.read()
            elif key in STRING_PARAMS:
                params[key] = value
            else:
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    params[key] = value  # e.g. chat_id="@channel"
        return params

    def _check_scripted(self, method: str, params: dict[str, Any]) -> None:
        chat_id = params.get("chat_id")
        for failure in self._failures:
            if (
                failure.method == method
                and failure.times > 0
                and (failure.chat_id is None or same_chat(failure.chat_id, chat_id))
                and (
                    failure.thread_id is None
                    or str(failure.thread_id) == str(params.get("message_thread_id"))
                )
            ):
                failure.times -= 1
                raise failure.error
        if chat_id is None or not _is_send(method):
            return
        if str(chat_id) in self.blocked:
            raise BotAPIError(403, self.blocked[str(chat_id)])
        if str(chat_id) in self.migrated:
            raise BotAPIError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=self.migrated[str(chat_id)],
            )
        if self._limits and method.startswith("send"):
            self._check_rate(str(chat_id))

    def _check_rate(self, chat: str) -> None:
        global_ps, private_ps, group_pm = self._limits or (0, 0, 0)
        now = time.monotonic()
        while self._send_times and now - self._send_times[0][0] > 60:
            self._send_times.popleft()
        recent = [t for t, _ in self._send_times if now - t < 1]
        mine = [t for t, c in self._send_times if c == chat]
        is_group = chat.startswith(("-", "@"))  # channels count as groups, as in AIORateLimiter
        if len(recent) >= global_ps:
            wait = 1 - (now - recent[-global_ps])
        elif not is_group and len([t for t in mine if now - t < 1]) >= private_ps:
            wait = 1 - (now - mine[-private_ps])
        elif is_group and len(mine) >= group_pm:
            wait = 60 - (now - mine[-group_pm])
        else:
            self._send_times.append((now, chat))
            return
        self.too_many_requests += 1
        retry = max(1, math.ceil(wait))
        raise BotAPIError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)

    async def _download(self, request: web.Request) -> web.Response:
        wanted = request.match_info["path"]
        for path, content in self.files.values():
            if path == wanted:
                return web.Response(body=content, content_type="application/octet-stream")
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )


@contextlib.asynccontextmanager
async def polling(app: Application) -> AsyncIterator[Application]:
    """Initialise ``app`` and poll updates from the fake; always stops and shuts down."""
    async with app:
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        await app.start()
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()
