"""/search for a Chinese term of three characters or more: found exactly where the term is
written, never where its character pairs only happen to occur apart, on posts stored before
migration 0011 as well as after."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from trends.store.db import alembic_config, open_database
from trends.store.search import search_posts

NOW = datetime(2026, 11, 27, 9, tzinfo=UTC).replace(tzinfo=None)
# Title, and the search tokens revision 0010 stored for it: each pair once, in the order
# first seen.
STORED_AT_0010 = {
    1: ("训练模型,模型训练", "训练 练模 模型 型训"),  # "模型训练" is in it, after a comma
    2: ("人工智能,能模仿人类", "人工 工智 智能 能模 模仿 仿人 人类"),  # "智能模" is not
    3: ("模型训练的成本", "模型 型训 训练 练的 的成 成本"),
}


def _fill_at_0010(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "0010")
    connection.execute(
        text(
            "INSERT INTO feeds (id, url, name, language, poll_minutes, enabled, ai_source,"
            " consecutive_failures, created_at) VALUES"
            " (1, 'https://zh.example/feed', '中文', 'zh', 60, true, true, 0, :now)"
        ),
        {"now": NOW},
    )
    for post_id, (title, tokens) in STORED_AT_0010.items():
        connection.execute(
            text(
                "INSERT INTO posts (id, feed_id, guid, link, canonical_link, title, summary,"
                " content_hash, language, published_at, fetched_at, in_digests, search_tokens)"
                " VALUES (:id, 1, :guid, :link, :link, :title, '', :hash, 'zh', :now, :now,"
                " true, :tokens)"
            ),
            {
                "id": post_id,
                "guid": f"g{post_id}",
                "link": f"https://zh.example/{post_id}",
                "title": title,
                "hash": f"h{post_id}",
                "now": NOW,
                "tokens": tokens,
            },
        )


async def test_chinese_terms_are_found_where_written_before_and_after_the_upgrade(
    database_url: str,
) -> None:
    engine = create_async_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(_fill_at_0010)
    await engine.dispose()

    db = await open_database(database_url)  # migrates to the newest revision
    try:
        async with db.new_session() as session:
            # A post stored after the upgrade, beside the ones stored before it.
            await session.execute(
                text(
                    "INSERT INTO posts (id, feed_id, guid, link, canonical_link, title, summary,"
                    " content_hash, language, published_at, fetched_at, in_digests) SELECT 4,"
                    " 1, 'g4', 'https://zh.example/4', 'https://zh.example/4', '智能', '模仿',"
                    " 'h4', 'zh', published_at, fetched_at, true FROM posts WHERE id = 1"
                )
            )
            await session.commit()

            async def found(query: str) -> list[int]:
                page = await search_posts(session, query, limit=10)
                return sorted(post.id for post in page.posts)

            training = await found("模型训练")
            imitate = await found("智能模")
            pairs_apart = await found("智能模仿")  # 4 has both pairs, title and summary apart
            four = await found("模仿人类")
    finally:
        await db.close()
    assert training == [1, 3]
    assert imitate == []
    assert pairs_apart == []
    assert four == [2]
