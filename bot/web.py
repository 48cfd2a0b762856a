"""The bot's HTTP server (aiohttp): the Telegram webhook, /healthz and /metrics.

One server per process: on `$PORT` in webhook mode, where Telegram POSTs updates and the
platform probes health; on `TRENDBOT_HTTP_PORT` in polling mode, for health and metrics only.
aiohttp rather than PTB's own webhook server, which needs tornado; aiohttp is already the
bot's HTTP client. An accepted update goes onto `application.update_queue`, where the same
handlers as in polling mode take it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update

from bot import metrics
from bot.context import TrendApplication
from config.settings import Settings
from trends.errors import ConfigError
from trends.store import health

__all__ = ["SECRET_HEADER", "HttpServer", "Webhook", "webhook_for"]

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_OWN_PATHS = ("/healthz", "/metrics")


@dataclass(frozen=True, slots=True)
class Webhook:
    url: str  # given to setWebhook
    path: str  # where this server takes the POSTs: the URL's path
    secret: str = ""  # the secret_token Telegram sends back in SECRET_HEADER

    def __repr__(self) -> str:  # the secret must never reach a log
        return f"Webhook(url={self.url!r}, path={self.path!r})"


def webhook_for(settings: Settings) -> Webhook | None:
    """Webhook mode's settings, or None for polling (no TRENDBOT_WEBHOOK_URL)."""
    if settings.webhook_url is None:
        return None
    path = urlsplit(settings.webhook_url).path or "/"
    if path in _OWN_PATHS:
        raise ConfigError(f"TRENDBOT_WEBHOOK_URL must not end in {path}: that path is taken")
    return Webhook(settings.webhook_url, path, settings.webhook_secret or _derived_secret(settings))


def _derived_secret(settings: Settings) -> str:
    """A secret only the token's holder can compute, the same on every restart and replica, so
    an operator who sets none is still protected (hex: within Telegram's allowed characters)."""
    token = settings.telegram_bot_token or ""
    return hmac.new(token.encode(), b"trendbot webhook secret", hashlib.sha256).hexdigest()


class HttpServer:
    """The aiohttp app and its listening socket; `start()` binds, `stop()` closes."""

    def __init__(self, application: TrendApplication, webhook: Webhook | None = None) -> None:
        self.application = application
        self.webhook = webhook
        self._runner: web.AppRunner | None = None
        self.app = web.Application()
        self.app.router.add_get("/healthz", self._healthz)
        self.app.router.add_get("/metrics", self._metrics)
        if webhook is not None:
            self.app.router.add_post(webhook.path, self._update)

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Listen on `host:port`; returns the address bound (port 0 picks a free one)."""
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound = self._runner.addresses[0]
        log.info("HTTP server on %s:%s (%s)", bound[0], bound[1], self._mode)
        return bound[0], bound[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def _mode(self) -> str:
        return "webhook" if self.webhook is not None else "polling"

    # -- handlers ------------------------------------------------------------------

    async def _update(self, request: web.Request) -> web.Response:
        assert self.webhook is not None
        given = request.headers.get(SECRET_HEADER, "")
        # compare_digest: the time taken must not tell how much of a guess was right.
        if not hmac.compare_digest(given.encode(), self.webhook.secret.encode()):
            metrics.WEBHOOK_REQUESTS.labels("forbidden").inc()
            return web.Response(status=403, text="forbidden")
        try:
            data = await request.json()
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            update = Update.de_json(data, self.application.bot)
        except (ValueError, TypeError, KeyError) as exc:
            metrics.WEBHOOK_REQUESTS.labels("invalid").inc()
            log.warning("webhook: unusable update: %s", exc)
            return web.Response(status=400, text="not an update")
        metrics.WEBHOOK_REQUESTS.labels("accepted").inc()
        await self.application.update_queue.put(update)
        return web.Response(text="ok")

    async def _healthz(self, _request: web.Request) -> web.Response:
        body, healthy = await self.health()
        return web.json_response(body, status=200 if healthy else 503)

    async def health(self) -> tuple[dict[str, Any], bool]:
        """The /healthz document and whether it is healthy: the database answers with our
        schema and the scheduler runs (it owns the poll, digest and alert ticks)."""
        data = self.application.bot_data
        store = (
            await health.check(data.service.db)
            if data.has_service
            else health.StoreHealth(False, error="not started")
        )
        jobs = self.application.job_queue
        scheduler = bool(jobs is not None and jobs.scheduler.running)
        polled = metrics.last_poll()
        last_poll = (
            datetime.fromtimestamp(polled, UTC) if polled is not None else store.last_feed_check
        )
        problems = []
        if not store.reachable:
            problems.append(f"database: {store.error}")
        if not scheduler:
            problems.append("scheduler: not running")
        body = {
            "status": "unhealthy" if problems else "ok",
            "mode": self._mode,
            "database": store.reachable,
            "schema_revision": store.revision,
            "scheduler": scheduler,
            "last_poll": _iso(last_poll),
            "last_broadcast": _iso(store.last_broadcast),
            "problems": problems,
            "checked_at": _iso(datetime.fromtimestamp(time.time(), UTC)),
        }
        return body, not problems

    async def _metrics(self, _request: web.Request) -> web.Response:
        response = web.Response(body=metrics.render())
        response.headers["Content-Type"] = metrics.CONTENT_TYPE
        return response


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment is not None else None
