"""Full-text search over post titles and summaries, one function for every database.

A post stores its search tokens (trends.strings.search_tokens, migration 0007): its Latin
words and its pairs of adjacent Chinese characters, which stand in for words in a language
written without spaces. Both databases index them as whole tokens: an FTS5 table with the
unicode61 tokenizer on SQLite, a GIN index over them as a tsvector on PostgreSQL; neither
depends on the database's locale. A Latin search word is found as a word or the start of
one ("agent" finds "agents"; "AI" and other words of one or two characters only whole); a
Chinese term of three characters or more through its pairs: on SQLite, whose index keeps
their order (migration 0011), as those pairs in a row; on PostgreSQL, whose vector does not,
through a second index of each post's runs of three characters (migration 0013), then as a
substring. A term with no token to look up (one Chinese character, punctuation) is matched
by a LIKE scan.

Results are stories, not copies: a match on a later report of a story returns the story's
first report, once. They come newest first, so pages stay stable while posts arrive.

A common word matches a large share of the archive. Grouping every match into stories to
count them and sort them read all of them (close to a second at a million posts, cold), so a
search first counts its matches only as far as MATCH_CAP: below that it groups and counts
them all; from there on it says "more than MATCH_CAP" and walks the posts newest first
(the index on published_at), keeping those that match, until it has the page's stories.
PostgreSQL reads a post to count it, so there a word its statistics put in ten times
MATCH_CAP posts or more is not counted at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    cast,
    func,
    literal_column,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.asyncio import AsyncSession

from trends.store.archive import Found, load_posts
from trends.store.schema import PostRow
from trends.strings import CJK, RUN_BREAK, search_tokens

__all__ = ["BATCH_PER_STORY", "ESTIMATE_MARGIN", "MATCH_CAP", "search_posts", "search_terms"]

MATCH_CAP = 1000  # matches counted before a search says "more than" and stops counting
# PostgreSQL: statistics saying this many times MATCH_CAP are trusted without counting; the
# margin covers their being read from a sample of the posts, and posts stored since.
ESTIMATE_MARGIN = 10
BATCH_PER_STORY = 8  # posts read, per story a page still needs, before reading on
_POSTGRES_WINDOWS = (timedelta(hours=6), timedelta(days=2), timedelta(days=16))
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


async def search_posts(session: AsyncSession, query: str, *, limit: int, offset: int = 0) -> Found:
    """Stories whose title or summary has every word of `query`, newest first."""
    terms = search_terms(query)
    if not terms:
        return Found([], 0)
    lookup = _Lookup.of(terms)
    postgres = session.get_bind().dialect.name == "postgresql"
    if lookup.tokens and await _matches_reach(session, lookup, MATCH_CAP, postgres=postgres):
        condition = lookup.condition(postgres=postgres, walking=True)
        windows: list[datetime | None] = await _windows(session) if postgres else [None]
        ids, more = await _walk_newest(session, condition, windows, limit, offset)
        found = await load_posts(session, ids)
        return Found(found, offset + len(found) + more, capped_at=MATCH_CAP)
    story = func.coalesce(PostRow.cluster_id, PostRow.id)
    stories = (
        select(story.label("story_id"), func.max(PostRow.published_at).label("newest"))
        .where(lookup.condition(postgres=postgres))
        .group_by(story)
        .subquery()
    )
    # The page and the count in one pass over the matches, not two.
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
    return Found(await load_posts(session, [row.story_id for row in rows]), int(total or 0))


async def _matches_reach(
    session: AsyncSession, lookup: _Lookup, cap: int, *, postgres: bool
) -> bool:
    """Whether the query's tokens match at least `cap` posts, reading no more than `cap`.

    Tokens alone: on SQLite this reads the start of the token index's lists and no post.
    PostgreSQL checks each match of its token index in the row, so counting to `cap` reads
    `cap` posts (a tenth of a second from a cold disk); when its statistics put the matches
    at ESTIMATE_MARGIN times `cap` or more, they are taken at their word and no post is read.
    """
    if postgres and await _statistics_say_reached(session, lookup, cap):
        return True
    matches = lookup.token_matches(postgres=postgres).limit(cap)
    reached = await session.scalar(select(func.count()).select_from(matches.subquery()))
    return int(reached or 0) >= cap


async def _statistics_say_reached(session: AsyncSession, lookup: _Lookup, cap: int) -> bool:
    """PostgreSQL: whether the planner, from ANALYZE's statistics of the token vector (its
    commonest tokens and the share of posts each is in, migration 0012), puts a one-token
    query's matches at ESTIMATE_MARGIN times `cap` or more. Asking the planner (EXPLAIN)
    rather than reading pg_stats loads those statistics once: the walk's plan needs them
    too. A token they do not list gets a small estimate, so a rare word is always counted,
    and so is every word before the posts were first analysed. Two tokens are always
    counted: how often they meet is not in the statistics ("agent" and 模型 are each
    common, rarely together)."""
    if len(lookup.tokens) != 1 or lookup.substrings or lookup.phrases:
        return False
    analysed = await session.scalar(
        text("SELECT reltuples > 0 FROM pg_class WHERE oid = CAST('posts' AS regclass)")
    )
    if not analysed:
        return False
    matches = lookup.token_matches(postgres=True).compile(dialect=session.get_bind().dialect)
    connection = await session.connection()
    explained = await connection.exec_driver_sql(
        f"EXPLAIN (FORMAT JSON) {matches}",
        tuple(matches.params[name] for name in matches.positiontup or ()),
    )
    plan = explained.scalar_one()  # the engine decodes PostgreSQL's JSON
    return float(plan[0]["Plan"]["Plan Rows"]) >= ESTIMATE_MARGIN * cap


async def _walk_newest(
    session: AsyncSession,
    condition: ColumnElement[bool],
    windows: list[datetime | None],
    limit: int,
    offset: int,
) -> tuple[list[int], bool]:
    """The stories from `offset` to `offset + limit` among the matching posts, newest
    first, and whether any story follows: read from the newest post back, in batches
    growing as they find fewer stories than the page needs."""
    wanted = offset + limit + 1  # one more: is there a next page?
    stories: dict[int, None] = {}  # insertion-ordered: newest first
    after = None
    for since in windows:
        batch = BATCH_PER_STORY * wanted
        while len(stories) < wanted:
            statement = select(PostRow.id, PostRow.cluster_id, PostRow.published_at).where(
                condition
            )
            if since is not None:
                statement = statement.where(PostRow.published_at >= since)
            if after is not None:
                statement = statement.where(tuple_(PostRow.published_at, PostRow.id) < after)
            rows = (
                await session.execute(
                    statement.order_by(PostRow.published_at.desc(), PostRow.id.desc()).limit(batch)
                )
            ).all()
            for row in rows:
                stories.setdefault(row.cluster_id or row.id)
            if rows:
                after = (rows[-1].published_at, rows[-1].id)
            if len(rows) < batch:
                break  # this window is read to its start
            batch *= 2
        if len(stories) >= wanted:
            break
    ordered = list(stories)
    return ordered[offset : offset + limit], len(ordered) > offset + limit


async def _windows(session: AsyncSession) -> list[datetime | None]:
    """How far back each pass of a walk on PostgreSQL reads: the last hours, days and
    weeks before the newest post, then all time. There a post's words are only checked in
    its row, so a walk over the dates index reads every post it passes; limited to a window
    the planner intersects the token and date indexes and reads only matching rows.
    (SQLite checks the token index's matches without reading a row: it walks in one pass.)"""
    newest = await session.scalar(select(func.max(PostRow.published_at)))
    if newest is None:
        return [None]
    return [*(newest - back for back in _POSTGRES_WINDOWS), None]


@dataclass(slots=True)
class _Lookup:
    """What a query looks up: tokens (each whole, or as a prefix) in the token index,
    Chinese terms of three characters or more (as their pairs in a row, where the index
    keeps the pairs' order), and terms that must be checked as substrings of title or
    summary."""

    tokens: dict[str, bool] = field(default_factory=dict)  # token -> match as a prefix
    phrases: dict[str, str] = field(default_factory=dict)  # Chinese term -> its pairs
    substrings: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, terms: list[str]) -> _Lookup:
        lookup = cls()
        for term in terms:
            found = [token for token in search_tokens(term).split() if token != RUN_BREAK]
            if _LATIN_WORD.fullmatch(term):
                lookup.tokens[term.lower()] = len(term) > _WHOLE_WORD_CHARS
                continue
            for token in found:  # Chinese pairs whole; Latin words of a mixed term begun
                lookup.tokens[token] = lookup.tokens.get(token, False) or not _CHINESE.match(token)
            if not _CHINESE.fullmatch(term) or len(term) == 1:
                lookup.substrings.append(term)
            elif len(term) > 2:
                lookup.phrases[term] = " ".join(found)
        return lookup

    def condition(self, *, postgres: bool, walking: bool = False) -> ColumnElement[bool]:
        """Every term matched. `walking`: for a scan in published_at order, which must not
        start from the token index's matches (SQLite would, then sort them all)."""
        # PostgreSQL's token vector keeps no order: a Chinese term is read in the rows.
        substrings = [*self.substrings, *self.phrases] if postgres else self.substrings
        conditions = [_contains(term, ilike=postgres) for term in substrings]
        if self.tokens:
            conditions.append(self.token_condition(postgres=postgres, walking=walking))
        return and_(*conditions)

    def token_condition(self, *, postgres: bool, walking: bool = False) -> ColumnElement[bool]:
        if postgres:
            return self._postgres_match()
        post_id = PostRow.id + 0 if walking else PostRow.id  # "+ 0": not looked up by id
        return post_id.in_(self.token_matches(postgres=False))

    def token_matches(self, *, postgres: bool) -> Select[Any]:
        """The ids of the posts whose tokens match: on SQLite from the FTS5 table alone."""
        if postgres:
            return select(PostRow.id).where(self._postgres_match())
        wanted = " ".join(
            [f'"{token}"' + ("*" if prefix else "") for token, prefix in self.tokens.items()]
            + [f'"{pairs}"' for pairs in self.phrases.values()]  # the pairs next to each other
        )
        return (
            select(literal_column("rowid"))
            .select_from(text("posts_tokens"))
            .where(text("posts_tokens MATCH :tokens"))
            .params(tokens=wanted)
        )

    def _postgres_match(self) -> ColumnElement[bool]:
        """PostgreSQL: the tokens, all of them, in the post's token vector; a Chinese term of
        three characters or more by its runs of three in the post's triples instead of its
        pairs (they meet in far fewer posts than the pairs do)."""
        # Migrations 0007's and 0013's index expressions, literally, so the planner uses the
        # indexes. Tokens are letters, digits and Chinese characters only: nothing to escape.
        in_phrases = {pair for pairs in self.phrases.values() for pair in pairs.split()}
        tokens = {token: prefix for token, prefix in self.tokens.items() if token not in in_phrases}
        triples = {  # as trendbot_cjk_triples makes them of a post's pairs
            first + second[-1]: False
            for pairs in self.phrases.values()
            for first, second in pairwise(pairs.split())
        }
        conditions = []
        if tokens:
            vector = func.array_to_tsvector(
                func.string_to_array(PostRow.search_tokens, literal_column("' '"))
            )
            conditions.append(vector.op("@@")(_tsquery(tokens)))
        if triples:
            vector = func.trendbot_cjk_triples(PostRow.search_tokens)
            conditions.append(vector.op("@@")(_tsquery(triples)))
        return and_(*conditions)


def _tsquery(tokens: dict[str, bool]) -> ColumnElement[Any]:
    """Every token (a prefix where marked), as a PostgreSQL text search query."""
    wanted = " & ".join(f"'{token}'" + (":*" if prefix else "") for token, prefix in tokens.items())
    return cast(wanted, TSQUERY)


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
