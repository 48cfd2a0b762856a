"""OPML, the format feed readers exchange subscription lists in: read and write.

Reading walks every `<outline>` with an `xmlUrl`, however deeply nested in categories.
OPML never needs a DTD, so a document that carries one is refused before parsing: an
uploaded file can't smuggle in an entity bomb or an external entity.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from email.utils import format_datetime

from trends.errors import ParseError
from trends.models import FeedSpec

__all__ = ["MAX_OPML_BYTES", "read_opml", "write_opml"]

MAX_OPML_BYTES = 2 * 1024 * 1024


def read_opml(content: bytes) -> list[FeedSpec]:
    """The feeds listed in an OPML document; raise `ParseError` when it isn't one."""
    if len(content) > MAX_OPML_BYTES:
        raise ParseError(f"the OPML file is larger than {MAX_OPML_BYTES // 1024 // 1024} MB")
    if b"<!DOCTYPE" in content.upper() or b"<!ENTITY" in content.upper():
        raise ParseError("the OPML file declares a DTD or entities (refused)")
    try:
        root = ET.fromstring(content)
    except ET.ParseError as exc:
        raise ParseError(f"not an OPML file: {exc}") from exc
    if root.tag.lower() != "opml":
        raise ParseError(f"not an OPML file: the root element is <{root.tag}>")
    specs: dict[str, FeedSpec] = {}
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if not url or url in specs:
            continue
        name = (outline.get("title") or outline.get("text") or url).strip()
        language = _language(outline.get("language"))
        specs[url] = FeedSpec(url=url, name=name[:200], language=language)
    return list(specs.values())


def write_opml(feeds: list[FeedSpec], *, title: str = "trendbot feeds") -> bytes:
    """An OPML 2.0 document listing `feeds`, readable by any feed reader."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC), usegmt=True)
    body = ET.SubElement(root, "body")
    for feed in feeds:
        ET.SubElement(
            body,
            "outline",
            type="rss",
            text=feed.name,
            title=feed.name,
            xmlUrl=feed.url,
            language=feed.language,  # not in the OPML spec; other readers ignore it
        )
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _language(value: str | None) -> str:
    return "zh" if value and value.lower().startswith("zh") else "en"
