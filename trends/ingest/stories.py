"""The same-story rule: one function decides, for ingest and `trendbot analyze` alike.

Independent reports of one event share names, model names, figures and a date, not
wording; across English and Chinese they share only the Latin-script names, the figures and
the names the alias table maps. So a report is reduced to `Features` (entities, numbers,
title words or Chinese title bigrams, time), candidates are found by cheap keys (one key per
entity and day, so a lookup touches only the reports of a few days that share a name), and a
pairwise score decides. Copies are still caught by MinHash (`trends.ingest.dedup`).

Pure functions, no I/O; the input is what the store keeps: title, summary, link, time.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from trends.ingest.story_words import ALIASES, COMMON_NAMES, CONCEPTS, STOP_WORDS
from trends.strings import CJK as _CJK

__all__ = [
    "ALIASES",
    "THRESHOLD",
    "WEIGHTS",
    "WINDOW",
    "Features",
    "features",
    "lookup_keys",
    "pair_features",
    "same_story",
    "score",
    "window_keys",
]

# Reports of one event come within a few days of each other; a weekly or translated
# report can trail the news by three days and more.
WINDOW = timedelta(days=4)
_DAY = 86_400

_ALIAS_RE = re.compile("|".join(sorted(map(re.escape, ALIASES), key=len, reverse=True)))
_LATIN_RE = re.compile(r"[A-Za-z]+")  # "Grok-3", "Grok3": the version goes to models
# A name with a version: "GPT-4o", "Gemini 2.0", "Claude 3.7", "Llama 4", "o3-mini".
_MODEL_RE = re.compile(
    r"(?<![A-Za-z0-9])([A-Za-z][A-Za-z]+)[ -]?(\d{1,2}(?:\.\d)?[a-z]?)(?![\d%A-Za-z]|[.,]\d)"
    r"(?:[ -](pro|mini|flash|max|ultra|turbo|sonnet|opus|haiku|nano))?",
    re.IGNORECASE,
)
_SHORT_MODEL_RE = re.compile(
    r"(?<![a-z0-9.])([a-z]\d{1,2})(?:-(mini|pro))?(?![a-z0-9])"
)  # o1, o3-mini, r1, k2
_NUMBER_RE = re.compile(
    r"(\$|¥|￥)?(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s?(%|billion|million|bn|b|m|k|亿|万|美元|元|gb|tb|tops|倍)?(?![a-z])",
    re.IGNORECASE,
)
_WORD_RE = re.compile(r"[a-z0-9]+")
_CJK_RUN_RE = re.compile(f"[{_CJK}]+")
# Digests of several stories share a name with each of them and are none of them; guides
# and explainers ("what is…", "the 12 best…") tell no one event.
_ROUNDUP_RE = re.compile(
    r"week in review|of the week|this week in|news this week|roundup|round-up|\bweekly:|^\w+ weekly\b"
    r"|everything (?:you need to know|to know|we know|\w+ announced)|\bwhat (?:is|are)\b"
    r"|what (?:you need )?to know|explained|explainer|^(?:the )?\d+ best\b|buyer's guide"
    r"|日报|周报|早报|晚报|周刊|速览|盘点|一文看懂|汇总|合集",
    re.IGNORECASE,
)
# Concepts: an English spelling ("open source", "open-source": consecutive words joined by a
# space) or a Chinese one -> the concept's number.
_CONCEPT_EN = {
    " ".join(_WORD_RE.findall(spelling)): n
    for n, spellings in enumerate(CONCEPTS)
    for spelling in spellings
    if not _CJK_RUN_RE.search(spelling)
}
_PHRASE_STARTS = frozenset(spelling.split()[0] for spelling in _CONCEPT_EN if " " in spelling)
_CONCEPT_ZH = {
    spelling: n
    for n, spellings in enumerate(CONCEPTS)
    for spelling in spellings
    if spelling not in _CONCEPT_EN
}
# By their first two characters, so a Chinese report's bigrams find them.
_CONCEPT_ZH_BY_BIGRAM: dict[str, list[tuple[str, int]]] = {}
for _spelling, _n in _CONCEPT_ZH.items():
    _CONCEPT_ZH_BY_BIGRAM.setdefault(_spelling[:2], []).append((_spelling, _n))
# Dates in a title: "12月10日", "2024-12-10", "12/10", "Dec 10".
_DATE_RE = re.compile(
    r"\d{1,2}月\d{1,2}日|\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?|\b\d{1,2}/\d{1,2}\b"
    r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}(?:st|nd|rd|th)?\b",
    re.IGNORECASE,
)
_DIGIT_RE = re.compile(r"\d")
_TEMPLATE_REST_RE = re.compile(r"[\s\W_]+")  # what a template's column name is made of
_TEMPLATE_REST = 12  # characters
_TEMPLATE_LEAD = 80  # characters of the lead that stand for a template's title
_OPENING_CHARS = 200  # of a Chinese title and lead: its words and concepts
_LEAD_CHARS = 500  # of the summary: leads name the story, bodies drift


@dataclass(frozen=True, slots=True)
class Features:
    """What the rule compares of one report."""

    entities: frozenset[str]  # lowercased names, aliases mapped to the Latin spelling
    models: frozenset[str]  # names with a version ("gemini 2.0"), the strongest evidence
    numbers: frozenset[str]  # figures with a unit ("$2b", "400m", "72b")
    words: frozenset[str]  # title words (English) or title character bigrams (Chinese)
    lead_words: frozenset[str]  # the same of the title and the lead
    day: int | None  # days since the epoch, UTC
    timestamp: float | None
    chinese: bool
    roundup: bool = False  # a digest of several stories ("Week in Review", "AI日报：…；…")
    concepts: frozenset[int] = frozenset()  # `CONCEPTS` said in the title and lead
    headline: frozenset[str] = frozenset()  # capitalised words of a Title Case Headline


def features(title: str, text: str, published: datetime | None) -> Features:
    """Reduce a report (title and summary) to what the same-story rule compares."""
    title = unicodedata.normalize("NFKC", title)
    lead = unicodedata.normalize("NFKC", text)[:_LEAD_CHARS]
    both = f"{title}\n{lead}"
    chinese = sum(len(run) for run in _CJK_RUN_RE.findall(both)) > len(both) / 5
    entities = {ALIASES[m] for m in _ALIAS_RE.findall(both)}
    # A Title Case Headline capitalises every word: there only the lead names things.
    title_words = _LATIN_RE.findall(title)
    title_case = len(title_words) >= 4 and sum(w[0].isupper() for w in title_words) > 0.6 * len(
        title_words
    )
    lead_names, headline_names = set(), set()
    for word in _LATIN_RE.findall(lead):
        low = word.lower()
        # In English a name is capitalised; in Chinese text any Latin word is a name.
        if low not in STOP_WORDS and len(low) > 1 and (chinese or word[0].isupper()):
            lead_names.add(low)
    entities |= lead_names
    for word in title_words:
        low = word.lower()
        if low in STOP_WORDS or len(low) < 2 or not (chinese or word[0].isupper()):
            continue
        # In a Title Case Headline a capitalised word is a name only if the lead capitalises
        # it too, or it is an acronym ("SEC") or a known name.
        if (
            title_case
            and not chinese
            and not (low in lead_names or word.isupper() or low in COMMON_NAMES)
        ):
            headline_names.add(low)  # a name to a Chinese report, which writes names in Latin
            continue
        entities.add(low)
    models = set()
    for name, version, suffix in _MODEL_RE.findall(both):
        low = name.lower()
        if low in STOP_WORDS or not name[0].isupper():  # "Cuts 9,000" is no model
            continue
        version = version.lower().removesuffix(".0")  # "Gemini 2" is "Gemini 2.0"
        models.add(f"{low} {version}")
        if suffix:
            models.add(f"{low} {version} {suffix.lower()}")
    for name, suffix in _SHORT_MODEL_RE.findall(both.lower()):
        models.add(name + (f"-{suffix}" if suffix else ""))
    numbers = set()
    for currency, value, unit in _NUMBER_RE.findall(both):
        value = value.replace(",", "")
        # A bare small number is too often a rank or a day, a bare 19xx/20xx a year.
        bare = not unit and not currency
        if bare and (float(value) < 100 or (len(value) == 4 and value[:2] in ("19", "20"))):
            continue
        numbers.add(_number(value, unit.lower()))
    tokens = _WORD_RE.findall(both.lower())
    distinct = set(tokens)
    concepts = {_CONCEPT_EN[token] for token in distinct & _CONCEPT_EN.keys()}
    if distinct & _PHRASE_STARTS:  # "open source", "data center"
        pairs = (f"{a} {b}" for a, b in pairwise(tokens) if a in _PHRASE_STARTS)
        concepts |= {_CONCEPT_EN[pair] for pair in pairs if pair in _CONCEPT_EN}
    # A dated template ("AI探索站 12月10日", the same every day but the date) says nothing:
    # the lead's opening stands for the title.
    headline = lead[:_TEMPLATE_LEAD] if _is_template(title) else title
    if chinese:
        words = _bigrams(headline)
        words |= {w for w in _WORD_RE.findall(headline.lower()) if w not in STOP_WORDS}
    else:
        words = {
            _stem(w)
            for w in _WORD_RE.findall(headline.lower())
            if w not in STOP_WORDS and len(w) > 1
        }
    if chinese:
        opening = both[:_OPENING_CHARS]
        lead_words = _bigrams(opening)
        for bigram in lead_words & _CONCEPT_ZH_BY_BIGRAM.keys():
            for spelling, n in _CONCEPT_ZH_BY_BIGRAM[bigram]:
                if len(spelling) == 2 or spelling in opening:
                    concepts.add(n)
    else:
        lead_words = {_stem(w) for w in tokens if w not in STOP_WORDS and len(w) > 2}
    if published is not None and published.tzinfo is None:
        published = published.replace(tzinfo=UTC)  # the store keeps naive UTC
    stamp = published.timestamp() if published is not None else None
    return Features(
        entities=frozenset(entities),
        models=frozenset(models),
        numbers=frozenset(numbers),
        words=frozenset(words),
        lead_words=frozenset(lead_words),
        day=int(stamp // _DAY) if stamp is not None else None,
        timestamp=stamp,
        chinese=chinese,
        roundup=bool(_ROUNDUP_RE.search(title)) or title.count("；") + title.count(";") >= 2,
        concepts=frozenset(concepts),
        headline=frozenset(headline_names - entities),
    )


def _bigrams(text: str) -> set[str]:
    """Pairs of adjacent Chinese characters: the words of a language written without spaces."""
    return {run[i : i + 2] for run in _CJK_RUN_RE.findall(text) for i in range(len(run) - 1)}


def _is_template(title: str) -> bool:
    """A title that is a date and a few words of a column's name."""
    if not _DIGIT_RE.search(title):
        return False
    undated = _DATE_RE.sub("", title)
    return undated != title and len(_TEMPLATE_REST_RE.sub("", undated)) <= _TEMPLATE_REST


