"""Sizes of the server's caches in bytes, so that each can be bounded by memory and watched from outside.

What the user sees: a server that runs all day beside the editor without growing; ``qwenLsp/stats`` reports
each cache's bytes and entries. Sizes are CPython's own object sizes (``sys.getsizeof``) of what a cache
holds: close to what it costs, cheap enough to keep as running totals.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

import attrs

# A dict slot (hash, key and value pointers) plus the bookkeeping of a small tuple or record per entry.
ENTRY_OVERHEAD = 64
# A token id above 256 is an int object of its own (28 bytes) plus the tuple's pointer to it.
_TOKEN_BYTES = 36


@attrs.frozen
class CacheSize:
    """How much one cache holds now, and its bound."""

    bytes: int
    entries: int
    limit: int | None = None
    """The byte bound the cache keeps to (None: bounded by count, or by what the user has open)."""

    def as_json(self) -> dict[str, int | None]:
        """The shape ``qwenLsp/stats`` reports."""
        return {"bytes": self.bytes, "entries": self.entries, "limit": self.limit}


def text_bytes(text: str | bytes) -> int:
    """Bytes a str (or bytes) object takes."""
    return sys.getsizeof(text)


def tokens_bytes(tokens: Iterable[int] | tuple[int, ...]) -> int:
    """Bytes a tuple of token ids takes, its int objects included."""
    count = len(tokens) if isinstance(tokens, tuple) else sum(1 for _ in tokens)
    return 40 + _TOKEN_BYTES * count
