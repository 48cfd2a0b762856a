"""What more than one migration does to the stored posts: work their search tokens out again."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from trends.strings import search_tokens

__all__ = ["fill_search_tokens"]

_BATCH = 5000
_POSTS = sa.table(
    "posts",
    sa.column("id", sa.Integer),
    sa.column("title", sa.Text),
    sa.column("summary", sa.Text),
    sa.column("search_tokens", sa.Text),
)


def fill_search_tokens(connection: Connection) -> None:
    """Set each stored post's search_tokens to what `search_tokens` makes of its title and
    summary, in batches by id. A post whose tokens are right already is not written: every
    write costs the token index an update."""
    last = 0
    while rows := connection.execute(
        sa.select(_POSTS.c.id, _POSTS.c.title, _POSTS.c.summary, _POSTS.c.search_tokens)
        .where(_POSTS.c.id > last)
        .order_by(_POSTS.c.id)
        .limit(_BATCH)
    ).all():
        changed = [
            {"post_id": id_, "tokens": tokens}
            for id_, title, summary, stored in rows
            if (tokens := search_tokens(title or "", summary or "")) != stored
        ]
        if changed:
            connection.execute(
                _POSTS.update()
                .where(_POSTS.c.id == sa.bindparam("post_id"))
                .values(search_tokens=sa.bindparam("tokens")),
                changed,
            )
        last = rows[-1][0]
