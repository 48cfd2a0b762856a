"""Extractive one- or two-sentence summaries for English and Chinese posts.

Sentences are scored by a lead prior (news puts the point first) blended with a small TextRank
centrality (word tokens for English, character bigrams for Chinese). No dependencies.
"""

from __future__ import annotations

import math
import re

from trends.ingest.text import html_to_text, strip_boilerplate
from trends.strings import CJK as _CJK
from trends.strings import has_cjk

__all__ = ["summarise"]

_SCAN_CHARS = 6_000  # the lead of an article is all we need: keeps a 100 KB post fast
_MAX_SENTENCES = 40
_MIN_WORDS = 4  # fewer English words than this is a label ("Research"), not a sentence
_MIN_CJK = 8  # the same for Chinese characters
_ELLIPSIS = "…"

_CJK_RE = re.compile(f"[{_CJK}]")
_CJK_RUN_RE = re.compile(f"[{_CJK}]+")
_WORD_RE = re.compile(r"[^\W_]+(?:[-'’.][^\W_]+)*")
_LATIN_WORD_RE = re.compile(r"[A-Za-z0-9]+")
_TOKEN_WORD_RE = re.compile(r"[a-z0-9]{2,}")  # in lowered text; one letter is no token
_WORD_WINDOW = 64  # characters looked back for the word before a full stop
# Candidate sentence ends: Chinese marks split anywhere, Western marks only before a space.
_ZH_END_RE = re.compile(rf"(?:[。！？；]+|(?<=[{_CJK}])[!?]+)[”’」』）)]*")
_EN_END_RE = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9" + _CJK + r"])")
_ABBREVIATION_WORDS = (
    "e.g i.e etc vs mr mrs ms dr prof sr jr st inc ltd co corp dept fig no nos vol al approx "
    "est jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n e.u ph.d a.m p.m"
)
_ABBREVIATIONS = frozenset(_ABBREVIATION_WORDS.split())
_MARKUP_RE = re.compile(r"</?[A-Za-z][^<>]*>|&(?:#\d+|#x[0-9a-f]+|[a-z]{2,8});", re.IGNORECASE)
_ENUM_RE = re.compile(r"^(?:\d{1,2}、|[（(]\d{1,2}[)）])\s*")  # "1、" digest numbering
# Author credits say who wrote a paper, not what it found.
_CREDITS_RE = re.compile(r"为本文(?:的)?(?:共同)?(?:第一|通讯)?(?:作者|合作者)|本文作者[为是：:]")
_URL_RE = re.compile(r"(?:https?://|www\.)\S+")
_TERMINAL = tuple('.!?。！？；…"”’」』)）')
_STOPWORD_TEXT = (
    "a an the and or but if of to in on at by for with from as is are was were be been being "
    "it its this that these those we our you your they their he she his her i my me us them "
    "not no so than then there here has have had do does did can could will would should may "
    "might must also just more most very into over about after before such which who whom "
    "what when where why how all any each other some new"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def _split_sentences(paragraph: str) -> list[str]:
    """Split one paragraph at sentence ends, keeping abbreviations and decimals intact."""
    # Chinese sentence ends need a CJK mark or a CJK character before "!" or "?".
    ascii_only = paragraph.isascii()
    cuts = [] if ascii_only else [match.end() for match in _ZH_END_RE.finditer(paragraph)]
    for match in _EN_END_RE.finditer(paragraph):
        word = _word_before(paragraph, match.start()).lower().strip("(\"'“")
        is_dot = match.group().startswith(".")
        # "U.S.", "e.g.", "Dr." and initials such as "I. J. Good" do not end a sentence.
        if is_dot and (word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())):
            continue
        cuts.append(match.end())
    pieces: list[str] = []
    start = 0
    for cut in sorted(set(cuts)):
        pieces.append(paragraph[start:cut].strip())
        start = cut
    pieces.append(paragraph[start:].strip())
    return [piece for piece in pieces if piece]


def _word_before(paragraph: str, end: int) -> str:
    """The last whitespace-separated word of `paragraph[:end]` ("" if none).

    Looks at a short window first: copying the whole prefix for every full stop made long
    paragraphs quadratic.
    """
    window = paragraph[max(0, end - _WORD_WINDOW) : end].rsplit(None, 1)
    if len(window) == 2 or end <= _WORD_WINDOW:  # the word starts inside the window
        return window[-1] if window else ""
    before = paragraph[:end].rsplit(None, 1)
    return before[-1] if before else ""


