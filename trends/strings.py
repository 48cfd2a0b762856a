"""Small text rules used everywhere: how a long string is cut, what counts as Chinese."""

from __future__ import annotations

import re

__all__ = ["CJK", "ELLIPSIS", "clip", "has_cjk"]

ELLIPSIS = "…"
CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # Han ideographs, for regex classes
_CJK_RE = re.compile(f"[{CJK}]")


def has_cjk(text: str) -> bool:
    return not text.isascii() and bool(_CJK_RE.search(text))


def clip(value: str, limit: int, *, at_word: bool = True) -> str:
    """`value` if it fits in `limit` characters, else cut to fit and ended with an ellipsis.

    With `at_word`, the cut falls on a space in the second half when there is one, so a
    word is never split; Chinese, without spaces, is cut at the limit.
    """
    if len(value) <= limit:
        return value
    cut = value[: limit - 1]
    if at_word and " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + ELLIPSIS
