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
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlsplit

from trends.errors import ParseError, UnsafeFeedURL

__all__ = [
    "Resolver",
    "check_feed_url",
    "is_public_address",
    "refuse_entity_declarations",
    "resolve",
    "resolve_public",
    "url_problem",
]

# (host, port) -> the addresses to connect to; tests inject their own.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

_SCHEMES = ("http", "https")
# Entity declarations that are external (XXE) or expand other entities (billion laughs).
# A plain `<!ENTITY nbsp "&#160;">`, which old feeds do carry, is left to the parser.
_RISKY_ENTITY = re.compile(
    rb"<!ENTITY\s+(?:%\s*)?[\w.:-]+\s+(?:SYSTEM|PUBLIC|([\"'])[^\"']*&(?!#))", re.IGNORECASE
)
_HEAD_BYTES = 64 * 1024  # a DOCTYPE comes before the root element, near the top


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the last 32 bits are IPv4
# DNS limits (RFC 1035): longer names can't resolve, and the resolver raises on them.
_MAX_HOST_CHARS = 253
_MAX_LABEL_CHARS = 63
MAX_URL_CHARS = 2048  # feeds.url's column width


def url_problem(url: str) -> str | None:
    """Why `url` can't be fetched as written (a bracket left open, a port that is not a
    number or out of range, a host name longer than DNS allows), or None when it parses."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - the port is only checked when it is read
    except ValueError as exc:
        return str(exc)
    host = parts.hostname or ""
    if len(host) > _MAX_HOST_CHARS:
        return f"the host name is {len(host):,} characters long; DNS allows {_MAX_HOST_CHARS}"
    if any(len(label) > _MAX_LABEL_CHARS for label in host.split(".")):
        return f"a part of the host name is longer than DNS allows ({_MAX_LABEL_CHARS} characters)"
    return None


def is_public_address(address: str) -> bool:
    """False for loopback, private, link-local, reserved, multicast, shared (CGNAT) or
    unspecified addresses, also when an IPv6 address carries such an IPv4 address inside
    (IPv4-mapped, 6to4, NAT64, Teredo): those reach the IPv4 host through a gateway."""
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(
        address.split("%", 1)[0]
    )
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.teredo is not None:  # (server, client): both are contacted
            return all(_public_ip(embedded) for embedded in ip.teredo)
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            ip = embedded
    return _public_ip(ip)


def _public_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not (
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
    if (problem := url_problem(url)) is not None:
        raise UnsafeFeedURL(f"that URL can't be used: {problem}")
    if len(url) > MAX_URL_CHARS:
        raise UnsafeFeedURL(f"the URL is {len(url):,} characters long; at most {MAX_URL_CHARS:,}")
    parts = urlsplit(url)
    if not parts.scheme or any(char.isspace() for char in url):
        # "not a url" or "example.com/feed": no scheme to refuse, just not a URL at all.
        raise UnsafeFeedURL("that is not a URL: use http(s)://…, e.g. https://example.com/feed")
    if parts.scheme.lower() not in _SCHEMES:
        raise UnsafeFeedURL(f"only http and https feeds are allowed, not {parts.scheme or url!r}")
    host = parts.hostname
    if not host:
        raise UnsafeFeedURL("the URL has no host")
    if allow_private:
        return url
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        await resolve_public(host, port, resolve)
    except OSError as exc:
        raise UnsafeFeedURL(f"cannot resolve {host}: {exc}") from exc
    return url


async def resolve(host: str, port: int) -> list[str]:
    """The addresses of `host`, in the resolver's order; a literal needs no lookup."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def resolve_public(host: str, port: int, resolver: Resolver) -> list[str]:
    """Resolve `host` once and return its addresses if every one is public.

    Raise `UnsafeFeedURL` naming the first that is not: a name with one private address
    among public ones could be connected there by a retry. `OSError` when it does not resolve.
    """
    addresses = list(await resolver(host, port))
    if not addresses:
        raise OSError(f"{host} has no address")
    for address in addresses:
        try:
            public = is_public_address(address)
        except ValueError:
            public = False  # a resolver's answer that is no address at all
        if not public:
            raise UnsafeFeedURL(f"{host} is a private or local address ({address})")
    return addresses


def refuse_entity_declarations(content: bytes) -> None:
    """Raise `ParseError` when the document declares XML entities (bombs, external entities)."""
    head = content[:_HEAD_BYTES]
    if b"<!DOCTYPE" in head.upper() and _RISKY_ENTITY.search(head):
        raise ParseError("the feed declares external or nested XML entities (refused)")
