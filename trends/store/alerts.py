"""Instant alerts: which strongly tagged new posts each subscriber should get now, and the
record of what was sent (one row per subscriber and post, which the hourly cap counts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from trends.models import StoredPost, TrendTag
from trends.store import routes
from trends.store.schema import (
    AlertRow,
    FeedRow,
    PostRow,
    PostTrendRow,
    PreferencesRow,
    SubscriberRow,
)

__all__ = ["AlertPolicy", "DueAlert", "claim_alert", "due_alerts"]

_HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    min_score: float  # a post's tag score on the trend must reach this
    per_hour: int  # alerts per subscriber in any hour; the rest wait for the digest
    fresh: timedelta  # only posts fetched this recently count as "arriving"
    max_age: timedelta  # ...and published this recently (not a new feed's backlog)


@dataclass(frozen=True, slots=True)
class DueAlert:
    subscriber_id: int
    chat_id: int
    language: str
    link_previews: bool
    trend: int
    post: StoredPost
    thread_id: int | None = None  # the forum topic the trend is routed to, if any


async def due_alerts(session: AsyncSession, now: datetime, policy: AlertPolicy) -> list[DueAlert]:
    """Alerts to send now, strongest first per subscriber, within each one's hourly cap."""
    wanting = [
        (sub, prefs)
        for sub, prefs in (
            await session.execute(
                select(SubscriberRow, PreferencesRow)
                .join(PreferencesRow, PreferencesRow.subscriber_id == SubscriberRow.id)
                .where(SubscriberRow.active)
                .order_by(SubscriberRow.id)
            )
        ).all()
        if prefs.alert_trends
    ]
    if not wanting:
        return []
    trends = sorted({n for _, prefs in wanting for n in prefs.alert_trends})
    candidates = await _candidates(session, now, policy, trends)
    if not candidates:
        return []
    ids = [sub.id for sub, _ in wanting]
    sent = set(
        (
            await session.execute(
                select(AlertRow.subscriber_id, AlertRow.post_id).where(
                    AlertRow.subscriber_id.in_(ids),
                    AlertRow.post_id.in_([post.id for post, _ in candidates]),
                )
            )
        ).all()
    )
    recent = await _sent_since(session, ids, now - _HOUR)
    routed = await routes.routes_of(session, ids)
    due = []
    for sub, prefs in wanting:
        room = policy.per_hour - recent.get(sub.id, 0)
        seen: set[int] = set()
        for post, tag in candidates:
            if room <= 0:
                break
            if tag.trend not in prefs.alert_trends or post.id in seen or (sub.id, post.id) in sent:
                continue
            seen.add(post.id)
            room -= 1
            due.append(
                DueAlert(
                    subscriber_id=sub.id,
                    chat_id=sub.chat_id,
                    language=prefs.language or sub.language,
                    link_previews=prefs.link_previews,
                    trend=tag.trend,
                    post=post,
                    thread_id=routed.get(sub.id, {}).get(tag.trend),
                )
            )
    return due


async def claim_alert(
    session: AsyncSession, subscriber_id: int, post_id: int, now: datetime, per_hour: int
) -> bool:
    """Record an alert before it is sent; False when it was sent already or the cap is
    reached (so a crash between claim and send loses an alert rather than repeating one)."""
    if (await _sent_since(session, [subscriber_id], now - _HOUR)).get(subscriber_id, 0) >= per_hour:
        return False
    try:
        async with session.begin_nested():
            session.add(AlertRow(subscriber_id=subscriber_id, post_id=post_id, sent_at=now))
    except IntegrityError:
        return False
    return True


async def _candidates(
    session: AsyncSession, now: datetime, policy: AlertPolicy, trends: list[int]
) -> list[tuple[StoredPost, TrendTag]]:
    """(post, its tag on one of `trends`) for fresh, strong first reports, strongest first."""
    rows = (
        await session.execute(
            select(PostRow, FeedRow.name, PostTrendRow)
            .join(PostTrendRow, PostTrendRow.post_id == PostRow.id)
            .join(FeedRow, FeedRow.id == PostRow.feed_id)
            .where(
                PostRow.fetched_at >= now - policy.fresh,
                PostRow.published_at >= now - policy.max_age,
                PostRow.cluster_id.is_(None),
                PostRow.in_digests,
                PostTrendRow.trend.in_(trends),
                PostTrendRow.score >= policy.min_score,
            )
            .order_by(PostTrendRow.score.desc(), PostRow.published_at.desc(), PostRow.id)
        )
    ).all()
    return [
        (
            StoredPost(
                id=post.id,
                title=post.title,
                link=post.link,
                summary=post.summary,
                source=source,
                published=post.published_at,
            ),
            TrendTag(tag.trend, tag.score, tuple(tag.matched or ())),
        )
        for post, source, tag in rows
    ]


async def _sent_since(
    session: AsyncSession, subscriber_ids: list[int], since: datetime
) -> dict[int, int]:
    query = (
        select(AlertRow.subscriber_id, func.count())
        .where(AlertRow.subscriber_id.in_(subscriber_ids), AlertRow.sent_at >= since)
        .group_by(AlertRow.subscriber_id)
    )
    return {sub: count for sub, count in (await session.execute(query)).all()}
