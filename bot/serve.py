"""`trendbot run`: the application's life in polling or webhook mode, with the HTTP server.

PTB's `run_polling` has no place for a server of our own, and its `run_webhook` needs
tornado; this is the same sequence (initialize, post_init, start, wait for a signal, stop,
shutdown, post_shutdown) with the update source chosen by the settings:

- polling (the default): getUpdates; /healthz and /metrics on TRENDBOT_HTTP_PORT if set,
  on 127.0.0.1 unless TRENDBOT_HTTP_HOST says otherwise;
- webhook (TRENDBOT_WEBHOOK_URL set): setWebhook with the secret token, and one server on
  $PORT (every interface by default) for the webhook, /healthz and /metrics.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from telegram.error import TelegramError

from bot.context import TrendApplication
from bot.metrics import watch_queues
from bot.pacing import Pacer
from bot.web import HttpServer, Webhook, webhook_for
from config.settings import Settings
from trends.errors import ConfigError

__all__ = ["ALLOWED_UPDATES", "DEFAULT_WEBHOOK_PORT", "listen_address", "run_bot", "serve"]

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query", "channel_post", "my_chat_member"]
DEFAULT_WEBHOOK_PORT = 8080  # when neither $PORT nor TRENDBOT_HTTP_PORT is set


def run_bot(application: TrendApplication, settings: Settings) -> None:
    """Serve until SIGINT or SIGTERM, then stop cleanly."""
    asyncio.run(_until_signalled(application, settings))


async def _until_signalled(application: TrendApplication, settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await serve(application, settings, stop)


def listen_address(settings: Settings, webhook: Webhook | None) -> tuple[str, int] | None:
    """Where the HTTP server listens, or None for no server (polling without a port)."""
    if webhook is not None:
        port = settings.port or settings.http_port or DEFAULT_WEBHOOK_PORT
        return settings.http_host or "0.0.0.0", port  # Telegram must reach it
    if settings.http_port is None:
        return None
    return settings.http_host or "127.0.0.1", settings.http_port


async def serve(
    application: TrendApplication,
    settings: Settings,
    stop: asyncio.Event,
    *,
    bound: asyncio.Future[tuple[str, int]] | None = None,
) -> None:
    """Run `application` until `stop` is set; `bound` gets the HTTP server's address once
    updates flow (the webhook is registered, or polling has begun)."""
    webhook = webhook_for(settings)
    address = listen_address(settings, webhook)
    server = HttpServer(application, webhook) if address is not None else None
    await application.initialize()
    try:
        if application.post_init is not None:
            await application.post_init(application)
        pacer = application.bot.rate_limiter
        watch_queues(
            application.update_queue.qsize,
            pacer.waiting if isinstance(pacer, Pacer) else lambda: 0,
        )
        where = await _listen(server, address, webhook) if server and address else None
        await application.start()  # handlers and the scheduler, before updates can arrive
        if webhook is not None:
            try:
                await application.bot.set_webhook(
                    webhook.url, secret_token=webhook.secret, allowed_updates=ALLOWED_UPDATES
                )
            except TelegramError as exc:  # e.g. not https, or a port Telegram won't call
                raise ConfigError(
                    f"TRENDBOT_WEBHOOK_URL={webhook.url}: Telegram refused it: {exc.message}"
                ) from None
            log.info("webhook mode: Telegram posts updates to %s", webhook.url)
        else:
            assert application.updater is not None
            await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
        if bound is not None and where is not None:
            bound.set_result(where)
        await stop.wait()
    finally:
        # The webhook stays registered: Telegram keeps updates for the next start.
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
            if application.post_stop is not None:
                await application.post_stop(application)
        if server is not None:
            await server.stop()
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


async def _listen(
    server: HttpServer, address: tuple[str, int], webhook: Webhook | None
) -> tuple[str, int]:
    try:
        return await server.start(*address)
    except OSError as exc:  # the port is taken, or the address is not this machine's
        setting = "PORT" if webhook is not None else "TRENDBOT_HTTP_PORT"
        raise ConfigError(
            f"cannot listen on {address[0]}:{address[1]} ({setting}, TRENDBOT_HTTP_HOST): "
            f"{exc.strerror or exc}"
        ) from None
