"""Benchmark ingest: posts per second through parse, normalise, dedup, summarise, tag, store.

Run from the repo root: `.venv/bin/python bench/ingest.py [--posts 100000]`.

The corpus feeds (`../shared/corpus/feeds`) are replicated until `--posts` entries have gone
through. Replica 0 is the corpus as it is; every later replica is the same bytes with half of
the English words (four letters or more) and a fifth of the Chinese characters in text nodes
swapped for others drawn from the corpus, and every URL's host prefixed with the replica
number, so titles, links, texts and hashes differ and each replica's posts are new posts,
not copies (markup, entities and sizes are unchanged).

Replica feeds are added from `file://` URLs and ingested by `TrendService.poll`, the code
path of `trendbot poll --once`, into a temporary SQLite database: the first replica in a poll
of its own (20 feeds: parsed in a worker thread), then polls of five replicas (100 feeds:
large enough that worker processes parse and clean while the main process dedups, tags and
stores, as a real poll of that size does). In the same run, feedparser alone parses the
same bytes in this process (`feedparser.parse(bytes)`, its defaults): the baseline rate.
Printed: both rates and their ratio (target: at least 0.5), peak memory (max RSS), the
per-post near-duplicate lookup the pipeline does (`candidates_by_band` + `similarities`) at
1,000, 10,000 and 100,000 stored posts, and the rate for exact copies of stored posts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import numpy as np
from sqlalchemy import func, select

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script, without installing the package

from machine import cpu_name  # noqa: E402  (bench/machine.py; scripts run from bench/)

from trends.errors import ParseError  # noqa: E402
from trends.ingest import dedup, story_index  # noqa: E402
from trends.ingest.parse import parse  # noqa: E402
from trends.ingest.text import html_to_text  # noqa: E402
from trends.models import FeedSpec  # noqa: E402
from trends.service import TrendService  # noqa: E402
from trends.store import feeds as feed_store  # noqa: E402
from trends.store import posts as post_store  # noqa: E402
from trends.store.schema import PostRow  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus" / "feeds"
CHECKPOINTS = (1_000, 10_000, 100_000)
LOOKUP_SAMPLE = 300  # fresh posts looked up (never stored) at each checkpoint
REPLICAS_PER_POLL = 5  # 100 feeds a poll, about 5,700 posts
EN_SWAP, ZH_SWAP = 0.5, 0.2
# Markup (CDATA markers too, so their text is exposed) and entities are kept; English words
# of 4+ letters and CJK characters may swap.
_TOKEN = re.compile(
    r"(<!\[CDATA\[|\]\]>|<[^>]*>|https?://|&lt;.*?&gt;|&#?\w+;|[A-Za-z]{4,}|[\u4e00-\u9fff])", re.S
)
_ENCODING = re.compile(rb"""^<\?xml[^>]*encoding=["']([\w.-]+)["']""")


@dataclass
class _Template:
    """A feed split once into tokens, so replicas are cheap to make."""

    name: str
    encoding: str
    parts: list[str]
    en: np.ndarray  # indices of swappable English words in `parts`
    zh: np.ndarray  # indices of swappable CJK characters

    def replica(self, number: int, en_words: list[str], zh_chars: list[str]) -> bytes:
        if number == 0:
            return "".join(self.parts).encode(self.encoding, "xmlcharrefreplace")
        rng = np.random.default_rng([number, zlib.crc32(self.name.encode())])
        parts = list(self.parts)
        for where, pool, share in ((self.en, en_words, EN_SWAP), (self.zh, zh_chars, ZH_SWAP)):
            chosen = where[rng.random(where.size) < share]
            for index, pick in zip(chosen, rng.integers(len(pool), size=chosen.size), strict=True):
                parts[index] = pool[pick]
        # Every link on a host of its own, so no replica's post shares a canonical link.
        text = "".join(parts).replace("://", f"://r{number}.")
        return text.encode(self.encoding, "xmlcharrefreplace")


@dataclass
class _Totals:
    posts: int = 0
    feeds: int = 0
    pipeline_s: float = 0.0
    feedparser_s: float = 0.0
    new: int = 0
    duplicates: int = 0
    per_poll: list[float] = field(default_factory=list)  # pipeline ms per post, per poll


def _templates() -> tuple[list[_Template], list[str], list[str]]:
    """The corpus feeds our parser accepts, tokenised, and the pools of swap-ins."""
    templates, en, zh = [], set(), set()
    for path in sorted(CORPUS.iterdir()):
        raw = path.read_bytes()
        try:
            parse(raw, url=path.as_uri())
        except ParseError:
            continue  # e.g. the Cloudflare challenge page saved as a feed
        found = _ENCODING.match(raw)
        encoding = found.group(1).decode() if found else "utf-8"
        text = raw.decode(encoding, "replace")
        parts = _TOKEN.split(text)
        en_idx = [i for i in range(1, len(parts), 2) if parts[i].isascii() and parts[i].isalpha()]
        zh_idx = [i for i in range(1, len(parts), 2) if "\u4e00" <= parts[i][0] <= "\u9fff"]
        en.update(parts[i] for i in en_idx)
        zh.update(parts[i] for i in zh_idx)
        templates.append(
            _Template(path.name, encoding, parts, np.array(en_idx, int), np.array(zh_idx, int))
        )
    return templates, sorted(en), sorted(zh)


async def _lookups(service: TrendService, samples: list[tuple[str, str]]) -> dict[str, float]:
    """Median and p95 ms of one near-duplicate lookup, and candidates per lookup."""
    signatures = [dedup.story_signature(title, text) for title, text in samples]
    times, candidates = [], []
    async with service.db.new_session() as session:
        for signature in signatures:
            start = time.perf_counter()
            keys = dedup.band_keys(signature)
            found = await post_store.candidates_by_band(
                session, keys, per_key=story_index.MAX_PER_KEY, counted=story_index.MAX_COUNTED
            )
            stored = [c.minhash for c in found.posts if c.minhash]
            if stored:
                matrix = np.frombuffer(b"".join(stored), dedup.SIGNATURE_DTYPE)
                dedup.similarities(signature, matrix.reshape(len(stored), dedup.NUM_PERM))
            times.append((time.perf_counter() - start) * 1000)
            candidates.append(len(found.posts))
    times.sort()
    return {
        "median_ms": statistics.median(times),
        "p95_ms": times[int(0.95 * (len(times) - 1))],
        "candidates": statistics.mean(candidates),
    }


def _samples(templates: list[_Template], en: list[str], zh: list[str]) -> list[tuple[str, str]]:
    """Posts of a replica never stored, for lookups: (title, plain text)."""
    samples: list[tuple[str, str]] = []
    for template in templates:
        for entry in feedparser.parse(template.replica(999_999, en, zh)).entries:
            body = (entry.get("content") or [{}])[0].get("value") or entry.get("summary", "")
            samples.append((entry.get("title", ""), html_to_text(body)))
    step = max(1, len(samples) // LOOKUP_SAMPLE)
    return samples[::step][:LOOKUP_SAMPLE]


async def _ingest(
    service: TrendService, bodies: dict[Path, bytes], totals: _Totals, *, prefix: str
) -> None:
    """One poll of replica feeds: feedparser alone on each body, then `service.poll` over
    them all (worker processes parse and clean when the poll is large, as in production)."""
    entries = 0
    for body in bodies.values():
        start = time.perf_counter()
        entries += len(feedparser.parse(body).entries)
        totals.feedparser_s += time.perf_counter() - start
    for path, body in bodies.items():
        path.write_bytes(body)
        await _add_feed(service, path.as_uri(), f"{prefix} {path.name}")
    start = time.perf_counter()
    report = await service.feeds.poll()  # the feeds just added are the ones due
    elapsed = time.perf_counter() - start
    for path in bodies:
        path.unlink()
    if failed := [feed for feed in report.feeds if feed.status != "fetched"]:
        raise SystemExit(f"{failed[0].url}: {failed[0].status} {failed[0].error}")
    if len(report.feeds) != len(bodies):
        raise SystemExit(f"polled {len(report.feeds)} feeds, expected {len(bodies)}")
    totals.pipeline_s += elapsed
    totals.posts += entries
    totals.feeds += len(bodies)
    totals.new += report.new_posts
    totals.duplicates += report.duplicates
    if entries:
        totals.per_poll.append(elapsed * 1000 / entries)


async def _add_feed(service: TrendService, url: str, name: str) -> None:
    async with service.db.new_session() as session, session.begin():
        await feed_store.add_feed(session, FeedSpec(url=url, name=name), datetime.now(UTC))


async def _stored(service: TrendService) -> int:
    async with service.db.new_session() as session:
        return int(await session.scalar(select(func.count()).select_from(PostRow)) or 0)


async def run(posts: int, exact_replicas: int) -> None:
    templates, en, zh = _templates()
    samples = _samples(templates, en, zh)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        service = await TrendService.open(f"sqlite+aiosqlite:///{workdir}/bench.db")
        totals = _Totals()
        lookups: dict[int, dict[str, float]] = {}
        pending = [c for c in CHECKPOINTS if c <= posts]
        replica = 0
        try:
            while totals.posts < posts:
                # The archive's first replica in a poll of its own (20 feeds, parsed in a
                # thread), then polls of REPLICAS_PER_POLL replicas (worker processes).
                batch = 1 if replica == 0 else REPLICAS_PER_POLL
                bodies = {
                    workdir / f"r{number}-{template.name}": template.replica(number, en, zh)
                    for number in range(replica, replica + batch)
                    for template in templates
                }
                await _ingest(service, bodies, totals, prefix="replica")
                replica += batch
                stored = await _stored(service)
                while pending and stored >= pending[0]:
                    lookups[stored] = await _lookups(service, samples)
                    pending.pop(0)
            stored = await _stored(service)
            if pending or not lookups:
                lookups[stored] = await _lookups(service, samples)

            exact = _Totals()
            copies = {
                workdir / f"copy{copy}-{template.name}": template.replica(copy, en, zh)
                for copy in range(min(exact_replicas, replica))
                for template in templates
            }
            if copies:
                await _ingest(service, copies, exact, prefix="copy")
        finally:
            await service.close()
        db_mb = (workdir / "bench.db").stat().st_size / 2**20
    _report(totals, exact, lookups, replica, db_mb)


def _report(
    totals: _Totals,
    exact: _Totals,
    lookups: dict[int, dict[str, float]],
    replicas: int,
    db_mb: float,
) -> None:
    pipeline_rate = totals.posts / totals.pipeline_s
    parse_rate = totals.posts / totals.feedparser_s
    ratio = pipeline_rate / parse_rate
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"machine: {platform.platform()}, {cpu_name()}, {_cores()} cores")
    print(
        f"python {platform.python_version()}, feedparser {feedparser.__version__}, "
        f"SQLite {sqlite3.sqlite_version}, numpy {np.__version__}"
    )
    print(
        f"corpus: {len(list(CORPUS.iterdir()))} feed files, replicated {replicas} times "
        f"({totals.feeds} feeds, {totals.posts:,} posts)"
    )
    print()
    print(f"{'':38s} {'posts/s':>9s} {'seconds':>8s}")
    print(f"{'feedparser.parse alone (baseline)':38s} {parse_rate:9.0f} {totals.feedparser_s:8.1f}")
    print(
        f"{'trendbot pipeline, parse to store':38s} {pipeline_rate:9.0f} {totals.pipeline_s:8.1f}"
    )
    verdict = "meets" if ratio >= 0.5 else "MISSES"
    print(f"ratio pipeline / feedparser: {ratio:.2f} ({verdict} the 0.5 target)")
    per_poll = statistics.median(totals.per_poll)
    print(f"median pipeline ms per post, per poll: {per_poll:.2f}")
    print(
        f"stored as new stories: {totals.new:,}; as duplicates/cluster members: {totals.duplicates:,}"
    )
    print(f"peak memory (max RSS): {peak_mb:.0f} MB; database file: {db_mb:.0f} MB")
    print()
    print(f"near-duplicate lookup per post ({LOOKUP_SAMPLE} fresh posts, band keys + similarity):")
    print(f"{'stored posts':>14s} {'median ms':>10s} {'p95 ms':>8s} {'candidates':>11s}")
    for stored, figures in sorted(lookups.items()):
        print(
            f"{stored:14,d} {figures['median_ms']:10.3f} {figures['p95_ms']:8.3f} "
            f"{figures['candidates']:11.2f}"
        )
    if exact.posts:
        print()
        print(
            f"exact copies of stored posts ({exact.posts:,} posts in new feeds): "
            f"{exact.posts / exact.pipeline_s:.0f} posts/s "
            f"(feedparser alone {exact.posts / exact.feedparser_s:.0f}), "
            f"{exact.new} stored as new, {exact.duplicates:,} recognised as duplicates"
        )


def _cores() -> int:
    return os.cpu_count() or 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000, help="posts to ingest")
    parser.add_argument(
        "--exact-replicas", type=int, default=1, help="replicas re-ingested as exact copies"
    )
    args = parser.parse_args()
    asyncio.run(run(args.posts, args.exact_replicas))


if __name__ == "__main__":
    main()
