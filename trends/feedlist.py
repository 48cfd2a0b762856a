"""Read the feeds file (YAML): the list of feeds to poll.

Format: a top-level `feeds:` list; each item has `url` and `name`, and optionally
`language` (en or zh), `poll_minutes` (default 60), `enabled` (default true) and
`ai_source` (default false: true for a feed whose every post is about AI, like a lab's
blog, so posts pass the tagger's AI gate without saying "AI") and `preferred` (default
false: true for a feed whose post should lead a story that several feeds tell, when they
published it at the same moment, e.g. the lab's own blog over a newsletter's copy).
A relative `url` or a `path:` entry names a local file (the bundled samples use this).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from trends.errors import ConfigError
from trends.ingest.safety import url_problem
from trends.models import FeedSpec

__all__ = ["load_feed_specs"]


def load_feed_specs(path: Path) -> list[FeedSpec]:
    """The feeds in `path`; raise ConfigError naming the file and entry when one is wrong."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the feeds file is not UTF-8 text") from None
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the feeds file: {exc}") from exc
    items = document.get("feeds") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise ConfigError(f"{path}: expected a top-level 'feeds:' list")
    specs = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not (item.get("url") or item.get("path")):
            raise ConfigError(f"{path}: feed #{number} needs a url")
        try:
            specs.append(_spec(item, path.parent))
        except ValueError as exc:
            raise ConfigError(f"{path}: feed #{number}: {exc}") from None
    return specs


MAX_POLL_MINUTES = 7 * 24 * 60  # a feed is checked at least once a week


def _spec(item: dict[str, object], base: Path) -> FeedSpec:
    """One entry as a FeedSpec; ValueError saying which field is wrong and what it takes."""
    url = _resolve(_text(item.get("url") or item.get("path"), "url"), base)
    if (problem := url_problem(url)) is not None:
        raise ValueError(f"url {url!r} is not a valid URL ({problem})")
    language = item.get("language", "en")
    if language not in ("en", "zh"):
        raise ValueError(f"language must be en or zh, not {language!r}")
    minutes = item.get("poll_minutes", 60)
    if not isinstance(minutes, int) or isinstance(minutes, bool):
        raise ValueError(f"poll_minutes must be a whole number of minutes, not {minutes!r}")
    if not 1 <= minutes <= MAX_POLL_MINUTES:
        raise ValueError(f"poll_minutes must be from 1 to {MAX_POLL_MINUTES}, not {minutes}")
    return FeedSpec(
        url=url,
        name=_text(item.get("name") or item.get("url") or item.get("path"), "name"),
        language=str(language),
        poll_minutes=minutes,
        enabled=_flag(item, "enabled", default=True),
        ai_source=_flag(item, "ai_source", default=False),
        preferred=_flag(item, "preferred", default=False),
    )


def _text(value: object, field: str) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValueError(f"{field} must be text, not {value!r}")
    return str(value)


def _flag(item: dict[str, object], field: str, *, default: bool) -> bool:
    """true or false as YAML writes them; a string such as "no" is refused, not read as true."""
    value = item.get(field, default)
    if not isinstance(value, bool):
        raise ValueError(f"{field} must be true or false, not {value!r}")
    return value


def _resolve(url: str, base: Path) -> str:
    if url.startswith(("http://", "https://", "file://")):
        return url
    return (base / url).resolve().as_uri()
