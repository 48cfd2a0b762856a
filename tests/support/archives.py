"""What the tests' archives hold, as feeds to serve: the one archive fixture (`archive` in
tests/conftest.py) serves them, opens a service over them and polls it once."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from email.utils import format_datetime

from tests.support.feeds import Item, rss_feed
from trends.themes import load_themes

__all__ = [
    "CHINESE",
    "COMPUTE",
    "POSTS_PER_TREND",
    "PRICING",
    "PRICING_AGES",
    "PRICING_FEED",
    "STRONG_PRICING",
    "WEAK_PRICING",
    "desk_archive",
    "every_trend_archive",
    "pricing_archive",
    "pricing_desk_feed",
]

# (title, body): five strongly tagged trend-6 posts (scores 13–24), one strong trend-4 post
# and one weak trend-6 mention (score 3), each worded apart so dedup keeps them all.
STRONG_PRICING = [
    (
        "Contact-centre vendor bills per resolved ticket instead of per seat",
        "Its AI agent is priced per resolution: outcome-based pricing that charges only when "
        "a ticket is resolved, replacing seat-based licences.",
    ),
    (
        "Legal AI firm moves to outcome-based pricing per contract review",
        "Customers pay per task completed by the AI agent, not per seat, as "
        "services-as-software spreads through law firms.",
    ),
    (
        "Accounting startup adopts outcome-based pricing for closed books",
        "The AI agent does the bookkeeping and is paid per outcome delivered under "
        "outcome-based pricing, replacing per-seat SaaS licences and seat-based fees.",
    ),
    (
        "Recruiting platform switches to outcome-based pricing per hire",
        "Pay-per-outcome: the AI agent sources candidates and the vendor charges per "
        "successful hire instead of per-seat fees, services-as-software for HR.",
    ),
    (
        "Insurer pays its AI claims agent per resolution",
        "Outcome-based pricing reaches insurance: the AI agent is paid per claim settled, a "
        "per-resolution model replacing per-seat SaaS fees.",
    ),
]
COMPUTE = (
    "Hyperscaler signs gigawatt data centre deal for AI GPUs",
    "The AI data center will house 500,000 Nvidia GPUs and draw a gigawatt from a new "
    "nuclear power purchase agreement, as compute capex climbs.",
)
WEAK_PRICING = (
    "This week in AI: a roundup",
    "Models, chips, and a note that outcome-based pricing is discussed.",
)


def desk_archive(items: list[tuple[str, str]], now: datetime) -> dict[str, bytes]:
    """One feed, "Desk", of `items` published in the hours before `now`."""
    return {
        "/desk.xml": rss_feed(
            "Desk",
            [Item(t, b, now - timedelta(hours=n)) for n, (t, b) in enumerate(items, 1)],
        )
    }


# Twelve trend-6 stories worded apart so dedup keeps each, and how many days old each is:
# six in the last week, eleven in the last 90 days, twelve in all.
PRICING = [
    ("Contact-centre vendor bills per resolved ticket instead of per seat",
     "Its AI agent is priced per resolution, charging only when a support ticket is closed."),
    ("Legal AI firm moves to outcome-based pricing per contract review",
     "Law firms pay per task completed by the AI agent as services-as-software spreads."),
    ("Accounting startup adopts outcome-based pricing for closed books",
     "Bookkeeping is done by an AI agent paid per outcome delivered, replacing per-seat licences."),
    ("Recruiting platform switches to pay-per-outcome per hire",
     "The AI agent sources candidates; the vendor charges per successful hire, not seat-based fees."),
    ("Insurer pays its AI claims agent per resolution",
     "Claims settled by the AI agent are billed one by one in a per-resolution model."),
    ("Logistics broker charges per delivered shipment booked by its AI agent",
     "Freight dispatch agents are paid per outcome: outcome-based pricing for trucking."),
    ("Hospital network buys AI coding of medical records on outcome-based pricing",
     "Each coded chart accepted by the payer is billed; no per-seat licence remains."),
    ("Marketing agency prices its AI agent per qualified lead",
     "Pay-per-outcome lead generation replaces the monthly seat-based SaaS subscription."),
    ("Bank tests outcome-based pricing for AI fraud agents",
     "The vendor is paid per confirmed fraud case caught, services-as-software in finance."),
    ("Tax software maker bills its AI agent per filed return",
     "Outcome-based pricing: customers pay per accepted tax return rather than per user seat."),
    ("Translation service charges per approved document from its AI agent",
     "Per-outcome billing for localisation; seat-based pricing is dropped entirely."),
    ("Utility company pays AI maintenance agents per repaired fault",
     "Field-service agents are paid per resolution, outcome-based pricing for grids."),
]  # fmt: skip
PRICING_AGES = [1, 2, 3, 4, 5, 6, 10, 20, 40, 50, 60, 120]
CHINESE = (
    "多家公司发布 AI 智能体平台",
    "新一代 AI 智能体可以自主调用工具，多个智能体组成集群协同完成复杂任务。",
)


def pricing_archive(now: datetime) -> dict[str, bytes]:
    """Twelve pricing stories of the ages above and the Chinese story, in two feeds."""
    pricing = [
        Item(title, body, now - timedelta(days=days, hours=1))
        for (title, body), days in zip(PRICING, PRICING_AGES, strict=True)
    ]
    chinese = [Item(*CHINESE, now - timedelta(days=1, hours=1))]
    return {"/pricing.xml": rss_feed("pricing", pricing), "/zh.xml": rss_feed("zh", chinese)}


POSTS_PER_TREND = 3


def every_trend_archive(now: datetime) -> dict[str, bytes]:
    """Fresh posts on every trend, long enough for a digest of several parts."""
    themes = load_themes()
    items = []
    for trend in themes.trends:
        terms = [t.text for t in themes.terms if t.trend == trend.number and not t.zh]
        terms = sorted(terms, key=len, reverse=True)[:POSTS_PER_TREND]
        for index, term in enumerate(terms):
            guid = f"t{trend.number}-{index}"
            filler = " ".join(_word(f"{guid}-{n}") for n in range(45))
            items.append(
                Item(
                    f"AI {term} report {guid}",
                    f"The AI {term} study finds {term} matters. {filler}.",
                    now - timedelta(hours=2 + index * 5 + trend.number),
                    link=f"https://example.com/{guid}",
                    guid=guid,
                )
            )
    return {"/archive.xml": rss_feed("Archive Desk", items)}


def _word(seed: str) -> str:
    digest = hashlib.sha1(seed.encode()).hexdigest()
    return "".join(chr(97 + int(c, 16) % 26) for c in digest[:7])


PRICING_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Pricing Desk</title><link>https://example.com/</link>
<description>Test feed</description>
<item><title>Support agent priced at $0.99 per resolved ticket</title>
<link>https://example.com/per-resolution</link><guid>pricing-1</guid><pubDate>{date1}</pubDate>
<description>&lt;p&gt;The AI support agent is paid per resolution: outcome-based pricing replaces
seat-based licences, and customers pay only for tickets the agent resolves.&lt;/p&gt;</description></item>
<item><title>Why seat-based SaaS pricing breaks when AI agents do the work</title>
<link>https://example.com/seats-break</link><guid>pricing-2</guid><pubDate>{date2}</pubDate>
<description>Vendors move to outcome-based pricing and charge per task completed by the
AI agent rather than per seat, as services-as-software eats into SaaS.</description></item>
</channel></rss>
"""


def pricing_desk_feed(now: datetime) -> bytes:
    """Two fresh outcome-pricing posts, one and two days old."""
    dates = [format_datetime(now - timedelta(days=days)) for days in (1, 2)]
    return PRICING_FEED.format(date1=dates[0], date2=dates[1]).encode()
