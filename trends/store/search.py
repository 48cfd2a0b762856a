"""Full-text search over post titles and summaries, one function for every database.

A term of three characters or more is a substring of title or summary: SQLite finds it
in the FTS5 table of migration 0003 (trigram tokenizer, so Chinese works without a word
segmenter), PostgreSQL by ILIKE on pg_trgm's indexes (migration 0006). Trigrams cannot
serve shorter terms, so a post also stores its short words (migration 0007): a Latin word
of one or two characters ("AI", only as a whole word) or two Chinese characters (模型) is
looked up there, indexed on both databases. What is left (one Chinese character, mixed
scripts) is matched by a LIKE scan.

Results are stories, not copies: a match on a later report of a story returns the story's
first report, once. They come newest first, so pages stay stable while posts arrive.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    and_,
    cast,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from trends.models import StoredPost
from trends.store.archive import load_posts
from trends.store.schema import PostRow
from trends.strings import CJK

__all__ = ["MIN_TERM_CHARS", "search_posts", "search_terms"]

MIN_TERM_CHARS = 3  # the trigram tokenizer's shortest searchable substring
_MAX_TERMS = 8
_SHORT_WORD = re.compile(r"[A-Za-z0-9]+")
_CHINESE_PAIR = re.compile(f"[{CJK}]{{2}}")


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
        condition = _postgres_condition(terms)
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
    """Posts matching every term: the trigram FTS5 table for terms of three characters or
    more, the short-terms one for short words and Chinese pairs, LIKE for the rest."""
    long_terms = [term for term in terms if len(term) >= MIN_TERM_CHARS]
    indexed = [term.lower() for term in terms if _is_short_term(term)]
    conditions: list[ColumnElement[bool]] = []
    for table, found in (("posts_fts", long_terms), ("posts_short", indexed)):
        if found:
            match: Select[Any] = (
                select(literal_column("rowid"))
                .select_from(text(table))
                .where(text(f"{table} MATCH :{table}"))  # one parameter name a table
            )
            conditions.append(PostRow.id.in_(match.params({table: _fts_query(found)})))
    conditions += [
        _contains(term) for term in terms if len(term) < MIN_TERM_CHARS and not _is_short_term(term)
    ]
    return and_(*conditions)


def _postgres_condition(terms: list[str]) -> ColumnElement[bool]:
    """Posts matching every term: ILIKE (pg_trgm's indexes) for terms of three characters
    or more, the short-terms array index for short words and Chinese pairs."""
    indexed = [term.lower() for term in terms if _is_short_term(term)]
    conditions = [_contains(term, ilike=True) for term in terms if not _is_short_term(term)]
    if indexed:
        # The expression of migration 0007's index, literally, so the planner uses it.
        words = func.string_to_array(PostRow.short_terms, literal_column("' '"))
        wanted = cast(postgresql.array(indexed), postgresql.ARRAY(Text))
        conditions.append(words.op("@>")(wanted))
    return and_(*conditions)


def _is_short_term(term: str) -> bool:
    """Whether `term` is one of the words `short_terms` stores: a Latin word of one or two
    letters or digits, or two Chinese characters."""
    return bool(_SHORT_WORD.fullmatch(term) and len(term) <= 2) or bool(
        _CHINESE_PAIR.fullmatch(term)
    )


def _fts_query(terms: list[str]) -> str:
    """Each term as an FTS5 string ("a""b" for a"b), ANDed: user input is never syntax.

    Quoting makes AND, OR, NOT, NEAR, parentheses, * and ^ plain text, so no query can fail
    to parse or reach another column.
    """
    return " ".join('"' + term.replace('"', '""') + '"' for term in terms)


def _contains(term: str, *, ilike: bool = False) -> ColumnElement[bool]:
    """Title or summary contains `term` literally (% and _ are not wildcards here).

    SQLite's LIKE already ignores ASCII case; PostgreSQL needs ILIKE for that.
    """
    pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if ilike:
        return or_(
            PostRow.title.ilike(pattern, escape="\\"),
            PostRow.summary.ilike(pattern, escape="\\"),
        )
    return or_(PostRow.title.like(pattern, escape="\\"), PostRow.summary.like(pattern, escape="\\"))
