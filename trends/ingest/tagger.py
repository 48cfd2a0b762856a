"""The learned trend tagger: one-vs-rest logistic regression over hashed text features.

Features of a post (`featurise`): English word unigrams and bigrams, Chinese character
bigrams, each hashed into `DIM` buckets (so the shipped weights are numbers, never words).
The title, the lead and the rest of a long article are three zones, each damped (log
counts) and scaled to unit length before its weight (`TITLE_WEIGHT` > `LEAD_WEIGHT` >
`REST_WEIGHT`): a long body's terms count by density, not by number, so an article that
mentions a term in passing is not judged on it. Beside the text, the lexicon's per-trend
scores (`trends.ingest.tag.lexicon_scores`) are features of their own.

A trend's probability is a logistic of its linear score, recalibrated on out-of-fold
predictions (Platt scaling, `trends.ingest.train`); a trend is kept when the probability reaches
its own threshold, chosen on the same out-of-fold predictions. Like the lexicon tagger, the
model tags nothing that fails the lexicon's AI gate unless the feed is about AI as a whole:
learnt from a few AI feeds, it cannot know what a plant-biology feed looks like.
"""

from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files
from pathlib import Path

import numpy as np

from trends.ingest.lexicon import lexicon_scores
from trends.models import TrendTag
from trends.themes import Themes

__all__ = ["DIM", "TRENDS", "Features", "Model", "default_model", "featurise", "load_model"]

TRENDS = tuple(range(1, 11))
DIM = 1 << 18  # hash buckets for text features
N_LEX = len(TRENDS) + 1  # one lexicon score per trend, and "names AI"
# Weights of the three zones of a post, each a unit vector: the title and lead say what a
# post is about; the rest of a long article mostly mentions things in passing.
TITLE_WEIGHT = 1.0
LEAD_WEIGHT = 0.8
REST_WEIGHT = 0.4
LEAD_CHARS = 1200
REST_CHARS = 8000  # past the lead, this much more is read; the rest says little
LEX_SCALE = 0.5  # lexicon features on a scale comparable to the unit-length text vector
MAX_MATCHED = 5
# Trends kept only when the lexicon finds at least one of their terms in the post (the
# model then weighs how much the post is about it). Outcome-based pricing is learnt from a
# dozen posts, nearly all about agents: alone, the model tags every agent-payments post 6.
NEED_LEXICON = frozenset({6})
WEIGHTS_FILE = "tagger_weights.npz"

_EN_WORD = re.compile(r"[a-z0-9][a-z0-9'+#.]*[a-z0-9+#]|[a-z0-9]")
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]{2,}")
# Function words carry no topic; dropping them keeps bigrams like "of the" out.
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "for",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "its",
        "this",
        "that",
        "with",
        "as",
        "at",
        "by",
        "from",
        "we",
        "our",
        "you",
        "your",
        "they",
        "their",
        "he",
        "she",
        "his",
        "her",
        "i",
        "my",
        "me",
        "us",
        "will",
        "can",
        "not",
        "but",
        "so",
        "if",
        "than",
        "then",
        "there",
        "these",
        "those",
        "which",
        "who",
        "what",
        "when",
        "how",
        "all",
        "any",
        "more",
        "most",
        "also",
        "into",
        "about",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "just",
    ]
)


@dataclass(slots=True)
class Features:
    """A post's hashed feature vector, and the words behind each bucket (for `matched`)."""

    index: np.ndarray  # int64 bucket numbers, unique
    value: np.ndarray  # float32 weights, same length
    unigrams: list[str]  # the post's distinct words, title first (for `words`)
    lex: np.ndarray  # float32 [N_LEX]
    lex_terms: dict[int, list[str]]  # trend -> lexicon terms found, strongest first
    names_ai: bool  # the lexicon's AI gate: some term says the post is about AI
    _words: dict[int, str] | None = None

    @property
    def words(self) -> dict[int, str]:
        """Bucket -> the first word of the post that fell in it.

        Built on first use: only a post that gets a tag needs its words explained, and
        hashing every word again for the rest would cost time.
        """
        if self._words is None:
            first = list(reversed(self.unigrams))  # the title's words win a shared bucket
            keys = np.fromiter(map(_word_key, first), dtype=np.uint64, count=len(first))
            self._words = dict(zip(_buckets(keys).tolist(), first, strict=True))
        return self._words


