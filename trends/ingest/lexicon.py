"""The lexicon: the weighted terms of `config/themes.yaml`, found in a post.

One input of the learned tagger (`trends.ingest.tagger`) and its AI gate; as `lexicon_tag`,
the hand-tuned tagger the model replaced, kept as the baseline `trendbot train` prints.

Lexicon scoring, per trend: every lexicon term found adds its weight. A title match counts
`_TITLE_WEIGHT` times; body matches saturate (a term repeated ten times is not ten times the
evidence), and matches after the lead count a quarter each, so a long article is judged
mostly on what it opens with; past `_SCAN_CHARS` the body is not read. Negative terms
subtract the same way. A trend is kept when its score reaches `_MIN_SCORE` and is either
strong on its own (`_SURE_SCORE`) or not dwarfed by the post's top trend (`_RELATIVE`).
Posts without any AI-gate term get no trend at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from trends.models import TrendTag
from trends.strings import fold_zh
from trends.themes import Term, Themes

__all__ = ["about_ai", "lexicon_scores", "lexicon_tag"]

_TITLE_WEIGHT = 2.0
_LEAD_CHARS = 1000  # body text after this counts as "the rest"
# Body text past this is not read: what an article is about shows in its first pages, and
# the cap keeps a 100 KB article within a few ms.
_SCAN_CHARS = 16_000
_REST_WEIGHT = 0.25  # one match after the lead counts as a quarter of one in the lead
_MIN_SCORE = 2.5
_RELATIVE = 0.35  # a second trend needs at least this share of the top trend's score...
_SURE_SCORE = 5.0  # ...unless it is strong on its own (two strong terms, or one in the title)

# bytes.translate table: keep ASCII letters and digits, everything else (punctuation,
# dashes, and every byte of a UTF-8 multi-byte character such as CJK) becomes a space.
# Tokenising bytes this way is ~2x faster than re.findall on 100 KB texts.
_TOKEN_TABLE = bytes(b if (48 <= b <= 57 or 97 <= b <= 122) else 32 for b in range(256))
# UTF-8 lead bytes of U+3000..U+9FFF (CJK punctuation, kana, ideographs): a cheap test for
# "may contain Chinese" that curly quotes and accented letters do not pass.
_CJK_LEAD_BYTES = tuple(bytes([b]) for b in range(0xE3, 0xEA))


@dataclass(frozen=True, slots=True)
class _Segment:
    """One part of a post, prepared once for both kinds of matching."""

    lower: str  # for English regexes
    tokens: Counter[bytes]  # for one-word English terms
    zh: str | None  # folded text for Chinese substrings; None when there is no CJK


def lexicon_tag(
    title: str, text: str, themes: Themes, *, ai_source: bool = False
) -> list[TrendTag]:
    """The hand-tuned lexicon tagger: kept as a baseline for `trendbot train`'s figures.

    `ai_source` says the post comes from a feed that is about AI as a whole (a lab's blog):
    its posts pass the AI gate even when they never say "AI" ("Introducing Operator").
    """
    scores, evidence, gate = lexicon_scores(title, text, themes)
    if not (ai_source or gate) or not scores:
        return []  # the AI gate: nothing here says the post is about AI
    top = max(scores.values())
    floor = max(_MIN_SCORE, min(_RELATIVE * top, _SURE_SCORE))
    tags = [
        TrendTag(
            trend=number,
            score=round(score, 3),
            matched=tuple(
                text for _, text in sorted(evidence[number], key=lambda e: (-e[0], e[1]))
            ),
        )
        for number, score in scores.items()
        if score >= floor
    ]
    return sorted(tags, key=lambda t: (-t.score, t.trend))


def lexicon_scores(
    title: str, text: str, themes: Themes
) -> tuple[dict[int, float], dict[int, list[tuple[float, str]]], bool]:
    """Per-trend lexicon scores (positive ones), their evidence, and whether AI is named."""
    body = (text or "")[:_SCAN_CHARS]
    cut = _lead_end(body)
    title_counts = _count(_segment(title or ""), themes)
    lead_counts = _count(_segment(body[:cut]), themes)
    rest_counts = _count(_segment(body[cut:]), themes) if cut < len(body) else {}
    gate = _names_ai((title_counts, lead_counts, rest_counts), themes)
    title_eff = _effective(title_counts, themes)
    lead_eff = _effective(lead_counts, themes)
    rest_eff = _effective(rest_counts, themes)

    scores: dict[int, float] = {}
    evidence: dict[int, list[tuple[float, str]]] = {}
    for index in title_eff.keys() | lead_eff.keys() | rest_eff.keys():
        term = themes.terms[index]
        strength = _TITLE_WEIGHT * (title_eff.get(index, 0) > 0) + _saturate(
            lead_eff.get(index, 0) + _REST_WEIGHT * rest_eff.get(index, 0)
        )
        if strength <= 0:
            continue
        contribution = term.weight * strength
        scores[term.trend] = scores.get(term.trend, 0.0) + contribution
        if contribution > 0:
            evidence.setdefault(term.trend, []).append((contribution, term.text))
    return {n: v for n, v in scores.items() if v > 0}, evidence, gate


def about_ai(title: str, text: str, themes: Themes, *, ai_source: bool = False) -> bool:
    """The AI gate alone: False when `tag` returns nothing because the post is not about AI.

    `tag` also returns nothing for an AI post too weak for any trend; callers that want to
    tell the two apart (the optional LLM step spends no tokens on non-AI posts) ask this.
    """
    if ai_source:
        return True
    body = (text or "")[:_SCAN_CHARS]
    cut = _lead_end(body)
    parts = (title or "", body[:cut], body[cut:])
    return _names_ai([_count(_segment(part), themes) for part in parts if part], themes)


def _names_ai(counts: Iterable[dict[int, int]], themes: Themes) -> bool:
    """True when any of the counted terms is an AI-gate term (trend 0)."""
    return any(themes.terms[i].trend == 0 for found in counts for i in found)


def _lead_end(body: str) -> int:
    """Where the lead ends: near `_LEAD_CHARS`, at a space so no word is cut in two."""
    if len(body) <= _LEAD_CHARS:
        return len(body)
    space = body.rfind(" ", _LEAD_CHARS // 2, _LEAD_CHARS)
    return space if space > 0 else _LEAD_CHARS


def _segment(text: str) -> _Segment:
    """Lower-case, tokenise and (when there may be Chinese) fold one part of a post."""
    lower = text.lower()
    encoded = lower.encode("utf-8")
    tokens = Counter(encoded.translate(_TOKEN_TABLE).split())
    has_cjk = any(lead in encoded for lead in _CJK_LEAD_BYTES)
    return _Segment(lower=lower, tokens=tokens, zh=fold_zh(lower) if has_cjk else None)


def _count(segment: _Segment, themes: Themes) -> dict[int, int]:
    """Raw occurrence counts of every lexicon term in one segment, by term index."""
    counts: dict[int, int] = {}
    terms = themes.terms
    tokens = segment.tokens
    # One-word English terms: the token counts are the answer.
    for key in tokens.keys() & themes.single_index.keys():
        for index in themes.single_index[key]:
            counts[index] = counts.get(index, 0) + tokens[key]
    # Phrases: run a phrase's regex only when all its words are among the tokens (or it
    # appears joined), so a long text runs a handful of regexes, not hundreds.
    candidates: set[int] = set()
    for key in tokens.keys() & themes.phrase_index.keys():
        for index in themes.phrase_index[key]:
            term = terms[index]
            if key != term.keys[0] or all(
                any(form in tokens for form in forms) for forms in term.then
            ):
                candidates.add(index)
    for index in candidates:
        pattern = terms[index].pattern
        assert pattern is not None  # English terms always have one
        found = len(pattern.findall(segment.lower))
        if found:
            counts[index] = found
    if segment.zh and themes.zh_pattern is not None:
        for needle, found in Counter(themes.zh_pattern.findall(segment.zh)).items():
            for index in themes.zh_index[needle]:
                counts[index] = found
    return counts


def _effective(counts: dict[int, int], themes: Themes) -> dict[int, int]:
    """Counts less the matches that were only part of a longer matched term."""
    effective: dict[int, int] = {}
    terms: tuple[Term, ...] = themes.terms
    for index, count in counts.items():
        term = terms[index]
        if term.trend == 0:
            continue  # gate terms are not evidence for any trend
        if term.inside:
            count -= sum(counts.get(j, 0) for j in term.inside)
        if count > 0:
            effective[index] = count
    return effective


def _saturate(n: float) -> float:
    """Diminishing returns: the first occurrence counts 1, the next two 0.5 each, no more."""
    if n <= 1:
        return n
    return 1.0 + 0.5 * min(n - 1.0, 2.0)
