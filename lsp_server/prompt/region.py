"""Where the user is typing: a place whose prompt front stays fixed while the user types there.

What the user sees: typing inside a big file, with code below the cursor, costs each keystroke only the
tokens of the characters typed, and Enter costs only the new line's tokens, because the model has already
read everything else.

A *place* is fixed at the first request after the user arrives somewhere: the text before the cursor,
less the word being typed there (the *head*), and the text after the cursor (the *tail*). The head ends
where that word starts, with the space before it (`` r`` of ``        r``), so on arrival the prompt is
nearly always token for token the one the prefix/suffix split at the cursor gives (token healing takes
that word back in both). The prompt is ordered by volatility: everything
built from the head and the tail (other files' snippets, the outline, the prefix window up to the head's
end, the suffix window, then ``<|fim_middle|>``) is built once per place and stays byte-identical; the
*region* typed since arriving (from the head's end to the cursor) follows ``<|fim_middle|>`` as middle
already written, as llama.vim lays out the cursor line. A request is in the same place while the text
still starts with the head and ends with the tail (auto-inserted closers such as ``)`` right after the
cursor are allowed) and the region is within its bound; a region that outgrows its bound, or a backspace
past the head's end on its line, starts a new place at the cursor that keeps the old one's window start,
outline and snippets (its *lineage*), so only the region and the suffix window are read again.
Everything here is plain text; the prompt built for a place is stored on it by the engine's worker
(``built``).
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable
from typing import Any

import attrs

from lsp_server.memory import ENTRY_OVERHEAD, CacheSize, text_bytes, tokens_bytes
from lsp_server.prompt.healing import partial_word

# Characters an editor inserts after the cursor by itself (auto-closing pairs), at most this many.
AUTO_CLOSERS = frozenset(")]}\"'`")
_MAX_AUTO_CLOSERS = 4

# The word before the cursor is what token healing takes back (``partial_word``); the space before a word
# goes with it, as byte-level BPE glues it (`` r`` of ``        r``). The place's head ends there, so on
# arrival the prompt is, token for token, the cursor layout's (379 of 400 random positions in colorsys.py
# with Qwen3.5's tokenizer; the rest differ in how far healing backs off inside the word).
_MAX_WORD = 64


@attrs.frozen
class RegionBound:
    """How much text may be typed in one place before its prompt front is rebuilt at the cursor line."""

    lines: int = 32
    """Most line breaks in the region."""
    chars: int = 1536
    """Most characters in the region."""


@attrs.define(eq=False)
class Place:
    """Where the user arrived: the text before the cursor line and after the cursor, fixed on arrival."""

    id: int
    lineage: int
    """Places that grew out of one another (a region outgrew its bound) share their lineage."""
    source: str
    """The document's text when the place was made."""
    line_start: int
    """The start of the line the region starts on, in ``source``."""
    head_end: int
    """Where the region starts in ``source``: the start of the word at the cursor (see ``_MAX_WORD``)."""
    tail_start: int
    """Where the tail starts in ``source``: the cursor."""
    line_rest: int
    """Length of the tail's part on the cursor line (before its line break)."""
    inherited: dict[Hashable, Any] = attrs.Factory(dict)
    """What the place it grew out of had built (its window start and outline are kept)."""
    built: dict[Hashable, Any] = attrs.Factory(dict)
    """The prompt front built for this place, per model and settings (written by the engine's worker)."""

    def region(self, text: str, offset: int) -> str | None:
        """The text typed in this place (head's end to cursor), or None when ``text`` is elsewhere."""
        return text[self.head_end : offset] if self._around(text, offset, self.head_end) else None

    def backed_out(self, text: str, offset: int) -> bool:
        """Whether the cursor went back past the head's end on its line, all else as in the place.

        A backspace past where typing started: a place of the same lineage follows.
        """
        return offset < self.head_end and self._around(text, offset, self.line_start)

    def _around(self, text: str, offset: int, start: int) -> bool:
        """``text`` has the place's text before ``start`` and its tail after the cursor ``offset``."""
        source = self.source
        below_start = self.tail_start + self.line_rest
        below_length = len(source) - below_start
        if offset < start or len(text) - offset < len(source) - self.tail_start:
            return False
        if text is not source and not (
            text.startswith(source[:start]) and text.endswith(source[below_start:])
        ):
            return False
        rest = text[offset : len(text) - below_length]
        place_rest = source[self.tail_start : below_start]
        if rest == place_rest:
            return True
        # The cursor line's rest may have gained auto-closed brackets or quotes in front of it.
        added = len(rest) - len(place_rest)
        return (
            added <= _MAX_AUTO_CLOSERS and rest.endswith(place_rest) and AUTO_CLOSERS.issuperset(rest[:added])
        )


