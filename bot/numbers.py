"""Numbers typed by readers or carried by buttons: ASCII digits only, within a bound.

`str.isdigit()` accepts "²" and "٣", and an unbounded int overflows the database's BIGINT.
"""

from __future__ import annotations

__all__ = ["MAX_ID", "parse_count"]

MAX_ID = 2**63 - 1  # the largest id a BIGINT column holds


def parse_count(value: str, maximum: int = MAX_ID) -> int | None:
    """`value` as a whole number from 0 to `maximum`, or None when it is anything else."""
    if not value or len(value) > len(str(maximum)) or not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if number <= maximum else None
