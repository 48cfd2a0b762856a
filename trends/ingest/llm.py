"""Optional tagging and summaries by an LLM behind an OpenAI-compatible chat endpoint.

Off unless an `LLMConfig` is given. The pipeline always enriches posts locally first
(`summarise` + `tag`); `LLMEnricher.enrich` then replaces a post's summary and trends with
the model's answer when it gets a valid one. Anything else leaves the local results as they
are: a network error, a timeout, an error status, an answer that is not the JSON asked for,
or a spent daily token budget. Posts the local AI gate rejects are never sent (the model
would only confirm they have no trend, at a price).

Answers are cached by the post's content hash, so a copy of a post (another feed, a
re-download) reuses the answer. Tokens come from the response's `usage` (estimated when it
is missing) and are counted per UTC day in the database.

Tags from the model carry, as `matched`, the local tagger's terms for the same trend when it
found that trend too, and otherwise the phrases the model cites that really occur in the
post: what a reader sees under "why this tag" is always words of the post, never the model's
unverifiable prose.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import aiohttp

from trends.ingest.lexicon import about_ai
from trends.models import Post, TrendTag
from trends.store import llm_answers
from trends.store.db import Database
from trends.strings import clip
from trends.themes import Themes

__all__ = ["DEFAULT_DAILY_TOKENS", "DEFAULT_TIMEOUT", "Answer", "LLMConfig", "LLMEnricher"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 20.0  # seconds for the whole exchange, not per read
DEFAULT_DAILY_TOKENS = 200_000
TEXT_CHARS = 3000  # of the post's body sent to the model; the lead carries the story
SUMMARY_CHARS = 300  # the same cap as local summaries
MAX_ANSWER_TOKENS = 400
LLM_SCORE = 0.5  # a probability: a trend only the model found ranks like a borderline local tag, below the alert threshold
_MAX_EVIDENCE = 3
_EVIDENCE_CHARS = 60
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


@dataclass(frozen=True, slots=True)
class LLMConfig:
    """Where the model is and what it may spend; `url` is the API base ({url}/chat/completions)."""

    url: str
    model: str
    api_key: str | None = None
    daily_tokens: int = DEFAULT_DAILY_TOKENS
    timeout: float = DEFAULT_TIMEOUT
    concurrency: int = 4  # calls in flight at once, across every feed of a poll


@dataclass(frozen=True, slots=True)
class Answer:
    """A validated answer: trend numbers (most relevant first), summary, cited phrases."""

    trends: tuple[int, ...]
    summary: str
    evidence: dict[int, tuple[str, ...]] = field(default_factory=dict)


class _Fallback(Exception):
    """The model gave no usable answer for a post; `reason` goes to the log."""

    def __init__(self, reason: str, *, stop: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.stop = stop  # the endpoint itself is failing: ask no more in this batch


@dataclass(slots=True)
class _Batch:
    """What went wrong while asking about one batch of posts."""

    failures: Counter[str] = field(default_factory=Counter)
    stopped: str | None = None  # set when the endpoint fails: ask no more in this batch


class LLMEnricher:
    """Asks the model about posts, within the budget, falling back to the local results."""

    def __init__(
        self,
        config: LLMConfig,
        themes: Themes,
        db: Database,
        *,
        client: aiohttp.ClientSession | None = None,
    ) -> None:
        self.config = config
        self.themes = themes
        self.db = db
        self._client = client  # made on the first call: an aiohttp session needs the loop
        self._gate = asyncio.Semaphore(max(1, config.concurrency))
        self._budget_lock = asyncio.Lock()
        self._system = _system_prompt(themes)
        self._told: set[tuple[str, str]] = set()  # (day, reason) already logged
        # content hash -> the answer being asked for now, so concurrent copies wait for it
        self._pending: dict[str, asyncio.Future[Answer | None]] = {}

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    def _session(self) -> aiohttp.ClientSession:
        if self._client is None:
            key = self.config.api_key
            self._client = aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {key}"} if key else {},
                timeout=aiohttp.ClientTimeout(total=self.config.timeout),
                trust_env=True,  # an operator's HTTPS_PROXY reaches the model, as on httpx
            )
        return self._client

    async def enrich(self, posts: Sequence[Post], now: datetime) -> int:
        """Give posts the model's summary and trends where it can; how many it answered."""
        asked = [
            post
            for post in posts
            if post.trends or about_ai(post.title, post.text, self.themes, ai_source=post.ai_source)
        ]
        if not asked:
            return 0
        # One call per content. A copy in this batch, or in another feed's batch running at
        # the same time, waits for the first one's answer; claims are taken before the cache
        # is read, so an answer stored meanwhile is always seen.
        loop = asyncio.get_running_loop()
        mine: dict[str, asyncio.Future[Answer | None]] = {}
        theirs: dict[str, asyncio.Future[Answer | None]] = {}
        firsts: dict[str, Post] = {}
        for post in asked:
            if post.content_hash in firsts or post.content_hash in theirs:
                continue
            if (pending := self._pending.get(post.content_hash)) is not None:
                theirs[post.content_hash] = pending
                continue
            firsts[post.content_hash] = post
            mine[post.content_hash] = self._pending[post.content_hash] = loop.create_future()
        batch = _Batch()
        answers: dict[str, Answer] = {}
        try:
            answers = await self._cached(set(mine))
            todo = [post for h, post in firsts.items() if h not in answers]
            for post, answer in zip(
                todo,
                await asyncio.gather(*(self._call_for(post, now, batch) for post in todo)),
                strict=True,
            ):
                if answer is not None:
                    answers[post.content_hash] = answer
        finally:
            for content_hash, future in mine.items():
                del self._pending[content_hash]
                future.set_result(answers.get(content_hash))
        for content_hash, future in theirs.items():
            if (answer := await asyncio.shield(future)) is not None:
                answers[content_hash] = answer
        answered = 0
        for post in asked:
            if (answer := answers.get(post.content_hash)) is not None:
                _apply(post, answer)
                answered += 1
        self._log_fallbacks(batch.failures, now)
        return answered

    async def _call_for(self, post: Post, now: datetime, batch: _Batch) -> Answer | None:
        """One call: reserve the budget, post the prompt, validate, count tokens, cache."""
        prompt = _user_prompt(post)
        estimate = _estimate_tokens(self._system) + _estimate_tokens(prompt) + MAX_ANSWER_TOKENS
        try:
            async with self._gate:
                if batch.stopped is not None:
                    raise _Fallback(batch.stopped)
                if not await self._reserve(now, estimate):
                    raise _Fallback("the daily token budget is spent", stop=True)
                # A failed call keeps its reservation: the endpoint may have billed it.
                content, used = await self._call(prompt)
                used = used or _estimate_tokens(self._system + prompt + content)
                # Settled before the next call in line reserves (with `concurrency` calls
                # in flight the budget can be overrun by at most that many calls).
                await self._charge(now, used - estimate)
            answer = _parse_answer(content, post, self.themes)
        except _Fallback as exc:
            batch.failures[exc.reason] += 1
            if exc.stop and batch.stopped is None:
                batch.stopped = exc.reason
            return None
        await self._remember(post.content_hash, answer, used, now)
        return answer

    async def _call(self, prompt: str) -> tuple[str, int | None]:
        """The answer's text and the tokens the endpoint says it used (None if it doesn't)."""
        body = {
            "model": self.config.model,
            "messages": [
                {"role": "system", "content": self._system},
                {"role": "user", "content": prompt},
            ],
            "temperature": 0,
            "max_tokens": MAX_ANSWER_TOKENS,
        }
        url = self.config.url.rstrip("/") + "/chat/completions"
        try:
            async with (
                asyncio.timeout(self.config.timeout),
                self._session().post(url, json=body) as response,
            ):
                status, raw = response.status, await response.read()
        except TimeoutError as exc:
            raise _Fallback(f"no answer within {self.config.timeout:g} s", stop=True) from exc
        except aiohttp.ClientError as exc:
            raise _Fallback(f"request failed: {type(exc).__name__}", stop=True) from exc
        if status != 200:
            raise _Fallback(f"HTTP {status}", stop=status != 400)
        try:
            data = json.loads(raw)
            content = data["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise _Fallback("the response is not a chat completion") from exc
        if not isinstance(content, str):
            raise _Fallback("the response is not a chat completion")
        return content, _usage(data.get("usage"))

    async def _reserve(self, now: datetime, tokens: int) -> bool:
        """Count `tokens` against today's budget before calling; False if they don't fit."""
        day = now.date().isoformat()
        async with self._budget_lock, self.db.new_session() as session, session.begin():
            return await llm_answers.reserve(session, day, tokens, self.config.daily_tokens)

    async def _charge(self, now: datetime, tokens: int) -> None:
        """Correct the reservation by what the call really cost."""
        if tokens == 0:
            return
        async with self.db.new_session() as session, session.begin():
            await llm_answers.charge(session, now.date().isoformat(), tokens)

    async def _cached(self, hashes: set[str]) -> dict[str, Answer]:
        async with self.db.new_session() as session:
            found = await llm_answers.cached(session, hashes)
        return {
            item.content_hash: Answer(item.trends, item.summary, item.evidence) for item in found
        }

    async def _remember(
        self, content_hash: str, answer: Answer, tokens: int, now: datetime
    ) -> None:
        cached = llm_answers.CachedAnswer(
            content_hash, answer.trends, answer.summary, dict(answer.evidence)
        )
        try:
            async with self.db.new_session() as session, session.begin():
                await llm_answers.remember(
                    session, cached, model=self.config.model, tokens=tokens, now=now
                )
        except llm_answers.AlreadyAnswered:
            pass  # another feed's copy of this post was answered meanwhile; same content

    def _log_fallbacks(self, failures: Counter[str], now: datetime) -> None:
        """Say why the local results were kept: once per reason and day, then quietly."""
        for reason, count in failures.items():
            key = (now.date().isoformat(), reason)
            level = logging.DEBUG if key in self._told else logging.WARNING
            self._told.add(key)
            log.log(level, "llm: kept the local tags and summary of %d post(s): %s", count, reason)


def _apply(post: Post, answer: Answer) -> None:
    """Replace the post's summary and trends; keep local scores and terms where they agree."""
    local = {tag.trend: tag for tag in post.trends}
    post.summary = answer.summary
    post.trends = [
        local[number]
        if number in local
        else TrendTag(number, LLM_SCORE, answer.evidence.get(number, ()))
        for number in answer.trends
    ]


def _system_prompt(themes: Themes) -> str:
    trends = "\n".join(
        f"{t.number}. {t.name_en} ({t.name_zh}): {' '.join(t.definition.split())}"
        for t in themes.trends
    )
    return (
        "You sort AI news posts into a fixed list of trends and summarise them.\n"
        f"The trends:\n{trends}\n\n"
        "Reply with one JSON object and nothing else:\n"
        '{"themes": [trend numbers the post is substantially about, most relevant first, '
        "at most 3; [] when none fits], "
        f'"summary": "one or two sentences, at most {SUMMARY_CHARS} characters, in the '
        'language of the post, saying what it reports", '
        '"evidence": {"<trend number>": ["up to 3 short phrases copied exactly from the post '
        'that show the trend"]}}'
    )


def _user_prompt(post: Post) -> str:
    text = " ".join(post.text.split())[:TEXT_CHARS]
    return f"Title: {post.title}\n\nText: {text}"


def _parse_answer(content: str, post: Post, themes: Themes) -> Answer:
    """Validate the model's JSON; raise `_Fallback` when it is not usable."""
    try:
        data = json.loads(_FENCE.sub("", content.strip()))
    except ValueError as exc:
        raise _Fallback("the answer is not JSON") from exc
    if not isinstance(data, dict) or not isinstance(data.get("themes"), list):
        raise _Fallback("the answer has no list of themes")
    known = {t.number for t in themes.trends}
    given = [n for n in data["themes"] if isinstance(n, int) and not isinstance(n, bool)]
    numbers = tuple(dict.fromkeys(n for n in given if n in known))
    if data["themes"] and not numbers:
        raise _Fallback("the answer names no valid trend number")
    summary = data.get("summary")
    if not isinstance(summary, str) or not " ".join(summary.split()):
        raise _Fallback("the answer has no summary")
    return Answer(numbers, _cap(" ".join(summary.split())), _evidence(data, numbers, post))


def _evidence(
    data: dict[str, object], numbers: tuple[int, ...], post: Post
) -> dict[int, tuple[str, ...]]:
    """The cited phrases that really occur in the post (case-insensitive), per trend."""
    raw = data.get("evidence")
    if not isinstance(raw, dict):
        return {}
    haystack = " ".join(f"{post.title} {post.text}".split()).lower()
    found: dict[int, tuple[str, ...]] = {}
    for number in numbers:
        phrases = raw.get(str(number))
        if not isinstance(phrases, list):
            continue
        kept = [
            " ".join(p.split())
            for p in phrases
            if isinstance(p, str) and 0 < len(p.strip()) <= _EVIDENCE_CHARS
        ]
        kept = [p for p in dict.fromkeys(kept) if p.lower() in haystack][:_MAX_EVIDENCE]
        if kept:
            found[number] = tuple(kept)
    return found


def _cap(summary: str) -> str:
    """At most SUMMARY_CHARS characters, cut at a space with an ellipsis, never mid-word."""
    return clip(summary, SUMMARY_CHARS)


def _usage(usage: object) -> int | None:
    """Tokens from the response's `usage`; None when the endpoint reports none."""
    if not isinstance(usage, dict):
        return None
    total = usage.get("total_tokens")
    if isinstance(total, int) and total > 0:
        return total
    parts = [usage.get("prompt_tokens"), usage.get("completion_tokens")]
    if all(isinstance(p, int) for p in parts):
        return sum(parts)  # type: ignore[arg-type]
    return None


def _estimate_tokens(text: str) -> int:
    """About four characters per token for Latin text, one per CJK character."""
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    return (ascii_chars + 3) // 4 + (len(text) - ascii_chars)