def within(region: str, bound: RegionBound) -> bool:
    """Whether a region is small enough to stay in its place."""
    return len(region) <= bound.chars and region.count("\n") <= bound.lines


@attrs.frozen
class Located:
    """The place of one request and the region typed there."""

    place: Place
    region: str
    arrived: bool
    """True when this request made the place (arrival, or a region that outgrew its bound)."""


def _built_bytes(value: object) -> int:
    tokens = getattr(value, "tokens", None)
    return tokens_bytes(tokens) if isinstance(tokens, tuple) else ENTRY_OVERHEAD


class Places:
    """The places of each document, most recent first (a jump back to one of them finds it again)."""

    def __init__(self, history: int = 3) -> None:
        self.history = max(1, history)
        self._places: dict[str, list[Place]] = {}
        self._ids = itertools.count(1)
        self.arrivals = 0
        self.outgrown = 0

    def locate(self, uri: str, text: str, offset: int, bound: RegionBound, *, commit: bool = True) -> Located:
        """The place for a request at ``offset`` in ``text``; a new one when the user is elsewhere.

        ``commit`` False (speculation: a text the user has not typed) finds a place but never records one.
        """
        places = self._places.get(uri, [])
        for index, place in enumerate(places):
            region = place.region(text, offset)
            if region is None and not place.backed_out(text, offset):
                continue
            if region is not None and within(region, bound):
                if commit and index:
                    places.insert(0, places.pop(index))
                return Located(place, region, arrived=False)
            grown = self._new(text, offset, lineage=place.lineage, inherited=place.built)
            if commit:
                self.outgrown += 1
                places[index] = grown
                places.insert(0, places.pop(index))
            return Located(grown, grown_region(grown, text, offset), arrived=True)
        place = self._new(text, offset, lineage=None, inherited={})
        if commit:
            self.arrivals += 1
            places.insert(0, place)
            del places[self.history :]
            self._places[uri] = places
        return Located(place, grown_region(place, text, offset), arrived=True)

    def _new(self, text: str, offset: int, *, lineage: int | None, inherited: dict[Hashable, Any]) -> Place:
        number = next(self._ids)
        line_start = text.rfind("\n", 0, offset) + 1
        line_end = text.find("\n", offset)
        rest = (len(text) if line_end < 0 else line_end) - offset
        word = partial_word(text[max(line_start, offset - _MAX_WORD) : offset])
        head_end = offset - len(word)
        if word and word[0] not in " \t" and text[line_start:head_end].endswith(" "):
            head_end -= 1
        return Place(
            number,
            number if lineage is None else lineage,
            text,
            line_start,
            head_end,
            offset,
            rest,
            inherited=inherited,
        )

    def forget(self, uri: str) -> None:
        """Drop a closed document's places."""
        self._places.pop(uri, None)

    def size(self) -> CacheSize:
        """Places held and their bytes: each keeps the document's text as it was (shared when unchanged).

        The fronts built for a place (token lists) are counted at 36 bytes a token.
        """
        held: dict[int, int] = {}
        entries = 0
        for places in list(self._places.values()):
            for place in places:
                entries += 1
                held[id(place.source)] = text_bytes(place.source)
                held[id(place)] = ENTRY_OVERHEAD + sum(_built_bytes(value) for value in place.built.values())
        return CacheSize(sum(held.values()), entries)

    def current(self, uri: str) -> Place | None:
        """The most recent place in ``uri``."""
        places = self._places.get(uri)
        return places[0] if places else None


def grown_region(place: Place, text: str, offset: int) -> str:
    """The region of a place just made at ``offset`` (the word at the cursor, with its space)."""
    return text[place.head_end : offset]
