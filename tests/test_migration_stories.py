"""Migrations from 0005 on a database that has posts: nothing is lost (SQLite rebuilds the
posts table, and its foreign keys must not cascade), search still finds the old posts, and
/trend counts their story once."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from trends.store.archive import newest_by_trend
from trends.store.db import alembic_config, open_database
from trends.store.search import search_posts

NOW = datetime(2026, 11, 27, 9, tzinfo=UTC).replace(tzinfo=None)


def _fill_at_0004(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "0004")
    connection.execute(
        text(
            "INSERT INTO feeds (id, url, name, language, poll_minutes, enabled, ai_source,"
            " consecutive_failures, created_at) VALUES"
            " (1, 'https://a.example/feed', 'Lab', 'en', 60, true, true, 0, :now),"
            " (2, 'https://b.example/feed', 'Wire', 'en', 60, true, false, 0, :now)"
        ),
        {"now": NOW},
    )
    for post_id, cluster in ((1, None), (2, 1)):
        connection.execute(
            text(
                "INSERT INTO posts (id, feed_id, guid, link, canonical_link, title, summary,"
                " content_hash, language, published_at, fetched_at, cluster_id, in_digests)"
                " VALUES (:id, :id, :guid, :link, :link, :title, 'A summary.', :hash, 'en',"
                " :now, :now, :cluster, true)"
            ),
            {
                "id": post_id,
                "guid": f"g{post_id}",
                "link": f"https://a.example/orbis-{post_id}",
                "title": f"Orbis-5 launch report {post_id}",
                "hash": f"h{post_id}",
                "now": NOW,
                "cluster": cluster,
            },
        )
        connection.execute(
            text(
                "INSERT INTO post_trends (post_id, trend, score, matched, published_at)"
                " VALUES (:id, 1, 2.0, '[]', :now)"
            ),
            {"id": post_id, "now": NOW},
        )
        connection.execute(
            text("INSERT INTO post_bands (band_key, post_id) VALUES (:key, :id)"),
            {"key": 1000 + post_id, "id": post_id},
        )


async def test_upgrading_a_filled_database_keeps_every_post_tag_and_band(
    database_url: str,
) -> None:
    engine = create_async_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(_fill_at_0004)
    await engine.dispose()

    db = await open_database(database_url)  # migrates to the newest revision
    try:
        async with db.new_session() as session:
            counts = [
                await session.scalar(text(f"SELECT count(*) FROM {table}"))
                for table in ("posts", "post_trends", "post_bands", "feeds")
            ]
            member = await session.scalar(text("SELECT cluster_id FROM posts WHERE id = 2"))
            searched = await search_posts(session, "Orbis", limit=5)
            # /trend 1 counts the story once (migration 0009 marks the member's tag).
            listed = await newest_by_trend(session, 1, limit=5)
            # The same page through a second feed is now allowed: the story's coverage.
            await session.execute(
                text(
                    "INSERT INTO posts (id, feed_id, guid, link, canonical_link, title, summary,"
                    " content_hash, language, published_at, fetched_at, cluster_id,"
                    " in_digests) SELECT 3, 2, 'copy', link, canonical_link, title, summary,"
                    " content_hash, language, published_at, fetched_at, 1, in_digests"
                    " FROM posts WHERE id = 1"
                )
            )
            await session.commit()
    finally:
        await db.close()
    assert counts == [2, 2, 2, 2]
    assert member == 1
    assert searched.total == 1 and searched.posts[0].id == 1
    assert len(searched.posts[0].members) == 2
    assert listed.total == 1 and [post.id for post in listed.posts] == [1]
