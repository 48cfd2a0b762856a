"""Errors of the domain, classified once at the boundary where they happen.

    TrendbotError
    ├── FetchError            a feed could not be downloaded
    │   ├── FeedTimeout       connect, read or total time ran out
    │   ├── FeedTooLarge      the body passed the size cap while streaming
    │   ├── FeedGone          410 Gone: the feed was removed for good
    │   └── RateLimited       429/503 with Retry-After (`retry_after` seconds)
    ├── ParseError            the bytes are not a usable feed
    ├── UnsafeFeedURL         not http(s), or a private address (SSRF guard)
    ├── ConfigError           the feeds or themes file can't be used
    └── DatabaseUnavailable   the database can't be opened (missing folder, damaged file,
                              server unreachable): said in one line at start-up

Each error has a stable `key` (for the message catalogue and logs) and a short message
that an operator can act on.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DatabaseUnavailable",
    "FeedGone",
    "FeedTimeout",
    "FeedTooLarge",
    "FetchError",
    "ParseError",
    "RateLimited",
    "TrendbotError",
    "UnsafeFeedURL",
]


class TrendbotError(Exception):
    key = "error"


class FetchError(TrendbotError):
    key = "fetch"


class FeedTimeout(FetchError):
    key = "fetch.timeout"


class FeedTooLarge(FetchError):
    key = "fetch.too_large"


class FeedGone(FetchError):
    key = "fetch.gone"


class RateLimited(FetchError):
    key = "fetch.rate_limited"

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ParseError(TrendbotError):
    key = "parse"


class UnsafeFeedURL(TrendbotError):
    key = "feed.unsafe_url"


class ConfigError(TrendbotError, ValueError):
    key = "config"


class DatabaseUnavailable(TrendbotError):
    key = "database.unavailable"