def _tokens(text: str) -> set[str]:
    """Content words for Latin script, character bigrams for Chinese."""
    lowered = text.lower()
    tokens = set(_TOKEN_WORD_RE.findall(lowered)) - _STOPWORDS
    if lowered.isascii():
        return tokens
    for run in _CJK_RUN_RE.findall(lowered):
        tokens.update(run[i : i + 2] for i in range(len(run) - 1))
        if len(run) == 1:
            tokens.add(run)
    return tokens


def _size(text: str) -> int:
    """Length in "words": Latin words plus Chinese characters counted two per word."""
    latin = len(_LATIN_WORD_RE.findall(text))
    return latin if text.isascii() else latin + len(_CJK_RE.findall(text)) // 2


def _is_usable(sentence: str) -> bool:
    """A real sentence: long enough, not a list lead-in, not markup, not mostly a URL."""
    if sentence.endswith((":", "：")) or _MARKUP_RE.search(sentence):
        return False
    if "本文" in sentence and _CREDITS_RE.search(sentence):
        return False
    has_url = "http" in sentence or "www." in sentence  # cheap test before the regex
    if has_url and len(_URL_RE.sub("", sentence)) < 0.7 * len(sentence):
        return False
    if has_cjk(sentence):
        return len(_CJK_RE.findall(sentence)) >= _MIN_CJK
    return len(_WORD_RE.findall(sentence)) >= _MIN_WORDS


def _repeats(a: set[str], b: set[str], threshold: float = 0.75) -> bool:
    """True when the token set `a` is (almost) contained in `b`."""
    return bool(a) and len(a & b) >= threshold * len(a)


def _centrality(token_sets: list[set[str]], iterations: int = 10) -> list[float]:
    """TextRank: PageRank over sentences linked by normalised token overlap."""
    n = len(token_sets)
    logs = [math.log(len(t) + 1) for t in token_sets]
    edges: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            overlap = len(token_sets[i] & token_sets[j])
            if overlap and logs[i] + logs[j] > 0:
                weight = overlap / (logs[i] + logs[j])
                edges[i].append((j, weight))
                edges[j].append((i, weight))
    out_weight = [sum(w for _, w in edge) or 1.0 for edge in edges]
    # Incoming edges with the sender's normalisation folded in, so each iteration is cheap.
    incoming = [[(j, w / out_weight[j]) for j, w in edge] for edge in edges]
    rank = [1.0] * n
    for _ in range(iterations):
        rank = [0.15 + 0.85 * sum(w * rank[j] for j, w in links) for links in incoming]
    top = max(rank, default=1.0) or 1.0
    return [r / top for r in rank]


def _truncate(text: str, max_chars: int) -> str:
    """Cut to at most max_chars, at a word or clause boundary, ending with an ellipsis."""
    if len(text) <= max_chars:
        return text
    limit = max_chars - len(_ELLIPSIS)
    head = text[: limit + 1]
    if has_cjk(text[:limit]):
        # Prefer a clause boundary; otherwise any character boundary is fine for Chinese,
        # but never split a Latin word embedded in Chinese text.
        clause = max(head.rfind(mark) for mark in "，、；：,;")
        if clause >= limit * 0.6:
            return head[:clause].rstrip() + _ELLIPSIS
        cut = limit
        while (
            cut > 0
            and head[cut - 1].isascii()
            and head[cut - 1].isalnum()
            and (head[cut].isascii() and head[cut].isalnum())
        ):
            cut -= 1
        return (head[:cut].rstrip() or text[:limit]) + _ELLIPSIS
    space = head.rfind(" ")
    kept = head[:space] if space > 0 else text[:limit]
    return kept.rstrip(" ,;:—–-") + _ELLIPSIS


def _clean_title(title: str, max_chars: int) -> str:
    return _truncate(" ".join(html_to_text(title or "").split()), max_chars)


