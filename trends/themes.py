"""The ten trends and their lexicon, loaded from `config/themes.yaml`.

`load_themes()` reads the file once and compiles every term, so that `trends.ingest.tag.tag` only
has to look terms up. The numbers, keys and names are the user interface (`/trend 6`); the
lexicon (weighted terms, negative terms and the AI-gate terms) is what the tagger matches.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib.resources import files
from pathlib import Path

import yaml

from trends.models import Trend
from trends.strings import fold_zh, has_cjk

__all__ = ["Term", "Themes", "load_themes"]

_WORD = re.compile(r"[a-z0-9]+")
# Between the words of an English term: a space, a hyphen (any dash) or nothing.
_SEP = r"[\s\-\u2010\u2011\u2012\u2013_]*"
# libyaml's safe loader when PyYAML was built with it: ~10x faster than the pure-Python one.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_WEIGHT = 100  # the shipped terms weigh 0.5 to 10
_TREND_FIELDS = {"number", "key", "name_en", "name_zh", "definition", "terms", "negative"}


@dataclass(frozen=True, slots=True)
class Term:
    """One lexicon entry, compiled for matching.

    `trend` is 0 for AI-gate terms. `weight` is negative for terms that argue against the
    trend. Chinese terms (`zh`) match `needle` as a substring of `fold_zh(text)`. English
    terms match `pattern` on the lower-cased text, but only once the byte tokens of the text
    say they may be there: `keys` are the tokens an occurrence can start with (the word and
    its plurals for a one-word term; for a phrase its first word, or its words joined as in
    "multiagent"), and `then` the forms each further word of a phrase can take. `inside`
    lists the longer terms that contain this one, whose matches are not counted twice.
    """

    text: str
    trend: int
    weight: float
    zh: bool
    needle: str
    words: tuple[str, ...] = ()
    keys: tuple[bytes, ...] = ()
    then: tuple[tuple[bytes, ...], ...] = ()
    source: str | None = None  # of `pattern`, compiled on first use
    inside: tuple[int, ...] = ()

    @property
    def pattern(self) -> re.Pattern[str] | None:
        return _regex(self.source) if self.source is not None else None


@dataclass(frozen=True)
class Themes:
    """The trends in number order, plus the compiled lexicon (see `Term`)."""

    trends: tuple[Trend, ...]
    terms: tuple[Term, ...] = field(default=(), repr=False, compare=False)
    # byte token → indices of one-word English terms with that surface form
    single_index: Mapping[bytes, tuple[int, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )
    # byte token → indices of multi-word English terms it may start (or spell joined)
    phrase_index: Mapping[bytes, tuple[int, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )
    # Chinese: one alternation of every needle, longest first, and needle → term indices
    zh_pattern: re.Pattern[str] | None = field(default=None, repr=False, compare=False)
    zh_index: Mapping[str, tuple[int, ...]] = field(default_factory=dict, repr=False, compare=False)

    def get(self, number: int) -> Trend | None:
        """The trend with this number, or None."""
        return next((t for t in self.trends if t.number == number), None)

    def find(self, query: str) -> Trend | None:
        """The one trend a user means by `query`, or None when none or several fit.

        Accepts a number ("6"), a key ("outcome-pricing"), a full name, a fragment of a key
        or a word of the English name ("pricing"), or part of the Chinese name ("成果").
        """
        q = " ".join(query.split()).lower()
        if not q:
            return None
        if q.isdigit():
            return self.get(int(q))
        for trend in self.trends:
            if q in (trend.key, trend.name_en.lower(), trend.name_zh.lower()):
                return trend
        found = [t for t in self.trends if _fragment_matches(q, t)]
        return found[0] if len(found) == 1 else None


def _fragment_matches(q: str, trend: Trend) -> bool:
    """True when `q` is part of the trend's key, a word of its English name, or Chinese."""
    if q in trend.key:
        return True
    if has_cjk(q):
        return fold_zh(q) in fold_zh(trend.name_zh)
    return q in _WORD.findall(trend.name_en.lower())


