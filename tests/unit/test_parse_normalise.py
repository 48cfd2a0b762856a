"""parse → normalise on named fixtures (tests/fixtures/parse/<case>.xml, our own writing):
what a subscriber ends up reading from each kind of feed, with no server and no database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from trends.ingest.normalise import normalise
from trends.ingest.parse import parse
from trends.models import Post

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "parse"
FETCHED = datetime(2026, 11, 20, tzinfo=UTC)


def posts_of(case: str) -> tuple[str | None, list[Post]]:
    parsed = parse(
        (FIXTURES / f"{case}.xml").read_bytes(), url="https://x.example/feed", content_type=None
    )
    return parsed.title, normalise(parsed.entries, source="s", language="en", fetched_at=FETCHED)


@pytest.mark.parametrize(
    ("case", "feed_title", "first_title", "first_text", "link", "published"),
    [
        (
            "rss2",
            "Harbor Notes",
            "Harbor ships a tide model",
            "The model predicts tides & currents.",  # HTML and entities become plain text
            "https://harbor.example/tide",
            datetime(2026, 11, 17, 8, 30, tzinfo=UTC),
        ),
        (
            "atom",
            "Kestrel Lab",
            "Kestrel agents learn to plan",  # markup in a title is dropped
            "Planning with search.",  # and a script never reaches the text
            "https://kestrel.example/plan",
            datetime(2026, 11, 18, 9, 0, tzinfo=UTC),
        ),
        (
            "rss1",
            "Preprints",
            "Scaling laws for harbour robots",
            "We study robots in ports.",
            "https://preprints.example/2611.00001",
            datetime(2026, 11, 15, tzinfo=UTC),
        ),
        (
            "gb2312",  # declared gb2312, read as its superset GB18030
            "港口日报",
            "港口模型发布",
            "新的潮汐预测模型。",
            "https://gangkou.example/1",
            datetime(2026, 11, 17, 0, 30, tzinfo=UTC),  # +0800 in the feed
        ),
    ],
)
def test_each_kind_of_feed_reads_as_a_subscriber_expects(
    case: str, feed_title: str, first_title: str, first_text: str, link: str, published: datetime
) -> None:
    title, posts = posts_of(case)
    assert title == feed_title
    first = posts[0]
    assert (first.title, first.text, first.canonical_link) == (first_title, first_text, link)
    assert first.published == published


def test_an_offset_date_is_stored_in_utc() -> None:
    _, posts = posts_of("rss2")
    assert posts[1].published == datetime(2026, 11, 16, 7, 30, tzinfo=UTC)  # +0100 in the feed


def test_a_feed_cut_off_mid_entry_keeps_its_complete_entries() -> None:
    parsed = parse(
        (FIXTURES / "broken.xml").read_bytes(), url="https://x.example/", content_type=None
    )
    assert parsed.warning  # told to the operator, not fatal
    posts = normalise(parsed.entries, source="s", language="en", fetched_at=FETCHED)
    assert [post.title for post in posts] == ["Kept despite the tail"]
    assert posts[0].published == FETCHED  # undated: dated when it was fetched
