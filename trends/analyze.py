"""`trendbot analyze`: tag, summarise and dedup posts given as JSON lines.

The output shape is a contract that evaluation scripts rely on: per input line, in order,
`{"id", "themes", "scores", "matched", "summary", "duplicate_of"}`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from trends.stories import find_duplicates
from trends.summarise import summarise
from trends.tag import tag
from trends.text import html_to_text
from trends.themes import Themes

__all__ = ["analyze_lines"]


def analyze_lines(lines: Iterable[str], themes: Themes) -> list[dict[str, Any]]:
    """One result per non-blank input line; a line that is not a JSON object gets an error."""
    items: list[dict[str, Any] | None] = []
    for line in lines:
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            item = {"error": f"not JSON: {exc.msg} at column {exc.colno}"}
        items.append(item if isinstance(item, dict) else {"error": "not a JSON object"})
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
