"""Tables. The alembic migrations in `migrations/` create exactly these.

Uniqueness is enforced here, not only in code, so two pollers racing can't store a post
twice and two broadcasters can't deliver a digest twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from trends.strings import search_tokens

__all__ = [
    "AlertRow",
    "Base",
    "BroadcastRow",
    "DeliveryRow",
    "FeedRow",
    "FeedbackRow",
    "LLMAnswerRow",
    "LLMUsageRow",
    "LeaseRow",
    "PostBandRow",
    "PostRow",
    "PostTrendRow",
    "PreferencesRow",
    "SubscriberRow",
    "TopicRouteRow",
    "UTCDateTime",
]


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out; SQLite keeps no zone, so one is attached on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def _search_tokens_of_row(context: DefaultExecutionContext) -> str:
    row = context.get_current_parameters()
    return search_tokens(row.get("title") or "", row.get("summary") or "")


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime}  # noqa: RUF012


class FeedRow(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(500))
    language: Mapped[str] = mapped_column(String(8), default="en")
    poll_minutes: Mapped[int] = mapped_column(Integer, default=60)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    ai_source: Mapped[bool] = mapped_column(Boolean, default=False)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    next_check_at: Mapped[datetime | None] = mapped_column(index=True)
    last_success_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column()
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column()
    # Set when the admins were told this feed is failing; cleared (and told) on recovery.
    failure_alerted_at: Mapped[datetime | None] = mapped_column()
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    # The feeds file's `preferred`: its post leads a story when members tie on time.
    preferred: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The poller that claimed this feed (trends/store/leases.py), until the lease expires.
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column()


class PostRow(Base):
    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("feed_id", "guid", name="uq_posts_feed_guid"),
        # One feed stores a page once; the same page through another feed is a member of
        # its story (see trends/ingest/pipeline.py), so these are unique per feed only.
        UniqueConstraint("feed_id", "canonical_link", name="uq_posts_feed_canonical_link"),
        UniqueConstraint("feed_id", "content_hash", name="uq_posts_feed_content_hash"),
        Index("ix_posts_published", "published_at"),
        Index("ix_posts_canonical_link", "canonical_link"),
        Index("ix_posts_content_hash", "content_hash"),
        # SQLite also has ix_posts_story_newest (id, cluster_id, published_at), for
        # /search; migration 0010 says why it is SQLite's alone.
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), index=True)
    guid: Mapped[str] = mapped_column(String(2048))
    link: Mapped[str] = mapped_column(String(2048))
    canonical_link: Mapped[str] = mapped_column(String(2048))
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="en")
    published_at: Mapped[datetime] = mapped_column()
    fetched_at: Mapped[datetime] = mapped_column()
    # The first report of the same story; NULL for a cluster's first post.
    cluster_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="SET NULL"), index=True
    )
    minhash: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The cleaned body's length: the longest text leads a story when time and preference tie.
    text_chars: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Posts from a feed's first fetch that predate the digest window stay out of digests.
    in_digests: Mapped[bool] = mapped_column(Boolean, default=True)
    # Words too short for the trigram indexes (trends.strings.search_tokens), for /search;
    # worked out from title and summary by every insert that does not give it.
    search_tokens: Mapped[str | None] = mapped_column(Text, default=_search_tokens_of_row)


class PostTrendRow(Base):
    __tablename__ = "post_trends"
    __table_args__ = (
        Index("ix_post_trends_trend_published", "trend", "published_at"),
        # /trend N counts and pages a trend's stories from this index alone.
        Index(
            "ix_post_trends_story_leads",
            "trend",
            "published_at",
            "post_id",
            sqlite_where=text("story_lead = 1"),  # the term the queries have
            postgresql_where=text("story_lead"),
        ),
    )

    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    trend: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    matched: Mapped[list[str]] = mapped_column(JSON, default=list)
    published_at: Mapped[datetime] = mapped_column()
    # The post is its story's first report (posts.cluster_id is NULL, fixed when stored).
    story_lead: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class PostBandRow(Base):
    """LSH band keys of each post's MinHash: near-duplicate lookups are index seeks."""

    __tablename__ = "post_bands"

    band_key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )


class SubscriberRow(Base):
    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_type: Mapped[str] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(8), default="en")
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    deactivated_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column()


class PreferencesRow(Base):
    __tablename__ = "preferences"

    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    trends: Mapped[list[int]] = mapped_column(JSON)  # followed trends, all ten by default
    cadence: Mapped[str] = mapped_column(String(8), default="weekly")  # weekly | daily | off
    digest_day: Mapped[int] = mapped_column(SmallInteger, default=0)  # 0 = Monday
    digest_hour: Mapped[int] = mapped_column(SmallInteger, default=9)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    language: Mapped[str | None] = mapped_column(String(8))  # None: follow Telegram's
    link_previews: Mapped[bool] = mapped_column(Boolean, default=False)
    alert_trends: Mapped[list[int]] = mapped_column(JSON, default=list)  # instant alerts


class TopicRouteRow(Base):
    """In a forum group, trend N's posts go to the topic where `/route N` was sent."""

    __tablename__ = "topic_routes"

    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    trend: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    thread_id: Mapped[int] = mapped_column(BigInteger)


class AlertRow(Base):
    """Instant alerts sent: one per (subscriber, post), and the hourly cap counts these."""

    __tablename__ = "alerts"

    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    sent_at: Mapped[datetime] = mapped_column(index=True)


class FeedbackRow(Base):
    """A reader's "wrong trend?" answer on a post, for admins tuning the themes file."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    trend: Mapped[int] = mapped_column(SmallInteger)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    verdict: Mapped[str] = mapped_column(String(16), default="wrong")
    created_at: Mapped[datetime] = mapped_column()


class BroadcastRow(Base):
    """One digest run over many subscribers, for the admins' report and /stats."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest_key: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    sent: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    deactivated: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)


class DeliveryRow(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "digest_key", name="uq_deliveries_subscriber_digest"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    digest_key: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(8), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    parts_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()


class LeaseRow(Base):
    """A named lease one process holds at a time (`sender`: the one that sends digests)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column()


class LLMAnswerRow(Base):
    """The LLM's validated answer for a post's content, so a copy never costs a second call."""

    __tablename__ = "llm_answers"

    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(200))
    trends: Mapped[list[int]] = mapped_column(JSON)
    summary: Mapped[str] = mapped_column(Text)
    # trend number (as a string) -> phrases of the post the model cited for it
    evidence: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    tokens: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column()


class LLMUsageRow(Base):
    """Tokens the LLM used per UTC day, counted against TRENDBOT_LLM_DAILY_TOKENS."""

    __tablename__ = "llm_usage"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, UTC
    tokens: Mapped[int] = mapped_column(BigInteger, default=0)
