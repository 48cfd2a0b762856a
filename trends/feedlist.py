"""Read the feeds file (YAML): the list of feeds to poll.

Format: a top-level `feeds:` list; each item has `url` and `name`, and optionally
`language` (en or zh), `poll_minutes` (default 60), `enabled` (default true) and
`ai_source` (default false: true for a feed whose every post is about AI, like a lab's
blog, so posts pass the tagger's AI gate without saying "AI").
A relative `url` or a `path:` entry names a local file (the bundled samples use this).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from trends.errors import ConfigError
from trends.models import FeedSpec

__all__ = ["load_feed_specs"]


def load_feed_specs(path: Path) -> list[FeedSpec]:
    """The feeds in `path`; raise ConfigError naming the file and entry when one is wrong."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the feeds file: {exc}") from exc
    items = document.get("feeds") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise ConfigError(f"{path}: expected a top-level 'feeds:' list")
    specs = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not (item.get("url") or item.get("path")):
            raise ConfigError(f"{path}: feed #{number} needs a url")
        specs.append(
            FeedSpec(
                url=_resolve(str(item.get("url") or item["path"]), path.parent),
                name=str(item.get("name") or item.get("url") or item["path"]),
                language=str(item.get("language", "en")),
                poll_minutes=int(item.get("poll_minutes", 60)),
                enabled=bool(item.get("enabled", True)),
                ai_source=bool(item.get("ai_source", False)),
            )
        )
    return specs


def _resolve(url: str, base: Path) -> str:
    if url.startswith(("http://", "https://", "file://")):
        return url
    return (base / url).resolve().as_uri()
