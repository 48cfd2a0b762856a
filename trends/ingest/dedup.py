"""Copy detection: canonical URLs, content hashes and MinHash/LSH near-duplicates.

The same-story rule that uses them, for ingest and analyze alike, is `trends.ingest.stories`.

Pure functions, no I/O. MinHash runs over character n-grams of text with punctuation and
whitespace removed, so Chinese needs no tokenizer. Band keys are 63-bit ints meant for an
indexed BIGINT column, so near-duplicate lookups stay index seeks as the table grows.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from difflib import SequenceMatcher
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import numpy as np

__all__ = [
    "ASSISTED_THRESHOLD",
    "BANDS",
    "NUM_PERM",
    "ROWS",
    "SHINGLE_SIZE",
    "SIGNATURE_DTYPE",
    "TEXT_CHARS",
    "THRESHOLD",
    "NearDuplicateIndex",
    "band_keys",
    "canonical_url",
    "content_hash",
    "copy_signature",
    "minhash_signature",
    "normalise_for_shingles",
    "outlet",
    "same_story",
    "similarities",
    "similarity",
    "story_signature",
    "without_tracking",
]

# Tuned on the feed corpus + unlabelled items (1,324 posts) and a 10%-word-swap reword of
# 200 real leads; dev-duplicates alone cannot tune (see bench/dedup.py). With n=4 and 300
# chars, the most similar unrelated cross-outlet pair scores 0.46 and 95% of rewords score
# over 0.66; n=3 and n=5 both let unrelated pairs reach 0.53-0.55, 600 chars reached 0.65.
NUM_PERM = 128
SIGNATURE_DTYPE = np.dtype(np.uint32)  # what a stored signature's bytes hold
SHINGLE_SIZE = 4  # characters
TEXT_CHARS = 300  # of the body, after the title: leads carry the story, bodies drift
THRESHOLD = 0.5  # estimated Jaccard for a near-duplicate
BANDS = 32  # x ROWS = 128; P(candidate) is 0.74 at J=0.45, 0.999 at J=0.7, 0.003 at J=0.1
ROWS = 4
# Between this and THRESHOLD a pair also needs near-equal titles: shared boilerplate (HN's
# "Score: N Comments: M By: ...") alone lifts unrelated items to 0.46.
ASSISTED_THRESHOLD = 0.4
_TITLE_RATIO = 0.85  # difflib ratio of normalised titles; "UAE to leave OPEC"/"UAE Leaves OPEC"
_MIN_SHINGLES = 20  # fewer than this (a bare short title) gives too noisy an estimate

# Changing the seed changes every signature and band key already stored.
_rng = np.random.default_rng(0x7E4D_B07)
_A = _rng.integers(1, 2**64 - 1, size=NUM_PERM, dtype=np.uint64) | np.uint64(1)
_B = _rng.integers(0, 2**64 - 1, size=NUM_PERM, dtype=np.uint64)
_ROW_MULT = _rng.integers(1, 2**64 - 1, size=NUM_PERM, dtype=np.uint64) | np.uint64(1)
_EMPTY = np.uint32(0xFFFF_FFFF)
_MASK63 = (1 << 63) - 1

_NON_WORD = re.compile(r"[\W_]+")
_TRACKERS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
        "mc_cid", "mc_eid", "igshid", "igsh", "_hsenc", "_hsmi", "mkt_tok", "ref", "ref_src",
        "ref_url", "spm", "chksm", "scene", "from", "share_token", "sharer_shareid",
        "sharer_sharetime", "isappinstalled", "clicktime", "enterid", "amp",
    }
)  # fmt: skip
_QUERY_SAFE = "/!$'()*+,;=:@?~-._"  # no `&`: a decoded %26 must stay encoded
_WEIXIN_KEEP = frozenset({"__biz", "mid", "idx", "sn"})
_MOBILE_PREFIXES = ("m.", "mobile.", "amp.")
# Hosts shared by many publishers, where the first path segment names the account.
_PLATFORMS = frozenset({"x.com", "twitter.com", "github.com", "medium.com"})


def canonical_url(url: str) -> str:
    """Return one spelling per page, for exact-duplicate checks.

    The scheme becomes https (feeds mix http and https links to the same page); the host is
    lowercased, default ports and `m.`/`mobile.`/`amp.` prefixes dropped (`www.` is kept: it
    can be a different site); `/amp` path suffixes, fragments and trailing slashes (except
    the root) are dropped; well-known tracking parameters are removed (on mp.weixin.qq.com
    all but `__biz`, `mid`, `idx`, `sn`) and the rest sorted. Anything not http(s) is
    returned stripped.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return url
    host = parts.hostname.rstrip(".")
    for prefix in _MOBILE_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix) :]
            break
    if port is not None and port not in (80, 443):
        host = f"{host}:{port}"
    path = re.sub(r"/amp/?$", "", _requote(parts.path)) or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    query = _clean_query(parts.query, weixin=host == "mp.weixin.qq.com")
    return urlunsplit(("https", host, path, query, ""))


