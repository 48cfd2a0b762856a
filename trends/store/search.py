"""Full-text search over post titles and summaries, one function for every database.

SQLite uses the FTS5 table of migration 0003 (trigram tokenizer: substrings of three or more
characters, so Chinese works without a word segmenter). PostgreSQL falls back to ILIKE on
title and summary, which needs no extension; it scans, which is fine at archive sizes.
Terms shorter than three characters are matched by LIKE (模型, 芯片), and a short Latin
word ("AI") only as a whole word.

Results are stories, not copies: a match on a later report of a story returns the story's
first report, once. They come newest first, so pages stay stable while posts arrive.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal_column, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from trends.models import StoredPost
from trends.store.archive import load_posts
from trends.store.schema import PostRow

__all__ = ["MIN_TERM_CHARS", "search_posts", "search_terms"]

MIN_TERM_CHARS = 3  # the trigram tokenizer's shortest searchable substring
_MAX_TERMS = 8
_SHORT_WORD = re.compile(r"[A-Za-z0-9]+")
_EDGE = "[^a-z0-9]"  # GLOB class: any character that ends a Latin word


def search_terms(query: str) -> list[str]:
    """The words of a query, in order, without repeats (at most eight)."""
    terms: list[str] = []
    for word in query.split():
        if word.lower() not in (term.lower() for term in terms):
            terms.append(word)
    return terms[:_MAX_TERMS]


async def search_posts(
    session: AsyncSession, query: str, *, limit: int, offset: int = 0
) -> tuple[list[StoredPost], int]:
    """Stories whose title or summary contains every word of `query`, and how many in all."""
    terms = search_terms(query)
    if not terms:
        return [], 0
    if session.get_bind().dialect.name == "sqlite":
        condition = _fts_condition(terms)
    else:
        condition = and_(*(_contains(term, ilike=True) for term in terms))
    story = func.coalesce(PostRow.cluster_id, PostRow.id)
    stories = (
        select(story.label("story_id"), func.max(PostRow.published_at).label("newest"))
        .where(condition)
        .group_by(story)
        .subquery()
    )
    total = await session.scalar(select(func.count()).select_from(stories))
    ids = await session.scalars(
        select(stories.c.story_id)
        .order_by(stories.c.newest.desc(), stories.c.story_id.desc())
        .limit(limit)
        .offset(offset)
    )
    return await load_posts(session, list(ids)), int(total or 0)


def _fts_condition(terms: list[str]) -> ColumnElement[bool]:
    """Posts matching every term: FTS5 for terms it can index, LIKE for shorter ones."""
    long_terms = [term for term in terms if len(term) >= MIN_TERM_CHARS]
    conditions: list[ColumnElement[bool]] = []
    if long_terms:
        match: Select[Any] = (
            select(literal_column("rowid"))
            .select_from(text("posts_fts"))
            .where(text("posts_fts MATCH :match"))
        )
        conditions.append(PostRow.id.in_(match.params(match=_fts_query(long_terms))))
    conditions += [_contains(term) for term in terms if len(term) < MIN_TERM_CHARS]
    return and_(*conditions)


def _fts_query(terms: list[str]) -> str:
    """Each term as an FTS5 string ("a""b" for a"b), ANDed: user input is never syntax.

    Quoting makes AND, OR, NOT, NEAR, parentheses, * and ^ plain text, so no query can fail
    to parse or reach another column.
    """
    return " ".join('"' + term.replace('"', '""') + '"' for term in terms)


def _contains(term: str, *, ilike: bool = False) -> ColumnElement[bool]:
    """Title or summary contains `term` literally (% and _ are not wildcards here).

    SQLite's LIKE already ignores ASCII case; PostgreSQL needs ILIKE for that. A short Latin
    word ("AI", "EU") must stand alone: as a substring it would match "said" and "neural".
    """
    if len(term) < MIN_TERM_CHARS and _SHORT_WORD.fullmatch(term):
        return _whole_word(term, postgres=ilike)
    pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if ilike:
        return or_(
            PostRow.title.ilike(pattern, escape="\\"),
            PostRow.summary.ilike(pattern, escape="\\"),
        )
    return or_(PostRow.title.like(pattern, escape="\\"), PostRow.summary.like(pattern, escape="\\"))


def _whole_word(word: str, *, postgres: bool) -> ColumnElement[bool]:
    """Title or summary has `word` (letters and digits only) as a whole word, any case."""
    columns = (PostRow.title, PostRow.summary)
    if postgres:
        pattern = rf"\m{word}\M"
        return or_(*(column.op("~*")(pattern) for column in columns))
    lower = word.lower()
    patterns = (f"{lower}{_EDGE}*", f"*{_EDGE}{lower}", f"*{_EDGE}{lower}{_EDGE}*")
    return or_(
        *(
            condition
            for column in columns
            for condition in (
                func.lower(column) == lower,
                *(func.lower(column).op("GLOB")(pattern) for pattern in patterns),
            )
        )
    )
