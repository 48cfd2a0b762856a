"""The LLM's answers, cached by content hash, and the tokens spent per day."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from trends.store.schema import LLMAnswerRow, LLMUsageRow

__all__ = ["AlreadyAnswered", "CachedAnswer", "cached", "charge", "remember", "reserve"]


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    content_hash: str
    trends: tuple[int, ...]
    summary: str
    evidence: dict[int, tuple[str, ...]]


async def reserve(session: AsyncSession, day: str, tokens: int, budget: int) -> bool:
    """Count `tokens` against `day`'s budget; False (nothing counted) if they don't fit."""
    row = await session.get(LLMUsageRow, day)
    spent = row.tokens if row else 0
    if spent + tokens > budget:
        return False
    if row is None:
        session.add(LLMUsageRow(day=day, tokens=tokens))
    else:
        row.tokens = spent + tokens
    return True


async def charge(session: AsyncSession, day: str, tokens: int) -> None:
    """Add `tokens` (negative to refund) to what `day` has spent."""
    await session.execute(
        update(LLMUsageRow).where(LLMUsageRow.day == day).values(tokens=LLMUsageRow.tokens + tokens)
    )


async def cached(session: AsyncSession, hashes: Iterable[str]) -> list[CachedAnswer]:
    rows = await session.scalars(
        select(LLMAnswerRow).where(LLMAnswerRow.content_hash.in_(sorted(set(hashes))))
    )
    return [
        CachedAnswer(
            content_hash=row.content_hash,
            trends=tuple(row.trends),
            summary=row.summary,
            evidence={int(k): tuple(v) for k, v in (row.evidence or {}).items()},
        )
        for row in rows
    ]


class AlreadyAnswered(Exception):
    """Another copy of the post was answered meanwhile (same content, so the same answer)."""


async def remember(
    session: AsyncSession, answer: CachedAnswer, *, model: str, tokens: int, now: datetime
) -> None:
    """Store one answer; raises `AlreadyAnswered` (the transaction is spoilt) on a race."""
    session.add(
        LLMAnswerRow(
            content_hash=answer.content_hash,
            model=model,
            trends=list(answer.trends),
            summary=answer.summary,
            evidence={str(k): list(v) for k, v in answer.evidence.items()},
            tokens=tokens,
            created_at=now,
        )
    )
    try:
        await session.flush()
    except IntegrityError as exc:
        raise AlreadyAnswered(answer.content_hash) from exc