# A gram's 64-bit key (a word's crc32; two words' crc32s side by side; two Chinese
# characters' code points, flagged) goes to a bucket by Fibonacci hashing: the top bits of
# key * golden ratio. Keys are built with numpy, so only distinct words are hashed in Python.
_MIX = np.uint64(0x9E3779B97F4A7C15)
_SHIFT = np.uint64(64 - DIM.bit_length() + 1)
_CJK_FLAG = np.uint64(1 << 62)


@lru_cache(maxsize=1 << 16)  # bounded: a long-running bot sees endless new words
def _word_key(word: str) -> int:
    """A stable hash (crc32, not Python's salted hash) of one word."""
    return zlib.crc32(word.encode("utf-8"))


def _buckets(keys: np.ndarray) -> np.ndarray:
    """Bucket numbers of uint64 gram keys."""
    return ((keys * _MIX) >> _SHIFT).astype(np.int64)


def _zone(text: str) -> tuple[np.ndarray, list[str]]:
    """Bucket numbers of a text's grams (with repeats), and its distinct English words.

    The grams: unigrams and bigrams of the English words; bigrams of each run of Chinese
    characters.
    """
    lower = text.lower()
    words = [w for w in _EN_WORD.findall(lower) if w not in _STOP]
    keys: list[np.ndarray] = []
    if words:
        distinct = dict.fromkeys(words)
        key_of = dict(zip(distinct, map(_word_key, distinct), strict=True))
        w = np.fromiter(map(key_of.__getitem__, words), dtype=np.uint64, count=len(words))
        keys += [w, (w[:-1] << np.uint64(32)) | w[1:]]
    for run in _CJK_RUN.findall(lower):
        c = np.frombuffer(run.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        keys.append((c[:-1] << np.uint64(21)) | c[1:] | _CJK_FLAG)
    if not keys:
        return np.zeros(0, dtype=np.int64), []
    return _buckets(np.concatenate(keys)), list(dict.fromkeys(words))


def featurise(title: str, text: str, themes: Themes) -> Features:
    """The features the model reads from a post's title and plain text."""
    body = text or ""
    cut = len(body) if len(body) <= LEAD_CHARS else max(body.rfind(" ", 0, LEAD_CHARS), 1)
    parts_index: list[np.ndarray] = []
    parts_value: list[np.ndarray] = []
    unigrams: list[str] = []
    for part, weight in (
        (title or "", TITLE_WEIGHT),
        (body[:cut], LEAD_WEIGHT),
        (body[cut : cut + REST_CHARS], REST_WEIGHT),
    ):
        buckets, distinct = _zone(part)
        if not len(buckets):
            continue
        unigrams.extend(distinct)
        index, counts = np.unique(buckets, return_counts=True)
        # Each zone has unit length before its weight: the body's terms count by their
        # density, so a long article does not outweigh its own title by sheer length.
        logs = np.log1p(counts.astype(np.float64))
        parts_index.append(index)
        parts_value.append(weight * logs / (float(np.sqrt(np.dot(logs, logs))) or 1.0))
    if parts_index:
        index, where = np.unique(np.concatenate(parts_index), return_inverse=True)
        value = np.bincount(where, np.concatenate(parts_value)).astype(np.float32)
        value /= float(np.sqrt(np.dot(value, value)))
    else:
        index = np.zeros(0, dtype=np.int64)
        value = np.zeros(0, dtype=np.float32)
    scores, evidence, gate = lexicon_scores(title, body[: cut + REST_CHARS], themes)
    lex = np.zeros(N_LEX, dtype=np.float32)
    for n, score in scores.items():
        if 1 <= n <= len(TRENDS):
            lex[n - 1] = LEX_SCALE * math.log1p(score)
    lex[-1] = LEX_SCALE * float(gate)
    lex_terms = {
        n: [t for _, t in sorted(ev, key=lambda e: (-e[0], e[1]))] for n, ev in evidence.items()
    }
    return Features(index, value.astype(np.float32), unigrams, lex, lex_terms, gate)


@dataclass(slots=True)
class Model:
    """Trained weights: text [DIM, 10], lexicon [N_LEX, 10], bias, Platt a/b, thresholds."""

    text_w: np.ndarray
    lex_w: np.ndarray
    bias: np.ndarray
    platt_a: np.ndarray
    platt_b: np.ndarray
    threshold: np.ndarray

    def margins(self, f: Features) -> np.ndarray:
        """The linear score of each trend."""
        return f.value @ self.text_w[f.index] + f.lex @ self.lex_w + self.bias

    def probabilities(self, f: Features) -> np.ndarray:
        """Calibrated probability of each trend."""
        z = self.platt_a * self.margins(f) + self.platt_b
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))

    def tag(
        self, title: str, text: str, themes: Themes, *, ai_source: bool = False
    ) -> list[TrendTag]:
        """The trends whose probability reaches their threshold, most probable first.

        `ai_source` opens the AI gate for a feed that is about AI as a whole (a lab's blog).
        """
        if not (title or text):
            return []
        f = featurise(title, text, themes)
        prob = self.probabilities(f)
        tags = []
        for k in self.kept(f, prob, ai_source=ai_source):
            tags.append(
                TrendTag(trend=TRENDS[k], score=round(float(prob[k]), 3), matched=_why(self, f, k))
            )
        return sorted(tags, key=lambda t: (-t.score, t.trend))

    def kept(self, f: Features, prob: np.ndarray, *, ai_source: bool = False) -> np.ndarray:
        """Indices of the trends kept: past the AI gate, named by the lexicon, over threshold."""
        if not (ai_source or f.names_ai):
            return np.zeros(0, dtype=np.int64)
        keep = prob >= self.threshold
        for n in NEED_LEXICON:
            keep[n - 1] &= f.lex[n - 1] > 0
        return np.flatnonzero(keep)

    def save(self, path: Path) -> None:
        """Write the weights; text weights as float16 for the buckets that have any."""
        used = np.flatnonzero(np.any(self.text_w != 0, axis=1)).astype(np.int32)
        np.savez_compressed(
            path,
            used=used,
            text_w=self.text_w[used].astype(np.float16),
            lex_w=self.lex_w.astype(np.float32),
            bias=self.bias.astype(np.float32),
            platt_a=self.platt_a.astype(np.float32),
            platt_b=self.platt_b.astype(np.float32),
            threshold=self.threshold.astype(np.float32),
            dim=np.array([DIM]),
        )


