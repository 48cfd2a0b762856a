"""`trendbot analyze`: tag, summarise and dedup posts given as JSON lines.

The output shape is a contract that evaluation scripts rely on: per input line, in order,
`{"id", "themes", "scores", "matched", "summary", "duplicate_of"}`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from trends.ingest.safety import url_problem
from trends.ingest.story_index import find_duplicates
from trends.ingest.summarise import summarise
from trends.ingest.tag import tag
from trends.ingest.text import html_to_text
from trends.themes import Themes

__all__ = ["analyze_lines", "output_line"]


def analyze_lines(lines: Iterable[bytes | str], themes: Themes) -> list[dict[str, Any]]:
    """Exactly one result per input line, in order; a line that can't be read gets an error.

    Lines are split by the caller on "\n" only (U+2028 inside a string is not a line break).
    """
    items = [_read_item(line) for line in lines]
    texts = [(_str(item.get("title")), html_to_text(_str(item.get("summary")))) for item in items]
    duplicates = find_duplicates(
        [
            (title, text, _str(item.get("link")) or None)
            for (title, text), item in zip(texts, items, strict=True)
        ],
        [_published(item.get("published")) for item in items],
    )
    results = []
    for item, (title, text), duplicate in zip(items, texts, duplicates, strict=True):
        tags = sorted(tag(title, text, themes), key=lambda t: t.trend) if title or text else []
        result: dict[str, Any] = {
            "id": item.get("id"),
            "themes": [t.trend for t in tags],
            "scores": {str(t.trend): t.score for t in tags},
            "matched": {str(t.trend): list(t.matched) for t in tags},
            "summary": summarise(text, title) if title or text else "",
            "duplicate_of": items[duplicate].get("id") if duplicate is not None else None,
        }
        if "error" in item:
            result["error"] = item["error"]
        results.append(result)
    return results


def _published(value: object) -> datetime | None:
    """An optional ISO 8601 `published`: reports days apart are not one story."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def output_line(result: dict[str, Any]) -> str:
    """One result as one line of strict JSON (no NaN, no lone surrogates)."""
    return json.dumps(result, ensure_ascii=False, allow_nan=False)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _read_item(line: bytes | str) -> dict[str, Any]:
    """The post a line holds, with its strings made safe; {"error": ...} when it has none."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            return {"error": f"not UTF-8: byte {exc.start + 1} of the line"}
    if not line.strip():
        return {"error": "blank line"}
    try:
        item = json.loads(line, parse_constant=_refuse_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        return {"error": f"not JSON: {exc.msg} at column {exc.colno}"}
    except RecursionError:
        return {"error": "not JSON: nested too deeply"}
    except ValueError as exc:
        return {"error": f"not JSON: {exc}"}
    if not isinstance(item, dict):
        return {"error": "not a JSON object"}
    # `published` too: without it every pair looks a day apart to the story rule, and
    # analyze would part reports that ingest (which has the feeds' dates) merges.
    post: dict[str, Any] = {
        key: _safe(item.get(key))
        for key in ("id", "title", "summary", "link", "published")
        if key in item
    }
    if not isinstance(post.get("id"), str | int | float | bool | None):
        post["id"] = None  # an id must come back as given; a list or object can't be echoed
    if isinstance(post.get("link"), str) and not _is_url(post["link"]):
        post.pop("link")  # analysed without it: a malformed link names no story
    return post


def _safe(value: object) -> object:
    return _LONE_SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"{text} is out of range")
    return number


def _is_url(link: str) -> bool:
    return url_problem(link) is None and bool(urlsplit(link).netloc)