def load_themes(path: Path | None = None) -> Themes:
    """Load and compile the themes file; the shipped `config/themes.yaml` by default.

    Raises ValueError when the file can't be read, is not UTF-8, not valid YAML or not a
    valid themes file, with a message that says where.
    """
    if path is None:
        source = files("config") / "themes.yaml"
        where = "config/themes.yaml"
    else:
        source = path
        where = str(path)
    try:
        text = source.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"themes: {where} is not UTF-8 text") from None
    except OSError as exc:
        raise ValueError(f"themes: can't read {where}: {exc.strerror or exc}") from None
    try:
        data = yaml.load(text, Loader=_YAML_LOADER)  # a safe loader, see _YAML_LOADER
    except yaml.YAMLError as exc:
        raise ValueError(f"themes: {where} is not valid YAML: {exc}") from exc
    try:
        return _build(data)
    except ValueError as exc:
        raise ValueError(f"themes: {where}: {exc}") from exc


def _build(data: object) -> Themes:
    """Validate the parsed YAML and compile it into a `Themes`."""
    if not isinstance(data, dict):
        raise ValueError("the top level must be a mapping with 'trends' and 'ai_terms'")
    raw_trends = data.get("trends")
    if not isinstance(raw_trends, list) or not raw_trends:
        raise ValueError("'trends' must be a non-empty list")
    terms: list[Term] = []
    trends: list[Trend] = []
    for i, raw in enumerate(raw_trends):
        trend = _parse_trend(raw, i)
        if any(t.number == trend.number for t in trends):
            raise ValueError(f"trend number {trend.number} appears twice")
        if any(t.key == trend.key for t in trends):
            raise ValueError(f"trend key {trend.key!r} appears twice")
        trends.append(trend)
        where = f"trend {trend.number}"
        positive = _term_weights(raw.get("terms"), f"{where} terms", required=True)
        negative = _term_weights(raw.get("negative"), f"{where} negative", required=False)
        for text, weight in positive:
            if weight <= 0:
                raise ValueError(f"{where}: term {text!r} needs a positive weight")
            terms.append(_compile(text, trend.number, weight))
        for text, weight in negative:
            # A negative term may be written with or without its minus sign.
            terms.append(_compile(text, trend.number, -abs(weight)))
    for text in _gate_terms(data.get("ai_terms")):
        terms.append(_compile(text, 0, 1.0))
    _check_duplicates(terms)
    terms = _link_containment(terms)
    single: dict[bytes, list[int]] = {}
    phrase: dict[bytes, list[int]] = {}
    zh: dict[str, list[int]] = {}
    for index, term in enumerate(terms):
        if term.zh:
            zh.setdefault(term.needle, []).append(index)
            continue
        target = single if len(term.words) == 1 else phrase
        for key in term.keys:
            target.setdefault(key, []).append(index)
    # Longest first, so that at each position the longest term wins: "人形机器人" is
    # counted once, not also as "机器人" (forward maximum matching, without a dictionary).
    needles = sorted(zh, key=lambda n: (-len(n), n))
    zh_pattern = re.compile("|".join(map(re.escape, needles))) if needles else None
    return Themes(
        trends=tuple(sorted(trends, key=lambda t: t.number)),
        terms=tuple(terms),
        single_index={k: tuple(v) for k, v in single.items()},
        phrase_index={k: tuple(v) for k, v in phrase.items()},
        zh_pattern=zh_pattern,
        zh_index={k: tuple(v) for k, v in zh.items()},
    )


