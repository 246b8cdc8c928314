"""The user's recent edits in a document, as the units a person would name: a word, a line, a rename.

What the user sees: next-edit suggestions that follow what they just did. Every ``didChange`` is folded
into the open *unit* while it touches the same lines (typing a word, fixing a line, changing a call);
an edit elsewhere closes the unit and opens another. Closed units are kept as unified diffs with the
file version they ended at, the last few only; a unit whose lines end as they began (typed and deleted
again, undone) leaves nothing. A large replacement (a paste of half the file, a reload) starts over.
"""

from __future__ import annotations

import difflib
from collections import deque

import attrs

from lsp_server.context.syntax_tree import common_prefix_length, common_suffix_length
from lsp_server.memory import text_bytes

MAX_UNITS = 8
"""Closed units kept per document (the oldest go first)."""
MAX_UNIT_LINES = 12
"""A unit spans at most this many lines; an edit that would make it larger opens a new one."""
MAX_DIFF_CHARS = 2000
"""A unit's diff is cut to this many characters (a prompt shows several)."""
RESET_CHARS = 20_000
"""An edit that replaces more than this many characters (or half the document) clears the history."""


@attrs.frozen
class EditUnit:
    """One coalesced edit: the lines it changed, before and after, and where they are now."""

    before: str
    """The unit's lines as they were before it (whole lines, no final line break)."""
    after: str
    """The same lines as the unit left them."""
    start_row: int
    """The first of those lines in the document at ``version``."""
    version: int | None

    def diff(self, path: str) -> str:
        """The unit as a unified diff of ``path`` (line numbers of the document at ``version``)."""
        lines = difflib.unified_diff(
            self.before.split("\n"),
            self.after.split("\n"),
            f"a/{path}",
            f"b/{path}",
            n=0,
            lineterm="",
        )
        text = "\n".join(_renumbered(list(lines), self.start_row))
        return text if len(text) <= MAX_DIFF_CHARS else text[:MAX_DIFF_CHARS] + "\n..."


def _renumbered(lines: list[str], start_row: int) -> list[str]:
    """Hunk headers with the document's line numbers (difflib counts from the excerpt's first line)."""
    out: list[str] = []
    for line in lines:
        if line.startswith("@@ "):
            old, new = line.split(" ")[1:3]
            out.append(f"@@ {_shift(old, start_row)} {_shift(new, start_row)} @@")
        else:
            out.append(line)
    return out


def _shift(span: str, rows: int) -> str:
    sign, rest = span[0], span[1:]
    first, _, count = rest.partition(",")
    shifted = str(int(first) + rows)
    return f"{sign}{shifted},{count}" if count else f"{sign}{shifted}"


@attrs.define
class _Open:
    start: int
    """Character offset of the unit's first line in the current text."""
    end: int
    """Character offset of the end of its last line (before its line break) in the current text."""
    before: str


def _line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def _line_end(text: str, offset: int) -> int:
    end = text.find("\n", offset)
    return len(text) if end < 0 else end


class EditHistory:
    """The recent edit units of one document (see the module docstring)."""

    def __init__(self, max_units: int = MAX_UNITS) -> None:
        self._closed: deque[EditUnit] = deque(maxlen=max_units)
        self._open: _Open | None = None
        self._text = ""
        self._version: int | None = None

    def reset(self, text: str, version: int | None) -> None:
        """Start over from ``text`` (opened, reloaded, or replaced wholesale)."""
        self._closed.clear()
        self._open = None
        self._text = text
        self._version = version

    def record(self, new: str, version: int | None) -> None:
        """The document changed from the last recorded text to ``new``."""
        old = self._text
        if old == new:
            self._version = version
            return
        start = common_prefix_length(old, new)
        suffix = common_suffix_length(old, new, min(len(old), len(new)) - start)
        old_end = len(old) - suffix
        replaced = old_end - start
        if replaced > RESET_CHARS or (replaced > len(old) // 2 and replaced > 200):
            self.reset(new, version)
            return
        unit = self._open
        delta = len(new) - len(old)
        if unit is not None and start >= unit.start - 1 and old_end <= unit.end + 1:
            first = _line_start(old, min(unit.start, start))
            last = _line_end(old, max(unit.end, old_end))
            candidate = old[first : unit.start] + unit.before + old[unit.end : last]
            lines = max(candidate.count("\n"), new.count("\n", first, last + delta))
            if lines < MAX_UNIT_LINES:
                self._open = _Open(first, last + delta, candidate)
                self._text, self._version = new, version
                return
        self._close()
        first = _line_start(old, start)
        last = _line_end(old, old_end)
        self._open = _Open(first, last + delta, old[first:last])
        self._text, self._version = new, version

    def _close(self) -> None:
        unit = self._unit()
        self._open = None
        if unit is not None:
            self._closed.append(unit)

    def _unit(self) -> EditUnit | None:
        """The open unit as it stands (None when there is none, or its lines are as they began)."""
        unit = self._open
        if unit is None:
            return None
        after = self._text[unit.start : unit.end]
        if after == unit.before:
            return None
        return EditUnit(unit.before, after, self._text.count("\n", 0, unit.start), self._version)

    def units(self) -> list[EditUnit]:
        """The closed units, oldest first, then the open one (only units that changed something)."""
        current = self._unit()
        return [*self._closed, *([current] if current is not None else [])]

    def held_bytes(self) -> int:
        """Bytes of the units' texts (the document's text itself belongs to the editor's copy)."""
        units = [*self._closed]
        total = sum(text_bytes(unit.before) + text_bytes(unit.after) for unit in units)
        return total + (text_bytes(self._open.before) if self._open is not None else 0)

    @property
    def text(self) -> str:
        """The last recorded text."""
        return self._text

    @property
    def version(self) -> int | None:
        """The version of the last recorded text."""
        return self._version