def _why(model: Model, f: Features, k: int) -> tuple[str, ...]:
    """Words of the post that pushed trend k up most: lexicon terms, then top tokens."""
    out: list[str] = []
    if model.lex_w[k, k] > 0 and f.lex[k] > 0:
        out.extend(_distinct_terms(f.lex_terms.get(TRENDS[k], []))[:3])
    # A word a listed term already says ("per" after "per resolved", "saas" after "SaaS")
    # would only repeat it to the reader.
    said = {word for term in out for word in _EN_WORD.findall(term.lower())} | {
        term.lower() for term in out
    }
    contrib = f.value * model.text_w[f.index, k]
    # Only words that weighed at least a quarter of the strongest one: a long tail of
    # slightly positive words ("per", "never") explains nothing to a reader.
    floor = max(float(contrib.max(initial=0.0)) * 0.25, 1e-9)
    for j in np.argsort(-contrib):
        if contrib[j] < floor or len(out) >= MAX_MATCHED:
            break
        word = f.words.get(int(f.index[j]))
        if word and word not in said:  # a word has one bucket: it comes at most once
            out.append(word)
    return tuple(out)


def _distinct_terms(terms: list[str]) -> list[str]:
    """Lexicon terms, strongest first, less those a longer one of them contains ("agent"
    beside "AI agent", "SaaS" beside "saas"): one reason named once."""
    lowered = [term.lower() for term in terms]
    kept: list[str] = []
    for term, low in zip(terms, lowered, strict=True):
        inside = any(
            low != other and f" {low} " in f" {other.replace('-', ' ')} " for other in lowered
        )
        if not inside and low not in (t.lower() for t in kept):
            kept.append(term)
    return kept


def load_model(path: Path | None = None) -> Model:
    """Read weights written by `Model.save` (the shipped file by default)."""
    source = path or Path(str(files("trends.ingest").joinpath(WEIGHTS_FILE)))
    with np.load(source) as data:
        if int(data["dim"][0]) != DIM:
            raise ValueError(f"{source}: weights for {int(data['dim'][0])} buckets, not {DIM}")
        text_w = np.zeros((DIM, len(TRENDS)), dtype=np.float32)
        text_w[data["used"]] = data["text_w"].astype(np.float32)
        return Model(
            text_w=text_w,
            lex_w=data["lex_w"],
            bias=data["bias"],
            platt_a=data["platt_a"],
            platt_b=data["platt_b"],
            threshold=data["threshold"],
        )


@cache
def default_model() -> Model:
    """The shipped model, loaded once per process."""
    return load_model()