def _parse_trend(raw: object, position: int) -> Trend:
    """One entry of 'trends', checked field by field."""
    if not isinstance(raw, dict):
        raise ValueError(f"trends[{position}] must be a mapping")
    unknown = set(raw) - _TREND_FIELDS
    if unknown:
        raise ValueError(f"trends[{position}] has unknown fields: {sorted(map(str, unknown))}")
    number = raw.get("number")
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise ValueError(f"trends[{position}]: 'number' must be a positive integer")
    values: dict[str, str] = {}
    for name in ("key", "name_en", "name_zh", "definition"):
        value = raw.get(name, "" if name == "definition" else None)
        if not isinstance(value, str) or (name != "definition" and not value.strip()):
            raise ValueError(f"trend {number}: {name!r} must be a non-empty string")
        values[name] = value.strip()
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", values["key"]):
        raise ValueError(f"trend {number}: key {values['key']!r} must be lower-case-with-dashes")
    return Trend(number=number, **values)


def _term_weights(raw: object, where: str, *, required: bool) -> list[tuple[str, float]]:
    """The (term, weight) pairs of a `terms` or `negative` block: {en: {...}, zh: {...}}."""
    if raw is None or raw == {}:
        if required:
            raise ValueError(f"{where}: at least one term is needed")
        return []
    if not isinstance(raw, dict) or set(raw) - {"en", "zh"}:
        raise ValueError(f"{where} must be a mapping with 'en' and/or 'zh'")
    pairs: list[tuple[str, float]] = []
    for language, block in raw.items():
        if block is None:
            continue
        if not isinstance(block, dict):
            raise ValueError(f"{where}.{language} must map each term to a weight")
        for text, weight in block.items():
            # YAML reads bare yes/no/on/off/numbers as non-strings: say so instead of guessing.
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"{where}.{language}: term {text!r} must be a quoted string")
            weight = _yaml_number(weight)
            if not isinstance(weight, int | float) or isinstance(weight, bool) or weight == 0:
                raise ValueError(f"{where}.{language}: {text!r} needs a non-zero number weight")
            # NaN compares false with everything, so it would silently turn the trend off;
            # a huge weight swamps every other term (and overflows a sum to infinity).
            if not (math.isfinite(weight) and abs(weight) <= MAX_WEIGHT):
                raise ValueError(
                    f"{where}.{language}: {text!r} has weight {weight}: "
                    f"use a number from -{MAX_WEIGHT} to {MAX_WEIGHT}"
                )
            pairs.append((text.strip(), float(weight)))
    if required and not pairs:
        raise ValueError(f"{where}: at least one term is needed")
    return pairs


