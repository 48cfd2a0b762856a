"""Full-text search over post titles and summaries, one function for every database.

A post stores its search tokens (trends.strings.search_tokens, migration 0007): its Latin
words and its pairs of adjacent Chinese characters, which stand in for words in a language
written without spaces. Both databases index them as whole tokens: an FTS5 table with the
unicode61 tokenizer on SQLite, a GIN index over them as a tsvector on PostgreSQL; neither
depends on the database's locale. A Latin search word is found as a word or the start of
one ("agent" finds "agents"; "AI" and other words of one or two characters only whole); a
Chinese term through its pairs, then as a substring. A term with no token to look up (one
Chinese character, punctuation) is matched by a LIKE scan.

Results are stories, not copies: a match on a later report of a story returns the story's
first report, once. They come newest first, so pages stay stable while posts arrive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, cast, func, literal_column, or_, select, text
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.asyncio import AsyncSession

from trends.models import StoredPost
from trends.store.archive import load_posts
from trends.store.schema import PostRow
from trends.strings import CJK, search_tokens

__all__ = ["search_posts", "search_terms"]

_MAX_TERMS = 8
_LATIN_WORD = re.compile(r"[A-Za-z0-9]+")
_CHINESE = re.compile(f"[{CJK}]+")
_WHOLE_WORD_CHARS = 2  # "AI", "EU": as prefixes they would find "aim" and "Europe"


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
    """Stories whose title or summary has every word of `query`, and how many in all."""
    terms = search_terms(query)
    if not terms:
        return [], 0
    lookup = _Lookup.of(terms)
    postgres = session.get_bind().dialect.name == "postgresql"
    condition = lookup.condition(postgres=postgres)
    story = func.coalesce(PostRow.cluster_id, PostRow.id)
    stories = (
        select(story.label("story_id"), func.max(PostRow.published_at).label("newest"))
        .where(condition)
        .group_by(story)
        .subquery()
    )
    # The page and the count in one pass over the matches: at a million posts a common
    # word matches thousands, and reading them twice doubled the wait.
    rows = (
        await session.execute(
            select(stories.c.story_id, func.count().over().label("total"))
            .order_by(stories.c.newest.desc(), stories.c.story_id.desc())
            .limit(limit)
            .offset(offset)
        )
    ).all()
    if rows:
        total = rows[0].total
    elif offset:  # past the last page: the count alone
        total = await session.scalar(select(func.count()).select_from(stories))
    else:
        total = 0
    return await load_posts(session, [row.story_id for row in rows]), int(total or 0)


@dataclass(slots=True)
class _Lookup:
    """What a query looks up: tokens (each whole, or as a prefix) in the token index, and
    terms that must also be checked as substrings of title or summary."""

    tokens: dict[str, bool] = field(default_factory=dict)  # token -> match as a prefix
    substrings: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, terms: list[str]) -> _Lookup:
        lookup = cls()
        for term in terms:
            found = search_tokens(term).split()
            if _LATIN_WORD.fullmatch(term):
                lookup.tokens[term.lower()] = len(term) > _WHOLE_WORD_CHARS
                continue
            for token in found:  # Chinese pairs whole; Latin words of a mixed term begun
                lookup.tokens[token] = lookup.tokens.get(token, False) or not _CHINESE.match(token)
            if not (_CHINESE.fullmatch(term) and len(term) == 2):
                lookup.substrings.append(term)
        return lookup

    def condition(self, *, postgres: bool) -> ColumnElement[bool]:
        conditions = [_contains(term, ilike=postgres) for term in self.substrings]
        if self.tokens and postgres:
            # Migration 0007's index expression, literally, so the planner uses the index.
            # Tokens are letters, digits and Chinese characters only: nothing to escape.
            vector = func.array_to_tsvector(
                func.string_to_array(PostRow.search_tokens, literal_column("' '"))
            )
            wanted = " & ".join(
                f"'{token}'" + (":*" if prefix else "") for token, prefix in self.tokens.items()
            )
            conditions.append(vector.op("@@")(cast(wanted, TSQUERY)))
        elif self.tokens:
            wanted = " ".join(
                f'"{token}"' + ("*" if prefix else "") for token, prefix in self.tokens.items()
            )
            matches: Select[Any] = select(literal_column("rowid")).select_from(text("posts_tokens"))
            conditions.append(
                PostRow.id.in_(
                    matches.where(text("posts_tokens MATCH :tokens")).params(tokens=wanted)
                )
            )
        return and_(*conditions)


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
