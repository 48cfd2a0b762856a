"""The one place where an error that ends a `trendbot` command becomes one line for the operator.

A bad setting, a file that is missing, a database that can't be opened, a token Telegram
rejects or a Bot API that can't be reached is not a bug: the operator gets one line that
says what is wrong and what to do, never a traceback and never the bot's token.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlalchemy.exc import DatabaseError

from config.settings import SettingsError, load_settings
from trends.errors import ConfigError, DatabaseUnavailable

if TYPE_CHECKING:
    from telegram import Bot

__all__ = ["EXIT_CODE", "check_bot", "explain"]

EXIT_CODE = 2  # what every start-up failure explained here exits with

# A bot token as Telegram issues it (digits, a colon, then letters, digits, _ and -); it may
# sit inside a request URL in an error's text.
_TOKEN = re.compile(r"\d{3,}:[A-Za-z0-9_-]{10,}")


def explain(exc: BaseException) -> str | None:
    """One line (without the "trendbot: " prefix) for an error an operator can fix, or None
    for one that is a bug and should keep its traceback."""
    line = _line(exc)
    return None if line is None else _TOKEN.sub("<token>", line)


def _line(exc: BaseException) -> str | None:
    if isinstance(exc, SettingsError | ConfigError | DatabaseUnavailable):
        return str(exc)
    if type(exc).__module__.startswith("telegram"):
        return _telegram_line(exc)
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return f"{exc.filename}: no such file: check the path"
    if isinstance(exc, IsADirectoryError | PermissionError) and exc.filename:
        return f"can't use {exc.filename}: {exc.strerror}"
    if isinstance(exc, DatabaseError) and exc.orig is not None:
        # A damaged SQLite file can open cleanly and fail at the first page it reads.
        reason = str(exc.orig).splitlines()[0]
        if "malformed" in reason or "not a database" in reason:
            return (
                f"the database is damaged ({reason}): restore it from a backup, or point "
                "DATABASE_URL at a new file"
            )
    return None


def _telegram_line(exc: BaseException) -> str | None:
    # Imported here: most commands never load python-telegram-bot (it loads slowly).
    from telegram.error import InvalidToken, NetworkError

    if isinstance(exc, InvalidToken):
        # PTB raises InvalidToken for a 404 too; the answer it wraps says which it was.
        if any("not found" in str(cause).lower() for cause in _causes(exc)):
            return (
                f"the Bot API at {_api_base()} answered 404 Not Found: check "
                "TELEGRAM_API_BASE_URL (a server's address, e.g. https://api.telegram.org) "
                "and TELEGRAM_BOT_TOKEN"
            )
        return (
            "Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized): copy the token again "
            "from @BotFather (/mybots → API Token); was it revoked?"
        )
    if isinstance(exc, NetworkError):  # TimedOut too
        return (
            f"can't reach the Telegram Bot API at {_api_base()} ({exc.message}): check the "
            "network, and TELEGRAM_API_BASE_URL if you set it"
        )
    return None


async def check_bot(bot: Bot) -> None:
    """Ask the Bot API who the bot is: raise what PTB raises for a rejected token or an
    unreachable server, with the bot's HTTP session closed either way (PTB's own shutdown
    skips a bot whose start failed, and the open session is reported at exit)."""
    await bot.request.initialize()
    try:
        await bot.get_me()
    finally:
        await bot.request.shutdown()


def _api_base() -> str:
    try:
        return load_settings().telegram_api_base_url
    except SettingsError:  # the settings were read before this failure; never in practice
        return "TELEGRAM_API_BASE_URL"


def _causes(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found
