"""Clean-up of a finished completion before it is shown.

What the user sees: accepting a suggestion never doubles text that is already in the file --
a closing ``)`` or ``"]`` the editor auto-inserted after the cursor, or the lines of code that
follow the cursor when the model re-generates them -- and suggestions carry no trailing spaces
or blank lines. Empty suggestions are not shown at all.
"""

from __future__ import annotations

import re

_OPENERS = "([{"
_CLOSERS = ")]}"
_QUOTES = "\"'`"
_TRAILING_SPACE = re.compile(r"[ \t]+(?=\r?\n|\r|\Z)")


def finalize_completion(text: str) -> str:
    """Strip trailing whitespace from every line and drop trailing blank lines."""
    return _TRAILING_SPACE.sub("", text).rstrip()


def is_useless(completion: str) -> bool:
    """Return True when the completion is empty or whitespace-only."""
    return not completion.strip()


def _imbalance(text: str) -> int:
    """Count unmatched brackets plus odd quote counts: how far ``text`` is from self-balanced."""
    stack: list[str] = []
    unmatched = 0
    for ch in text:
        if ch in _OPENERS:
            stack.append(ch)
        elif ch in _CLOSERS:
            if stack and _OPENERS.index(stack[-1]) == _CLOSERS.index(ch):
                stack.pop()
            else:
                unmatched += 1
    return unmatched + len(stack) + sum(text.count(q) % 2 for q in _QUOTES)


def _trim_tail_overlap(completion: str, rest_of_line: str) -> str:
    """Drop the completion's tail that repeats the start of the rest of the cursor line.

    Among the tails that equal a prefix of ``rest_of_line`` (and not stripping at all), keep
    the cut that leaves the completion best bracket/quote-balanced, preferring the longer cut
    on ties: ``x + 1)`` before ``)`` becomes ``x + 1``, but ``foo()`` before ``)`` is kept.
    """
    best_cut = 0
    best_score = _imbalance(completion)
    for k in range(1, min(len(completion), len(rest_of_line)) + 1):
        if completion.endswith(rest_of_line[:k]):
            score = _imbalance(completion[:-k])
            if score <= best_score:
                best_cut, best_score = k, score
    return completion[: len(completion) - best_cut]


def _trim_repeated_lines(completion: str, following_lines: list[str]) -> str:
    """Drop trailing completion lines that repeat the first non-blank lines after the cursor."""
    lines = completion.split("\n")
    if len(lines) < 2:
        return completion
    # Offsets of the completion's non-blank lines after the first (the first is never dropped).
    starts: list[int] = []
    texts: list[str] = []
    offset = len(lines[0]) + 1
    for line in lines[1:]:
        if line.strip():
            starts.append(offset)
            texts.append(line.rstrip())
        offset += len(line) + 1
    wanted = [line.rstrip() for line in following_lines if line.strip()][: len(texts)]
    for m in range(min(len(texts), len(wanted)), 0, -1):
        if texts[-m:] == wanted[:m]:
            return completion[: starts[-m]].rstrip()
    return completion


def trim_suffix_overlap(completion: str, suffix: str) -> str:
    """Remove the parts of the completion that repeat text already after the cursor."""
    suffix_lines = suffix.split("\n")
    rest_of_line = suffix_lines[0].rstrip("\r")
    trimmed = _trim_repeated_lines(completion, suffix_lines[1:])
    return _trim_tail_overlap(trimmed, rest_of_line)