def _stem(word: str) -> str:
    """Enough of a stemmer to meet "lawsuits"/"lawsuit", "launched"/"launches"."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _number(value: str, unit: str) -> str:
    """One spelling for a figure across languages: 4亿 and 400m, 20亿美元 and $2b."""
    scale = {"billion": 1e9, "bn": 1e9, "b": 1e9, "million": 1e6, "m": 1e6, "k": 1e3}
    scale |= {"亿": 1e8, "万": 1e4}
    if unit in scale:
        amount = float(value) * scale[unit]
        return f"{amount:.3g}"
    return f"{value}{unit if unit not in ('美元', '元') else ''}"


def _rarity(value: str, frequency: Mapping[str, int] | None) -> float:
    """How much sharing `value` says: 1 for a value no other report of the window has, less
    the more reports of those days carry it (a local IDF: "openai" on a launch day is weak)."""
    seen = (frequency or {}).get(value, 1)
    return 1.0 / (1.0 + math.log(max(seen, 1)))


def _shared(kind: str, a: frozenset[str], b: frozenset[str], frequency: Mapping[str, int] | None):
    return sum(_rarity(f"{kind}:{value}", frequency) for value in a & b)


def pair_features(
    a: Features, b: Features, frequency: Mapping[str, int] | None = None
) -> tuple[float, ...]:
    """What the decision weighs, in the order of `WEIGHTS`.

    `frequency` counts, for each of `a`'s keys ("e:nvidia"), the reports of the window that
    carry it; without it every shared value counts as rare.
    """
    dated, hours = False, 24.0  # undated: a day apart
    if a.timestamp is not None and b.timestamp is not None:
        dated, hours = True, abs(a.timestamp - b.timestamp) / 3600
    same_language = a.chinese == b.chinese
    shared_names = a.entities & b.entities
    if not same_language:  # a Chinese report writes a headline's names in Latin too
        shared_names |= (a.headline & b.entities) | (a.entities & b.headline)
    rare = {e for e in shared_names if e not in COMMON_NAMES}
    common = len(shared_names) - len(rare)
    conflict = float(bool(a.models - b.models and b.models - a.models and not a.models & b.models))
    title = (
        2 * len(a.words & b.words) / (len(a.words) + len(b.words))
        if same_language and a.words and b.words
        else 0.0
    )
    lead = (
        len(a.lead_words & b.lead_words) / len(a.lead_words | b.lead_words)
        if same_language and a.lead_words and b.lead_words
        else 0.0
    )
    shared_lead = len(a.lead_words & b.lead_words) / (2 if a.chinese else 1)
    names = sum(_rarity(f"e:{e}", frequency) for e in rare)
    words = _shared("w", a.words, b.words, frequency) if same_language else 0.0
    if a.chinese and same_language:
        words /= 2  # a Chinese word is about two overlapping bigrams
    models = _shared("m", a.models, b.models, frequency)
    numbers = _shared("n", a.numbers, b.numbers, frequency)
    return (
        1.0,
        min(names, 4.0),
        min(common, 3),
        min(models, 2.0),
        min(numbers, 2.0),
        min(words, 4.0),
        title,
        lead,
        conflict,
        min(hours, 72) / 24,
        float(not same_language) * min(names + models, 4.0),
        min(len(rare), 4),
        min(len(a.models & b.models), 2),
        min(len(a.concepts & b.concepts), 4),
        _contained(a.entities, b.entities),
        _contained(a.entities - COMMON_NAMES, b.entities - COMMON_NAMES, 2),
        min(shared_lead, 8) if same_language else 0.0,
        # How near in time, beyond the straight line: undated reports are near by none.
        float(dated and hours <= 6),
        float(dated and hours <= 12),
        float(dated and hours <= 24),
    )


def _contained(a: frozenset[str], b: frozenset[str], least: int = 1) -> float:
    """1 when one report's names, `least` or more of them, are all among the other's (a
    short lead names fewer)."""
    return float(min(len(a), len(b)) >= least and (a <= b or b <= a))


# Fitted by logistic regression (bench/fit_stories.py) on the dev pairs
# (../shared/eval/dedup-dev-pairs.jsonl) plus the other candidate pairs ingest meets in
# those feeds as negatives; bench/dedup.py prints the result.
# fmt: off
WEIGHTS = (
    -3.66, -0.06, 0.93, 0.18, 1.48, 1.05, -0.18, -0.11, -0.37, -0.93,
    1.56, 0.20, 0.76, 0.54, 1.41, -0.49, 0.10, -0.60, 0.90, 1.25,
)
# fmt: on
THRESHOLD = 1.5  # log-odds: the line that keeps dev look-alikes at most 5% merged


def score(a: Features, b: Features, frequency: Mapping[str, int] | None = None) -> float:
    """Log-odds that two reports tell one story; `same_story` draws the line."""
    if (
        a.timestamp is not None
        and b.timestamp is not None
        and abs(a.timestamp - b.timestamp) > WINDOW.total_seconds()
    ) or (a.roundup or b.roundup):
        return -100.0
    return sum(w * x for w, x in zip(WEIGHTS, pair_features(a, b, frequency), strict=True))


def same_story(a: Features, b: Features, frequency: Mapping[str, int] | None = None) -> bool:
    """Whether two reports from different outlets tell one story."""
    return score(a, b, frequency) >= THRESHOLD


def _key(kind: str, value: str, day: int) -> int:
    digest = hashlib.blake2b(f"{kind}\x00{value}\x00{day}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & ((1 << 63) - 1)


def _key_values(f: Features) -> set[tuple[str, str]]:
    # Common names and title words too: a pair the score accepts may share nothing else.
    # Each key holds one day's reports, so even "openai" stays a few dozen candidates.
    values = {("e", e) for e in f.entities}
    values |= {("w", w) for w in f.words}
    values |= {("m", m) for m in f.models}
    values |= {("n", n) for n in f.numbers}
    return values


def window_keys(f: Features, reach: int = WINDOW.days) -> dict[str, tuple[int, ...]]:
    """For each name, model, figure and title word ("e:nvidia"), its keys on each day from
    `reach` days before the report's to as many after: what a lookup reads, grouped so the
    index can count each value's reports. With `reach` 0, the keys a report is indexed under.

    The day is in the key, so a lookup reads the reports of a few days that share a name,
    however large the archive. Undated reports count as one day.
    """
    day = f.day or 0
    days = range(day - reach, day + reach + 1)
    return {
        f"{kind}:{value}": tuple(_key(kind, value, d) for d in days)
        for kind, value in _key_values(f)
    }


def lookup_keys(f: Features) -> list[int]:
    """Keys to look a report's candidates up by: its names on each day of the window."""
    return sorted({key for keys in window_keys(f).values() for key in keys})