def _yaml_number(value: object) -> object:
    """`value`, or the number it spells: YAML 1.1 reads 1e3 (no dot) as a string."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _gate_terms(raw: object) -> list[str]:
    """The AI-gate terms: {en: [...], zh: [...]}."""
    if not isinstance(raw, dict) or not raw or set(raw) - {"en", "zh"}:
        raise ValueError("'ai_terms' must be a mapping with 'en' and/or 'zh' lists")
    texts: list[str] = []
    for language, block in raw.items():
        if not isinstance(block, list) or not all(isinstance(t, str) and t for t in block):
            raise ValueError(f"ai_terms.{language} must be a list of quoted strings")
        texts.extend(t.strip() for t in block)
    return texts


def _compile(text: str, trend: int, weight: float) -> Term:
    """Compile one term: a substring for Chinese, a word-boundary regex for English."""
    if has_cjk(text):
        return Term(text=text, trend=trend, weight=weight, zh=True, needle=fold_zh(text))
    lowered = text.lower()
    words = tuple(_WORD.findall(lowered))
    if not words:
        where = f"trend {trend}" if trend else "ai_terms"
        raise ValueError(f"{where}: term {text!r} has no letters, digits or Chinese")
    # Keep punctuation that is not a space or a dash (the dot of "Apache 2.0") literally.
    body = ""
    for part in re.split(r"([a-z0-9]+)", lowered)[1:-1]:
        if _WORD.fullmatch(part):
            body += re.escape(part)
        elif part.strip(" -\u2010\u2011\u2012\u2013_"):
            body += re.escape(part.strip())
        else:
            body += _SEP
    last = words[-1]
    if last.endswith("y") and len(last) > 2 and last[-2] not in "aeiou":
        # policy → policies
        body = body[: -len(last)] + last[:-1]
        suffix = "(?:y|ies)"
        plurals: tuple[str, ...] = (last, last[:-1] + "ies")
    else:
        suffix = "(?:s|es)?"
        plurals = (last, last + "s", last + "es")
    # The boundary check sits after the leading letters, not before them: a pattern that
    # starts with a literal lets the regex engine jump to candidates, which is ~15x faster
    # on long texts than a leading lookbehind.
    head = body if len(words) == 1 else words[0]
    source = f"{head}(?<![a-z0-9]{head}){body[len(head) :]}{suffix}(?![a-z0-9])"
    if len(words) == 1:
        keys: tuple[str, ...] = plurals
        then: tuple[tuple[bytes, ...], ...] = ()
    else:
        # An occurrence starts with the first word, or with the first k words joined.
        joined = ["".join(words[:k]) for k in range(2, len(words))]
        keys = (words[0], *joined, *("".join(words[:-1]) + p for p in plurals))
        then = (*((w.encode(),) for w in words[1:-1]), tuple(p.encode() for p in plurals))
    return Term(
        text=text,
        trend=trend,
        weight=weight,
        zh=False,
        needle=" ".join(words),
        words=words,
        keys=tuple(dict.fromkeys(k.encode() for k in keys)),
        then=then,
        source=source,
    )


@cache
def _regex(source: str) -> re.Pattern[str]:
    # Compiled when first matched, not at load: compiling all ~460 costs about 0.2 s, and a
    # poll where every feed answers 304 matches none. Load compiles only the few that
    # `_check_duplicates` compares (terms of one trend sharing a first-word prefix).
    return re.compile(source)


def _check_duplicates(terms: list[Term]) -> None:
    """Reject a term that another term of the same trend already matches, which would
    count the same words twice ("open weights" next to "open-weight", 开源 next to 開源)."""
    seen: dict[tuple[int, bool, str], Term] = {}
    for term in terms:
        key = (term.trend, term.zh, term.needle)
        twin = seen.get(key) or next(
            (
                other
                for other in seen.values()
                if other.trend == term.trend
                and not other.zh
                and not term.zh
                and other.words[0][:3] == term.words[0][:3]
                and (_matches_all(other, term) or _matches_all(term, other))
            ),
            None,
        )
        if twin is not None:
            where = f"trend {term.trend}" if term.trend else "ai_terms"
            raise ValueError(f"{where}: term {term.text!r} repeats {twin.text!r}")
        seen[key] = term


def _matches_all(term: Term, other: Term) -> bool:
    """True when `term`'s pattern matches the whole of `other` as written."""
    assert term.pattern is not None
    match = term.pattern.search(other.text.lower())
    return match is not None and match.group() == other.text.lower()


def _link_containment(terms: list[Term]) -> list[Term]:
    """Fill `inside`: for each English trend term, the longer trend terms that contain it."""
    # Only terms sharing a word can contain one another; index them to avoid n² checks.
    by_word: dict[str, list[int]] = {}
    for j, term in enumerate(terms):
        if term.trend and not term.zh:
            for word in set(term.words):
                by_word.setdefault(word, []).append(j)
    mixed = [j for j, t in enumerate(terms) if t.trend and t.zh and _WORD.search(t.needle)]
    linked: list[Term] = []
    for term in terms:
        if term.trend and not term.zh:
            candidates = [*by_word.get(term.words[0], ()), *mixed]
            inside = tuple(j for j in candidates if _contains(terms[j], term))
            term = replace(term, inside=inside)
        linked.append(term)
    return linked


def _contains(outer: Term, inner: Term) -> bool:
    """True when every match of `inner` may be part of a match of the longer `outer`."""
    if len(outer.needle) <= len(inner.needle):
        return False
    if inner.zh:
        return False  # Chinese in Chinese is settled by longest-first matching
    if outer.zh:
        return inner.needle in outer.needle  # "多agent" contains the English "agent"
    n, m = len(inner.words), len(outer.words)
    return any(outer.words[k : k + n] == inner.words for k in range(m - n + 1))