def _candidates(text: str) -> list[str]:
    """The first sentences of the body, boilerplate removed."""
    if len(text) > _SCAN_CHARS:
        cut = text.rfind("\n", 0, _SCAN_CHARS)
        text = text[: cut if cut > 0 else _SCAN_CHARS]
    sentences: list[str] = []
    # Line by line, so a long article stops being cleaned once enough sentences are found.
    for line in text.split("\n"):
        for paragraph in strip_boilerplate(line).split("\n"):
            sentences.extend(_split_sentences(paragraph))
        if len(sentences) >= _MAX_SENTENCES:
            break
    return sentences[:_MAX_SENTENCES]


def _sentences(text: str, title: str) -> list[tuple[int, str, set[str]]]:
    """Usable, distinct sentences that do not repeat the title: (position, text, tokens)."""
    title_tokens = _tokens(title or "")
    # Dates and version numbers in a heading ("… - 2024-08-05") should not hide a title repeat.
    words = {token for token in title_tokens if not token.isdigit()}
    seen: set[str] = set()
    kept: list[tuple[int, str, set[str]]] = []
    for position, sentence in enumerate(_candidates(text)):
        key = " ".join(sentence.lower().split())
        if key in seen or not _is_usable(sentence):
            continue
        tokens = _tokens(sentence)  # only for sentences that may be kept
        content = {token for token in tokens if not token.isdigit()}
        if _repeats(content, words):
            continue
        seen.add(key)
        kept.append((position, _ENUM_RE.sub("", sentence), tokens))
    return kept


def _second(
    kept: list[tuple[int, str, set[str]]], scores: list[float], best: int, max_chars: int
) -> list[int]:
    """At most one more sentence: the next one if it reads on naturally, else a strong one."""
    room = max_chars - len(kept[best][1]) - 1

    def fits(i: int) -> bool:
        sentence, tokens = kept[i][1], kept[i][2]
        return (
            len(sentence) <= room
            and not _repeats(tokens, kept[best][2], 0.6)
            # A fragment (code line, caption, heading) after a full sentence reads badly.
            and (sentence.endswith(_TERMINAL) or not kept[best][1].endswith(_TERMINAL))
        )

    # A neighbour reads on naturally; take the better of the two if it is decent.
    neighbours = [i for i in (best - 1, best + 1) if 0 <= i < len(kept) and fits(i)]
    neighbours = [i for i in neighbours if scores[i] >= 0.4 * scores[best]]
    if neighbours:
        return [max(neighbours, key=lambda i: scores[i])]
    others = [i for i in range(len(kept)) if i != best and fits(i)]
    strong = [i for i in others if scores[i] >= 0.8 * scores[best]]
    return [max(strong, key=lambda i: (scores[i], -i))] if strong else []


def summarise(text: str, title: str, max_chars: int = 300) -> str:
    """One or two key sentences of `text` in reading order, or the title if there are none."""
    text = text or ""
    kept = _sentences(text, title)
    if not kept and _MARKUP_RE.search(text[:_SCAN_CHARS]):
        # Callers should pass plain text. If they passed HTML, every sentence was rejected as
        # markup: clean it here rather than fall back. (Cleaning plain text again would
        # merge its paragraphs, so this is not done up front.)
        text = html_to_text(text)
        kept = _sentences(text, title)
    if not kept:
        fallback = " ".join(strip_boilerplate(text[: max_chars * 4]).split())
        return _clean_title(title, max_chars) or _truncate(fallback, max_chars)

    centrality = _centrality([tokens for _, _, tokens in kept])
    scores: list[float] = []
    for rank, ((_, sentence, _), central) in enumerate(zip(kept, centrality, strict=True)):
        # Rank among usable sentences: a skipped heading or byline does not push the lead back.
        lead = 1.0 / (1.0 + 0.3 * rank)
        score = (0.7 * lead + 0.3 * central) * min(1.0, 0.4 + _size(sentence) / 20)
        if not sentence.endswith(_TERMINAL):
            score *= 0.35  # headings, captions and list fragments read badly on their own
        scores.append(score)

    best = max(range(len(kept)), key=lambda i: (scores[i], -i))
    chosen = sorted([best, *_second(kept, scores, best, max_chars)])
    parts = [kept[i][1] for i in chosen]
    # Chinese sentences follow each other without a space; English ones need one.
    joiner = "" if parts[0].rstrip("”’」』）)")[-1:] in ("。", "！", "？", "；") else " "
    return _truncate(joiner.join(parts), max_chars)