def without_tracking(url: str) -> str:
    """The link a reader is shown: as the feed gave it, less the tracking parameters that
    `canonical_url` drops (utm_*, fbclid, gclid, ref, …); anything else is left alone."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.query or parts.scheme.lower() not in ("http", "https"):
        return url
    weixin = (parts.hostname or "") == "mp.weixin.qq.com"
    return urlunsplit(parts._replace(query=_clean_query(parts.query, weixin=weixin)))


def _clean_query(query: str, *, weixin: bool) -> str:
    """Drop tracking parameters; re-encode the rest one way and sort them."""
    kept = []
    for pair in query.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        name = unquote(key).lower()
        if weixin and name not in _WEIXIN_KEEP:
            continue
        if name.startswith("utm_") or name in _TRACKERS:
            continue
        if name == "outputtype" and value.lower() == "amp":
            continue
        key, value = _requote(key, _QUERY_SAFE), _requote(value, _QUERY_SAFE)
        kept.append(f"{key}={value}" if "=" in pair else key)
    return "&".join(sorted(kept))


def _requote(part: str, safe: str = "/!$&'()*+,;=:@~-._") -> str:
    """One percent-encoding per string: `==` and `%3D%3D` are the same WeChat `__biz`."""
    return quote(unquote(part), safe=safe)


def normalise_for_shingles(text: str) -> str:
    """NFKC, lowercase, and drop everything but letters and digits (CJK included)."""
    return _NON_WORD.sub("", unicodedata.normalize("NFKC", text).lower())


def content_hash(title: str, text: str) -> str:
    """sha1 hex of the normalised title and text: equal for copies differing in markup."""
    joined = normalise_for_shingles(title) + "\x00" + normalise_for_shingles(text)
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads every input bit over the whole word."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


_BAND_SALT = _mix64(np.arange(1, NUM_PERM + 1, dtype=np.uint64))


def _shingle_hashes(norm: str, n: int) -> np.ndarray:
    """32-bit hashes of the character n-grams of an already normalised string.

    Repeats are kept: a minimum over them is the same, and removing them (a sort) cost
    as much as hashing.
    """
    codes = np.frombuffer(norm.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if codes.size < n:
        codes = np.pad(codes, (0, n - codes.size))  # a short text is one shingle
    count = codes.size - n + 1
    h = np.zeros(count, dtype=np.uint64)
    for k in range(n):  # polynomial hash of each window, vectorised over windows (wraps)
        h = h * np.uint64(0x100000001B3) + codes[k : k + count]
    return _mix64(h) >> np.uint64(32)


def minhash_signature(text: str, num_perm: int = NUM_PERM) -> np.ndarray:
    """MinHash (uint32[num_perm]) of the text's character `SHINGLE_SIZE`-grams.

    Each permutation is a multiply-add-shift hash of the 32-bit shingle hash, which is
    universal for 32-bit keys and needs no modulo. An empty text gives all 0xFFFFFFFF.
    """
    if num_perm > NUM_PERM:
        raise ValueError(f"num_perm must be <= {NUM_PERM}")
    norm = normalise_for_shingles(text)
    if not norm:
        return np.full(num_perm, _EMPTY, dtype=SIGNATURE_DTYPE)
    shingles = _shingle_hashes(norm, SHINGLE_SIZE)
    # One (shingles x num_perm) buffer updated in place: a second temporary doubled the time.
    perms = np.multiply(shingles[:, None], _A[:num_perm])
    np.add(perms, _B[:num_perm], out=perms)
    return (perms.min(axis=0) >> np.uint64(32)).astype(SIGNATURE_DTYPE)


def _story_text(title: str, text: str) -> str:
    return f"{title} {text[:TEXT_CHARS]}"


def story_signature(title: str, text: str) -> np.ndarray:
    """The signature the pipeline stores: title plus the lead of the body."""
    return minhash_signature(_story_text(title, text))


def copy_signature(title: str, text: str) -> np.ndarray | None:
    """`story_signature`, or None when title and lead are too short for a stable estimate
    (bare titles such as HN's, or "Team update"): those are left to the story rule."""
    norm = normalise_for_shingles(_story_text(title, text))
    if len(norm) - SHINGLE_SIZE + 1 < _MIN_SHINGLES:
        return None
    return minhash_signature(norm)


def band_keys(signature: np.ndarray, bands: int = BANDS, rows: int = ROWS) -> list[int]:
    """One non-negative 63-bit key per band; the band index is hashed in, so equal rows in
    different bands give different keys. Stable across processes (no `hash()`)."""
    sig = np.asarray(signature, dtype=np.uint64)
    if bands * rows > sig.size:
        raise ValueError("bands * rows exceeds the signature length")
    table = sig[: bands * rows].reshape(bands, rows)
    # Multilinear hash of each band's rows (wrapping uint64), salted with the band index,
    # then mixed; a rare key collision only costs one extra candidate check.
    h = (table * _ROW_MULT[:rows]).sum(axis=1, dtype=np.uint64)
    h = _mix64(h ^ _BAND_SALT[:bands])
    return (h & np.uint64(_MASK63)).tolist()


def similarity(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """Estimated Jaccard similarity: the share of equal MinHash values."""
    if len(sig_a) != len(sig_b) or len(sig_a) == 0:
        raise ValueError("signatures must have the same, non-zero length")
    return float(np.count_nonzero(np.asarray(sig_a) == np.asarray(sig_b))) / len(sig_a)


def similarities(signature: np.ndarray, others: np.ndarray) -> np.ndarray:
    """`similarity` of `signature` to each row of `others`, at once."""
    return np.count_nonzero(others == signature, axis=1) / len(signature)


def _is_empty(signature: np.ndarray) -> bool:
    return bool(np.all(signature == _EMPTY))


class NearDuplicateIndex:
    """In-memory LSH over MinHash signatures: lookups touch only colliding buckets."""

    def __init__(self, threshold: float = THRESHOLD, bands: int = BANDS, rows: int = ROWS):
        self.threshold = threshold
        self.bands = bands
        self.rows = rows
        self._buckets: dict[int, list[object]] = {}
        self._signatures: dict[object, np.ndarray] = {}
        self._position: dict[object, int] = {}

    def __len__(self) -> int:
        return len(self._signatures)

    def add(self, item_id: object, signature: np.ndarray) -> None:
        """Index a signature; empty-text signatures are skipped (they would all collide)."""
        if item_id in self._signatures or _is_empty(signature):
            return
        self._signatures[item_id] = np.asarray(signature)
        self._position[item_id] = len(self._position)
        for key in band_keys(signature, self.bands, self.rows):
            self._buckets.setdefault(key, []).append(item_id)

    def candidates(self, signature: np.ndarray) -> set[object]:
        """Items sharing at least one band with the signature."""
        if _is_empty(signature):
            return set()
        found: set[object] = set()
        for key in band_keys(signature, self.bands, self.rows):
            found.update(self._buckets.get(key, ()))
        return found

    def find(self, signature: np.ndarray) -> object | None:
        """The most similar indexed item at or above the threshold; earliest on ties."""
        best, best_sim = None, self.threshold
        for item in sorted(self.candidates(signature), key=self._position.__getitem__):
            sim = similarity(signature, self._signatures[item])
            if sim > best_sim or (best is None and sim >= best_sim):
                best, best_sim = item, sim
        return best


def outlet(url: str) -> str:
    """Who published a canonical link: the host, or the account on shared platforms."""
    parts = urlsplit(url)
    host = parts.netloc.removeprefix("www.")
    if host == "mp.weixin.qq.com":
        biz = [p for p in parts.query.split("&") if p.startswith("__biz=")]
        return f"{host}?{biz[0]}" if biz else ""  # short /s/<token> links name no account
    if host in _PLATFORMS:
        return f"{host}/{parts.path.strip('/').split('/')[0]}".lower()
    return host


def same_story(score: float, title_a: str, title_b: str) -> bool:
    """Whether two reports from different outlets with this MinHash score tell one story:
    at `THRESHOLD`, or at `ASSISTED_THRESHOLD` when their titles nearly match."""
    if score >= THRESHOLD:
        return True
    return score >= ASSISTED_THRESHOLD and _title_ratio(title_a, title_b) >= _TITLE_RATIO


def _title_ratio(a: str, b: str) -> float:
    return SequenceMatcher(None, normalise_for_shingles(a), normalise_for_shingles(b)).ratio()
