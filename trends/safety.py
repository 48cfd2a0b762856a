"""Safety checks at the edges: which feed URLs may be fetched, which XML may be parsed.

An admin's `/addfeed` or an OPML file must not turn trendbot into a proxy for the machine's
own network (SSRF): only http(s) URLs whose host resolves to public addresses are accepted,
unless the operator sets TRENDBOT_ALLOW_PRIVATE_FEEDS. Feed bodies that declare entities
are refused before they reach an XML parser, so an entity bomb costs nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from urllib.parse import urlsplit

from trends.errors import ParseError, UnsafeFeedURL

__all__ = ["check_feed_url", "is_public_address", "refuse_entity_declarations"]

_SCHEMES = ("http", "https")
# Entity declarations that are external (XXE) or expand other entities (billion laughs).
# A plain `<!ENTITY nbsp "&#160;">`, which old feeds do carry, is left to the parser.
_RISKY_ENTITY = re.compile(
    rb"<!ENTITY\s+(?:%\s*)?[\w.:-]+\s+(?:SYSTEM|PUBLIC|([\"'])[^\"']*&(?!#))", re.IGNORECASE
)
_HEAD_BYTES = 64 * 1024  # a DOCTYPE comes before the root element, near the top


def is_public_address(address: str) -> bool:
    """False for loopback, private, link-local, reserved, multicast or unspecified addresses."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


async def check_feed_url(url: str, *, allow_private: bool = False) -> str:
    """Return `url` stripped if it may be fetched; raise `UnsafeFeedURL` saying why not."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in _SCHEMES:
        raise UnsafeFeedURL(f"only http and https feeds are allowed, not {parts.scheme or url!r}")
    host = parts.hostname
    if not host:
        raise UnsafeFeedURL("the URL has no host")
    if allow_private:
        return url
    for address in await _addresses(host, parts.port or (443 if parts.scheme == "https" else 80)):
        if not is_public_address(address):
            raise UnsafeFeedURL(f"{host} is a private or local address ({address})")
    return url


async def _addresses(host: str, port: int) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]  # a literal needs no lookup
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UnsafeFeedURL(f"cannot resolve {host}: {exc}") from exc
    return sorted({str(info[4][0]) for info in infos})


def refuse_entity_declarations(content: bytes) -> None:
    """Raise `ParseError` when the document declares XML entities (bombs, external entities)."""
    head = content[:_HEAD_BYTES]
    if b"<!DOCTYPE" in head.upper() and _RISKY_ENTITY.search(head):
        raise ParseError("the feed declares external or nested XML entities (refused)")
