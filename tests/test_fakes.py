"""The test fakes behave like the real services, as seen by PTB, httpx and SQLAlchemy."""

from __future__ import annotations

import datetime as dt
import socket
import warnings
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakes.bot_api import FakeBotAPI, polling
from tests.fakes.feed_server import FeedServer

TOKEN = "123456:TEST"


def build_app(fake: FakeBotAPI) -> Application:
    return (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .build()
    )


def bot_for(fake: FakeBotAPI) -> Bot:
    return Bot(TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url)


async def test_application_answers_start_over_polling(bot_api: FakeBotAPI) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="more")]])
        await update.effective_message.reply_html("<b>Hello</b> & welcome", reply_markup=keyboard)

    async def more(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_text("More <i>things</i>", parse_mode="HTML")

    app = build_app(bot_api)
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(more))
    async with polling(app):
        pushed = bot_api.push_text(777, "/start")
        reply = await bot_api.wait_for_message(777)
        assert reply["text"] == "<b>Hello</b> & welcome"
        assert reply["parse_mode"] == "HTML"
        assert reply["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "more"

        sent = await bot_api.sent.get()
        assert sent.method == "sendMessage"
        message_id = max(key[1] for key in bot_api.stored_messages)
        assert message_id > pushed["message"]["message_id"]
        bot_api.push_callback(777, "more", message_id=message_id)
        edit = await bot_api.wait_until(lambda: bot_api.calls_of("editMessageText"))

    assert edit[0].params["message_id"] == message_id
    assert bot_api.calls_of("answerCallbackQuery")
    called = [call.method for call in bot_api.calls]
    assert called[:2] == ["getMe", "deleteWebhook"]
    assert all(
        call.at <= later.at for call, later in zip(bot_api.calls, bot_api.calls[1:], strict=False)
    )


async def test_document_upload_can_be_downloaded(bot_api: FakeBotAPI) -> None:
    async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        file = await update.message.document.get_file()
        content = bytes(await file.download_as_bytearray())
        await update.message.reply_text(f"{update.message.document.file_name}: {len(content)}")
        await context.bot.send_photo(update.effective_chat.id, content, caption="echo")

    app = build_app(bot_api)
    app.add_handler(MessageHandler(filters.Document.ALL, on_document))
    async with polling(app):
        bot_api.push_document(42, "subscribers.csv", b"id\n1\n2\n")
        assert (await bot_api.wait_for_message(42))["text"] == "subscribers.csv: 7"
        photo = await bot_api.wait_for_message(42, predicate=lambda m: "photo" in m)
    assert photo["photo"] == b"id\n1\n2\n"
    assert [m.get("caption") for m in bot_api.messages(42)] == [None, "echo"]


async def test_scripted_errors_become_ptb_exceptions(bot_api: FakeBotAPI) -> None:
    async with bot_for(bot_api) as bot:
        bot_api.block_chat(1001)
        with pytest.raises(Forbidden, match="blocked by the user"):
            await bot.send_message(1001, "hi")

        bot_api.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(1002, "hi")
        with warnings.catch_warnings():  # PTB 22 warns that retry_after becomes a timedelta
            warnings.simplefilter("ignore")
            assert caught.value.retry_after in (3, dt.timedelta(seconds=3))

        bot_api.migrate_chat(-5, -1005)
        with pytest.raises(ChatMigrated) as migrated:
            await bot.send_message(-5, "hi")
        assert migrated.value.new_chat_id == -1005

        # A chat-scoped failure leaves other chats alone, then wears off.
        bot_api.fail_next("sendMessage", 400, "Bad Request: chat not found", chat_id=7, times=2)
        await bot.send_message(8, "fine")
        for _ in range(2):
            with pytest.raises(BadRequest, match="Chat not found"):
                await bot.send_message(7, "hi")
        await bot.send_message(7, "fine now")

        # Unknown methods must be 400, not 404 (which PTB would report as InvalidToken).
        with pytest.raises(BadRequest, match="not implemented"):
            await bot.do_api_request("notARealMethod", api_kwargs={"chat_id": 1})

    assert [m["text"] for m in bot_api.messages()] == ["fine", "fine now"]
    assert bot_api.calls_of("sendMessage")[0].params == {"chat_id": 1001, "text": "hi"}


async def test_rate_limits_answer_429(bot_api: FakeBotAPI) -> None:
    bot_api.enforce_limits(global_per_second=30, per_private_chat_per_second=1)
    async with bot_for(bot_api) as bot:
        await bot.send_message(5, "one")
        with pytest.raises(RetryAfter, match="Retry in 1 seconds"):
            await bot.send_message(5, "two")
        await bot.send_message(6, "other chat is fine")
    assert bot_api.too_many_requests == 1


async def test_get_updates_honours_offset(bot_api: FakeBotAPI) -> None:
    first, second = bot_api.push_text(1, "a"), bot_api.push_text(1, "b")
    async with httpx.AsyncClient() as client:
        url = f"{bot_api.base_url}{TOKEN}/getUpdates"
        all_updates = (await client.post(url, data={"timeout": "0"})).json()["result"]
        offset = {"offset": str(second["update_id"]), "timeout": "0"}
        rest = (await client.post(url, data=offset)).json()["result"]
    assert [u["update_id"] for u in all_updates] == [first["update_id"], second["update_id"]]
    assert [u["message"]["text"] for u in rest] == ["b"]


async def test_feed_server_supports_conditional_get(feed_server: FeedServer) -> None:
    path = "/feeds/openai_news_official_2025-07-28.rss.xml"
    async with httpx.AsyncClient() as client:
        first = await client.get(feed_server.url(path))
        assert first.status_code == 200
        assert first.headers["content-type"].startswith("application/rss+xml")
        etag, modified = first.headers["etag"], first.headers["last-modified"]

        assert (
            await client.get(feed_server.url(path), headers={"If-None-Match": etag})
        ).status_code == 304
        since = {"If-Modified-Since": modified}
        assert (await client.get(feed_server.url(path), headers=since)).status_code == 304

        feed_server.set_body(path, first.content.replace(b"</channel>", b"<item/></channel>"))
        changed = await client.get(feed_server.url(path), headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag
        assert (await client.get(feed_server.url(path), headers=since)).status_code == 200
        assert (await client.get(feed_server.url("/missing.xml"))).status_code == 404
    assert feed_server.hits[path] == 5


def test_feed_server_runs_in_a_thread_for_sync_code(corpus_dir: Path) -> None:
    with FeedServer().in_thread() as server:
        server.add_body("/slow.xml", b"<rss/>", headers={"Cache-Control": "no-cache"})
        response = httpx.get(server.url("/slow.xml"))
    assert response.content == b"<rss/>" and response.headers["cache-control"] == "no-cache"


def test_nothing_leaves_loopback() -> None:
    with socket.socket() as sock, pytest.raises(OSError, match=r"stay on 127\.0\.0\.1"):
        sock.connect(("192.0.2.1", 443))  # TEST-NET-1: never routable anyway
    with pytest.raises(httpx.ConnectError, match=r"stay on 127\.0\.0\.1"):
        httpx.get("https://api.telegram.org/")


@pytest.mark.postgres
async def test_postgres_url_accepts_queries(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql+asyncpg://")
    engine = create_async_engine(postgres_url)
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("select 1"))).scalar_one() == 1
    finally:
        await engine.dispose()


async def test_database_url_is_an_empty_database(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("create table t (id integer primary key)"))
            await connection.execute(text("insert into t values (1)"))
            assert (await connection.execute(text("select count(*) from t"))).scalar_one() == 1
    finally:
        await engine.dispose()
