"""Stop rules checked while the model decodes, so a completion ends where the user expects.

What the user sees: a single-line suggestion never spills onto the next line, and a multi-line
suggestion fills the block the cursor opened and stops at the first line that would leave it
(a dedent to the header's level, a closing ``}`` already in the file, ``else:`` ...), or after
a bounded number of lines. Rules are pure: the engine calls ``check`` after every decoded token
with the whole text generated so far and stops as soon as it gets an index back.
"""

from __future__ import annotations

from typing import Protocol

import attrs

from lsp_server.document import indent_width


class StopRule(Protocol):
    """A rule the engine applies to the growing completion text during decoding."""

    def check(self, generated: str) -> int | None:
        """Return the cut index (keep generated[:idx]) once the completion must end, else None."""
        ...


def _line_break_before(generated: str, newline_index: int) -> int:
    """Return where the line break ending at ``generated[newline_index]`` starts (CRLF-aware)."""
    if newline_index > 0 and generated[newline_index - 1] == "\r":
        return newline_index - 1
    return newline_index


@attrs.frozen
class SingleLineStop:
    """End the completion at the first line break."""

    def check(self, generated: str) -> int | None:
        """Return the index of the first line break, else None."""
        cuts = [i for i in (generated.find("\n"), generated.find("\r")) if i >= 0]
        return min(cuts) if cuts else None


@attrs.frozen
class MultiLineStop:
    """End a block completion at the first line indented less than the block, or at max_lines.

    ``first_line_prefix_indent`` is the whitespace width already on the cursor line before the
    cursor; the first generated line continues it. Lines are judged as soon as their first
    non-whitespace character arrives, so decoding stops as early as possible. Blank lines never
    stop a completion.
    """

    block_indent: int
    first_line_prefix_indent: int = 0
    tab_width: int = 4
    max_lines: int = 64

    def check(self, generated: str) -> int | None:
        """Return the cut index once a dedented line starts or max_lines is exceeded, else None."""
        start = 0
        index = 0
        while True:
            newline = generated.find("\n", start)
            line = generated[start:] if newline < 0 else generated[start:newline]
            if line.strip():
                if index == 0:
                    width = self.first_line_prefix_indent + indent_width(
                        line, self.tab_width, self.first_line_prefix_indent
                    )
                else:
                    width = indent_width(line, self.tab_width)
                if width < self.block_indent:
                    return 0 if index == 0 else _line_break_before(generated, start - 1)
            if newline < 0:
                return None
            index += 1
            if index >= max(self.max_lines, 1):
                return _line_break_before(generated, newline)
            start = newline + 1


def single_line_stop() -> StopRule:
    """Return the rule that cuts a completion at its first line break."""
    return SingleLineStop()


def multi_line_stop(
    block_indent: int, first_line_prefix_indent: int, tab_width: int = 4, max_lines: int = 64
) -> StopRule:
    """Return the rule that cuts a block completion at a dedent below block_indent or max_lines."""
    return MultiLineStop(
        block_indent=block_indent,
        first_line_prefix_indent=first_line_prefix_indent,
        tab_width=tab_width,
        max_lines=max_lines,
    )
