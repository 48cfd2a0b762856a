"""Read the feeds file (YAML): the list of feeds to poll.

Format: a top-level `feeds:` list; each item has `url` and `name`, and optionally
`language` (en or zh), `poll_minutes` (default 60) and `enabled` (default true).
A relative `url` or a `path:` entry names a local file (the bundled samples use this).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from trends.models import FeedSpec

__all__ = ["load_feed_specs"]


def load_feed_specs(path: Path) -> list[FeedSpec]:
    """The feeds in `path`; raise ValueError naming the file and entry when one is wrong."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read the feeds file: {exc}") from exc
    items = document.get("feeds") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise ValueError(f"{path}: expected a top-level 'feeds:' list")
    specs = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not (item.get("url") or item.get("path")):
            raise ValueError(f"{path}: feed #{number} needs a url")
        specs.append(
            FeedSpec(
                url=_resolve(str(item.get("url") or item["path"]), path.parent),
                name=str(item.get("name") or item.get("url") or item["path"]),
                language=str(item.get("language", "en")),
                poll_minutes=int(item.get("poll_minutes", 60)),
                enabled=bool(item.get("enabled", True)),
            )
        )
    return specs


def _resolve(url: str, base: Path) -> str:
    if url.startswith(("http://", "https://", "file://")):
        return url
    return (base / url).resolve().as_uri()
