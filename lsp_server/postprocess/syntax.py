"""Syntax-aware clean-up of a completion: it ends with its block and never breaks the parse.

What the user sees: a suggestion stops where the block, call or string the cursor is in ends
(before the ``}``, ``)``, ``end`` or quote that the file already has after the cursor), so
accepting it never doubles a closer or spills into the next function; multi-line suggestions
are indented in the file's own style (4 spaces, 2 spaces, tabs); a suggestion that would break
the syntax is cut back to the longest part that does not (often just its first line) or not
shown; a one-line suggestion that opens ``(``, ``[``, ``{`` or a quote is closed when that
makes the line parse; and a suggestion that only repeats the lines below the cursor, or is
blank, is not shown.

``postprocess`` applies the rules in this order, each a small function of its own:

1. ``block_close`` -- cut where the cursor's block closes (the same rule ``block_close_stop``
   applies while decoding): a closer that closes a bracket, string or Lua block opened before
   the cursor *which the text after the cursor also closes*; for multi-line completions a line
   indented less than the cursor's block; for single-line completions the first line break.
2. ``suffix_overlap`` -- ``trim.trim_suffix_overlap``: drop trailing lines that repeat the next
   lines of the file and a tail that repeats the rest of the cursor line.
3. ``balance`` -- single-line only: append the closers for brackets/quotes the completion opened
   and neither it nor the rest of the line closes, only when the parse guard keeps the result.
   (Doubled closers were already removed by steps 1 and 2.)
4. ``indent`` -- re-indent lines after the first to the file's indentation unit.
5. ``parse_guard`` -- keep the longest prefix (whole, cut at line ends, or for single-line at
   token boundaries) that does not add ERROR/MISSING nodes to the parse of a window around the
   cursor (its enclosing top-level definition, at most 200 lines each way); a prefix that
   parses strictly better beats a longer one that is merely no worse; none -> nothing shown.
6. ``finalize`` / ``repeats_suffix`` / ``empty`` -- ``trim.finalize_completion``, then drop a
   completion that only repeats the next lines of the file or is blank. Both drops are also
   checked right after step 2, so a suggestion that will be dropped is never parsed.

Brackets, strings and comments are found with a small per-language lexer (regular expressions,
line by line), not with tree-sitter, so the stop rule stays cheap while decoding: the cursor's
state is computed once per request and the generated text is scanned incrementally.
"""

from __future__ import annotations

import collections
import enum
import functools
import re
from collections.abc import Iterable, Mapping
from typing import Protocol

import attrs
import tree_sitter

from lsp_server.context.completion_kind import previous_code_row, wrapped_header_start
from lsp_server.context.languages import SUPPORTED_LANGUAGES, get_parser, profile_of
from lsp_server.context.syntax_tree import diff_edit, edited_copy, edited_tree, elision_marker
from lsp_server.document import indent_width
from lsp_server.postprocess.stops import StopRule
from lsp_server.postprocess.trim import finalize_completion, is_useless, trim_suffix_overlap

TAB_WIDTH = 4
"""Columns per tab when comparing indentation (as the completion-kind decision does)."""

WINDOW_LINES = 200
"""At most this many lines on each side of the cursor are scanned or parsed."""

WINDOW_CHARS = 10_000
"""...and at most this many characters on each side (minified files have very long lines)."""

MAX_GUARD_PARSES = 12
"""At most this many shorter candidates are parsed by the parse guard."""

_CLOSER_OF = {"(": ")", "[": "]", "{": "}"}
_BLOCK_CLOSERS = frozenset({"}", "end"})
_CODE, _STRING, _LINE_COMMENT, _BLOCK_COMMENT = range(4)
# First words of lines that continue a statement rather than start a new top-level one.
_CONTINUATION_WORDS = frozenset({"else", "elif", "elseif", "except", "finally", "catch", "end", "until"})
_TRAILING_COMMENT = re.compile(r"\s*(?:#|//|--).*$")
_TOKEN = re.compile(r"\w+|[^\w\s]")


# -- public data -------------------------------------------------------------------------------


@attrs.frozen
class PostprocessContext:
    """The document around the cursor and what was decided about the completion before decoding."""

    language: str | None
    prefix: str
    suffix: str
    multi_line: bool
    indent_unit: str


@attrs.frozen
class Postprocessed:
    """The text to show (None: show nothing) and the rules that changed it, in order."""

    text: str | None
    rules: tuple[str, ...]


# -- lexer -------------------------------------------------------------------------------------


@attrs.frozen
class _Lexer:
    """Where brackets, strings and comments start in one language's code."""

    code: re.Pattern[str]
    quotes: Mapping[str, tuple[str, bool, bool]] = attrs.field(eq=False)  # opener -> (closer, escapes, multi)
    block_closers: Mapping[str, str] = attrs.field(eq=False, factory=dict)  # block comment opener -> closer
    keywords: Mapping[str, str] = attrs.field(eq=False, factory=dict)  # block keyword -> its closing keyword


def _alternatives(words: Iterable[str]) -> str:
    return "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))


@functools.cache
def _lexer_for(language: str | None) -> _Lexer | None:
    """Return the lexer for a canonical language name (from its profile), or None when it has none."""
    profile = profile_of(language)
    if profile is None:
        return None
    lexing = profile.lexing
    parts = [lexing.extra]
    if lexing.line_comments:
        parts.append(f"(?P<line>{_alternatives(lexing.line_comments)})|")
    if lexing.block_comments:
        parts.append(f"(?P<block>{_alternatives(lexing.block_comments)})|")
    if lexing.keyword_blocks:
        openers = lexing.keyword_opener_pattern or rf"\b(?:{_alternatives(lexing.keyword_blocks)})\b"
        closers = _alternatives(set(lexing.keyword_blocks.values()))
        parts.append(rf"(?P<kwopen>{openers})|(?P<kwclose>\b(?:{closers})\b)|")
    quote_group = _alternatives(lexing.quotes)
    code = re.compile(rf"{''.join(parts)}(?P<quote>{quote_group})|(?P<open>[(\[{{])|(?P<close>[)\]}}])")
    return _Lexer(code, lexing.quotes, lexing.block_comments, lexing.keyword_blocks)


@attrs.define
class _LexState:
    """Lexer state between two characters: mode, open brackets, and the string being read."""

    mode: int = _CODE
    delim: str = ""  # what ends the current string or block comment
    escapes: bool = True
    multiline: bool = False
    string_owner: int = -1  # 0 while inside a string that was opened before the cursor
    # (closer, owner): owner >= 0 is the opener's index when it was opened before the cursor.
    stack: list[tuple[str, int]] = attrs.Factory(list)

    def copy(self) -> _LexState:
        """Return an independent copy."""
        return attrs.evolve(self, stack=list(self.stack))


class _Phase(Protocol):
    """What the scanner does at a closer and at the end of a string opened before the cursor."""

    def close(self, state: _LexState, closer: str) -> bool:
        """Handle a closer; return True to stop the scan right before it."""
        ...

    def string_end(self, state: _LexState) -> bool:
        """Handle the end of the string the cursor was in; return True to stop right before it."""
        ...


def _match_index(stack: list[tuple[str, int]], closer: str) -> int | None:
    """Return the stack index a closer closes: the top, or for ``}``/``end`` the nearest match."""
    if not stack:
        return None
    if stack[-1][0] == closer:
        return len(stack) - 1
    if closer in _BLOCK_CLOSERS:
        # A block closer abandons unclosed brackets inside the block (``foo(`` still being typed).
        for index in range(len(stack) - 2, -1, -1):
            if stack[index][0] == closer:
                return index
    return None


@functools.cache
def _string_end_pattern(delim: str) -> re.Pattern[str]:
    return re.compile(r"\\.|" + re.escape(delim), re.DOTALL)


def _open_string(state: _LexState, closer: str, escapes: bool, multiline: bool) -> None:
    state.mode = _STRING
    state.delim = closer
    state.escapes = escapes
    state.multiline = multiline


def _rust_quote(state: _LexState, line: str, start: int) -> int:
    """Handle a Rust ``'`` (char literal or lifetime); return where scanning continues."""
    following = line[start + 1 : start + 2]
    if not following:
        return start + 1
    if following.isalnum() or following == "_":
        if line[start + 2 : start + 3] == "'":
            return start + 3  # 'x'
        return start + 1  # a lifetime or label: 'a
    _open_string(state, "'", True, False)  # '\n', ')', ' ' ...
    return start + 1


def _scan(lexer: _Lexer, state: _LexState, line: str, phase: _Phase, partial: bool = False) -> int | None:
    """Advance ``state`` over ``line`` (no line break in it); return the column where phase stopped.

    ``partial``: more text may follow on this line, so a keyword at its very end (``end`` that
    may become ``ending``) is not decided yet and scanning stops before it.
    """
    pos = 0
    end = len(line)
    while pos < end:
        mode = state.mode
        if mode == _CODE:
            match = lexer.code.search(line, pos)
            if match is None:
                return None
            kind = match.lastgroup
            token = match.group()
            pos = match.end()
            if partial and pos == end and kind in ("kwopen", "kwclose"):
                return None
            if kind == "open":
                state.stack.append((_CLOSER_OF[token], -1))
            elif kind in ("close", "kwclose"):
                if phase.close(state, token):
                    return match.start()
            elif kind == "kwopen":
                state.stack.append((lexer.keywords[token], -1))
            elif kind == "line":
                state.mode = _LINE_COMMENT
                return None
            elif kind == "block":
                state.mode = _BLOCK_COMMENT
                closer = lexer.block_closers.get(token)
                state.delim = closer if closer is not None else "]" + "=" * (len(token) - 4) + "]"  # --[==[
            elif kind == "rch":
                pos = _rust_quote(state, line, match.start())
            elif kind == "raw":
                _open_string(state, '"' + "#" * token.count("#"), False, True)
            elif kind == "long":
                _open_string(state, "]" + "=" * (len(token) - 2) + "]", False, True)
            else:
                _open_string(state, *lexer.quotes[token])
        elif mode == _STRING:
            if state.escapes:
                found = _string_end_pattern(state.delim).search(line, pos)
                while found is not None and found.group() != state.delim:
                    found = _string_end_pattern(state.delim).search(line, found.end())
                index = -1 if found is None else found.start()
            else:
                index = line.find(state.delim, pos)
            if index < 0:
                return None
            if state.string_owner >= 0:
                if phase.string_end(state):
                    return index
                state.string_owner = -1
            state.mode = _CODE
            pos = index + len(state.delim)
        elif mode == _BLOCK_COMMENT:
            index = line.find(state.delim, pos)
            if index < 0:
                return None
            state.mode = _CODE
            pos = index + len(state.delim)
        else:
            return None
    return None


def _end_line(state: _LexState) -> None:
    """Apply a line break: line comments and one-line strings end there."""
    if state.mode == _LINE_COMMENT or (state.mode == _STRING and not state.multiline):
        state.mode = _CODE
        state.string_owner = -1


class _PrefixPhase:
    """Scanning before the cursor: closers pop what they close."""

    def close(self, state: _LexState, closer: str) -> bool:
        index = _match_index(state.stack, closer)
        if index is not None:
            del state.stack[index:]
        return False

    def string_end(self, state: _LexState) -> bool:
        return False


@attrs.define
class _SuffixPhase:
    """Scanning after the cursor: record which openers before the cursor get closed."""

    closed: set[int] = attrs.Factory(set)
    string_closed: bool = False
    strays: list[str] = attrs.Factory(list)  # closers that close nothing

    def close(self, state: _LexState, closer: str) -> bool:
        index = _match_index(state.stack, closer)
        if index is None:
            self.strays.append(closer)
            return False
        owner = state.stack[index][1]
        if owner >= 0:
            self.closed.add(owner)
        del state.stack[index:]
        return False

    def string_end(self, state: _LexState) -> bool:
        self.string_closed = True
        return False


@attrs.frozen
class _GeneratedPhase:
    """Scanning the completion: stop at a closer of something the suffix already closes."""

    closed: frozenset[int]
    string_closed: bool

    def consumes(self, state: _LexState, closer: str) -> bool:
        """Return True when ``closer`` closes an opener before the cursor that nothing else closes."""
        index = _match_index(state.stack, closer)
        if index is None:
            return False
        owner = state.stack[index][1]
        return owner >= 0 and owner not in self.closed

    def close(self, state: _LexState, closer: str) -> bool:
        stack = state.stack
        if not stack:
            return True  # closes something outside the scanned window
        index = _match_index(stack, closer)
        if index is None:
            # A mismatched closer inside the completion's own brackets is left to the parse guard;
            # one that would close a bracket before the cursor ends the completion.
            return stack[-1][1] >= 0
        owner = stack[index][1]
        if owner >= 0 and owner in self.closed:
            return True
        del stack[index:]
        return False

    def string_end(self, state: _LexState) -> bool:
        return self.string_closed


# -- the window around the cursor --------------------------------------------------------------


@attrs.frozen
class _Window:
    """The part of the document that is scanned and parsed: prefix[start:] + suffix[:end]."""

    start: int
    end: int
    start_indent: int


def _leading(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


_LEADING_WORD = re.compile(r"\w*")


def _starts_statement(body: str, language: str | None) -> bool:
    """Return True when a line's text (after its indentation) can start a definition."""
    if not body:
        return False
    first = body[0]
    starts_code = first.isalpha() or first in "_@"
    profile = profile_of(language)
    directive = profile is None or (profile.blocks == "braces" and "#" not in profile.lexing.line_comments)
    if not (starts_code or (first == "#" and directive)):
        return False
    word = _LEADING_WORD.match(body)
    if word is None:
        return True
    more = profile.continuation_words if profile is not None else frozenset()
    return word.group() not in _CONTINUATION_WORDS and word.group() not in more


_last_window: tuple[str, str, str | None, int, _Window] | None = None


def _find_window(prefix: str, suffix: str, language: str | None, max_lines: int = WINDOW_LINES) -> _Window:
    """Return the enclosing top-level definition around the cursor, at most max_lines each way.

    Kept for the last (prefix, suffix) objects: the stop rule and the post-processing of one request
    ask for the same window.
    """
    global _last_window
    last = _last_window
    if last is not None and last[0] is prefix and last[1] is suffix and last[2:4] == (language, max_lines):
        return last[4]
    window = _scan_window(prefix, suffix, language, max_lines)
    _last_window = (prefix, suffix, language, max_lines, window)
    return window


@attrs.frozen
class _RowsAbove:
    """What the window scan found in the rows above the cursor line (they stay put while the user types)."""

    above: str  # the prefix up to the start of the cursor line
    language: str | None
    max_lines: int
    start: int | None  # an unindented statement's line start, or 0 at the top of the file
    fallback: tuple[int, int] | None  # (indent, line start) of the nearest least indented statement
    last_pos: int  # where the scan stopped when it ran out of lines


_last_rows_above: _RowsAbove | None = None


def _scan_rows_above(prefix: str, line_start: int, language: str | None, max_lines: int) -> _RowsAbove:
    """Scan up to ``max_lines`` rows above the cursor line, kept while the text above them is unchanged."""
    global _last_rows_above
    last = _last_rows_above
    if (
        last is not None
        and len(last.above) == line_start
        and last.language == language
        and last.max_lines == max_lines
        and prefix.startswith(last.above)
    ):
        return last
    start: int | None = 0 if line_start == 0 else None
    fallback: tuple[int, int] | None = None
    end_of_line = line_start - 1
    pos = prefix.rfind("\n", 0, max(end_of_line, 0)) + 1
    for _ in range(max_lines if line_start else 0):
        body = prefix[pos:end_of_line].lstrip(" \t")
        if _starts_statement(body, language):
            indent = end_of_line - pos - len(body)
            if indent == 0:
                start = pos
                break
            if fallback is None or indent < fallback[0]:
                fallback = (indent, pos)
        if pos == 0:
            start = 0
            break
        end_of_line = pos - 1
        pos = prefix.rfind("\n", 0, end_of_line) + 1
    result = _RowsAbove(prefix[:line_start], language, max_lines, start, fallback, pos)
    _last_rows_above = result
    return result


def _scan_window(prefix: str, suffix: str, language: str | None, max_lines: int) -> _Window:
    line_start = prefix.rfind("\n") + 1
    body = prefix[line_start:].lstrip(" \t")
    cursor_indent = len(prefix) - line_start - len(body)
    cursor_starts = _starts_statement(body, language)
    if cursor_starts and cursor_indent == 0:
        start = line_start
    else:
        rows = _scan_rows_above(prefix, line_start, language, max_lines)
        fallback = (cursor_indent, line_start) if cursor_starts else None
        if rows.fallback is not None and (fallback is None or rows.fallback[0] < fallback[0]):
            fallback = rows.fallback
        if rows.start is not None:
            start = rows.start
        elif fallback is not None:
            start = fallback[1]
        else:
            start = rows.last_pos if line_start else 0
    if len(prefix) - start > WINDOW_CHARS:
        floor = len(prefix) - WINDOW_CHARS
        newline = prefix.find("\n", floor)
        start = newline + 1 if newline >= 0 else floor
    newline = prefix.find("\n", start)
    start_line = prefix[start : newline if newline >= 0 else len(prefix)]
    start_indent = indent_width(start_line, TAB_WIDTH)
    return _Window(start, _window_end(suffix, language, start_indent, max_lines), start_indent)


_last_window_end: tuple[str, str | None, int, int, int] | None = None


def _window_end(suffix: str, language: str | None, start_indent: int, max_lines: int) -> int:
    """Return where the window ends in the suffix: before the next definition, within the caps.

    Kept for the last suffix: it does not change while the user types at the end of a line.
    """
    global _last_window_end
    last = _last_window_end
    if last is not None and last[1:4] == (language, start_indent, max_lines) and last[0] == suffix:
        return last[4]
    end = _scan_window_end(suffix, language, start_indent, max_lines)
    _last_window_end = (suffix, language, start_indent, max_lines, end)
    return end


def _scan_window_end(suffix: str, language: str | None, start_indent: int, max_lines: int) -> int:
    end = len(suffix)
    newline = suffix.find("\n")
    pos = newline + 1
    for _ in range(max_lines if newline >= 0 else 0):
        next_newline = suffix.find("\n", pos)
        line = suffix[pos : next_newline if next_newline >= 0 else len(suffix)]
        if _starts_statement(line.lstrip(" \t"), language) and indent_width(line, TAB_WIDTH) <= start_indent:
            end = pos
            break
        if next_newline < 0:
            break
        pos = next_newline + 1
    else:
        end = pos if newline >= 0 else end
    if end > WINDOW_CHARS:
        newline = suffix.rfind("\n", 0, WINDOW_CHARS)
        end = newline + 1 if newline > 0 else WINDOW_CHARS
    return end


# -- rule 1: stop where the cursor's block closes ----------------------------------------------


@attrs.frozen
class _CursorScan:
    """The lexer state at the cursor and what the text after the cursor closes."""

    state: _LexState
    closed: frozenset[int]
    string_closed: bool
    strays: tuple[str, ...]  # closers on the rest of the cursor line that close nothing before it


@attrs.frozen
class _LineStart:
    """The lexer state at the start of the cursor line, for the window text above it."""

    lexer: _Lexer
    head: str
    state: _LexState


@attrs.frozen
class _SuffixScan:
    """What the text after the cursor closes, for one lexer state at the cursor."""

    lexer: _Lexer
    text: str
    at_cursor: tuple[object, ...]
    closed: frozenset[int]
    string_closed: bool
    strays: tuple[str, ...]


# Kept for the last request: while the user types on one line, the rows above it and the text after the
# cursor do not change, so only the cursor line is scanned again.
_last_line_start: _LineStart | None = None
_last_suffix_scan: _SuffixScan | None = None


def _state_at_line_start(lexer: _Lexer, head: str) -> _LexState:
    r"""The lexer state after the window rows above the cursor line (``head``: empty or ends in "\n")."""
    global _last_line_start
    last = _last_line_start
    if last is not None and last.lexer is lexer and last.head == head:
        return last.state.copy()
    state = _LexState()
    phase = _PrefixPhase()
    lines = head.split("\n")
    lines.pop()
    for line in lines:
        _scan(lexer, state, line.rstrip("\r"), phase)
        _end_line(state)
    _last_line_start = _LineStart(lexer, head, state.copy())
    return state


def _scan_suffix(lexer: _Lexer, state: _LexState, text: str) -> _SuffixScan:
    """Scan the window's suffix from the cursor's state until all it closes is known."""
    global _last_suffix_scan
    at_cursor = (state.mode, state.delim, state.escapes, state.multiline, state.string_owner, *state.stack)
    last = _last_suffix_scan
    if last is not None and last.lexer is lexer and last.at_cursor == at_cursor and last.text == text:
        return last
    probe = state.copy()
    phase = _SuffixPhase()
    strays: tuple[str, ...] = ()
    pos = 0
    first = True
    while True:
        newline = text.find("\n", pos)
        _scan(lexer, probe, text[pos : newline if newline >= 0 else len(text)], phase)
        if first:
            strays, first = tuple(phase.strays), False
        _end_line(probe)
        if ((not probe.stack or probe.stack[0][1] < 0) and probe.string_owner < 0) or newline < 0:
            break
        pos = newline + 1
    result = _SuffixScan(lexer, text, at_cursor, frozenset(phase.closed), phase.string_closed, strays)
    _last_suffix_scan = result
    return result


def _scan_cursor(lexer: _Lexer, prefix: str, suffix: str) -> _CursorScan:
    """Scan the window's prefix to the cursor, then the suffix until all it closes is known."""
    line_start = prefix.rfind("\n") + 1
    state = _state_at_line_start(lexer, prefix[:line_start])
    _scan(lexer, state, prefix[line_start:].rstrip("\r"), _PrefixPhase())
    state.stack = [(closer, owner) for owner, (closer, _) in enumerate(state.stack)]
    if state.mode == _STRING:
        state.string_owner = 0
    after = _scan_suffix(lexer, state, suffix)
    return _CursorScan(state, after.closed, after.string_closed, after.strays)


def _header_opens_block(line: str, language: str | None) -> bool:
    text = line.rstrip()
    if not any(q in text for q in "\"'`"):
        text = _TRAILING_COMMENT.sub("", text)
    profile = profile_of(language)
    if profile is not None:
        return profile.header_pattern.search(text) is not None
    return text.endswith((":", "{", "(", "["))


def _block_indent(lines: list[str], language: str | None, indent_unit: str) -> int:
    """Return the indentation width of the block the cursor (end of ``lines``) is in."""
    cursor = lines[-1]
    cursor_indent = indent_width(cursor, TAB_WIDTH)
    if cursor.strip():
        return cursor_indent
    header = previous_code_row(lines, len(lines) - 1)
    if header is None or not _header_opens_block(lines[header], language):
        return cursor_indent
    # A wrapped header (``) {`` or ``):`` on its own line) is indented like the line that opened it.
    first = wrapped_header_start(lines, header)
    header_indent = min(indent_width(lines[header], TAB_WIDTH), indent_width(lines[first], TAB_WIDTH))
    if cursor_indent > header_indent:
        return cursor_indent
    return header_indent + indent_width(indent_unit, TAB_WIDTH)


class _Dedent(enum.Enum):
    """What a dedented line of the completion does to the cursor's block."""

    STAYS = "stays"  # not a dedent out of the block (or it closes what the completion opened)
    LEAVES = "leaves"  # the completion ends before this line
    WAIT = "wait"  # a partial word that may still become `end` / `until`: decide on more text


@attrs.define
class _Memo:
    """Where the last scan of the generated text left off (the start of its last line)."""

    head: str = ""
    state: _LexState | None = None
    row: int = 0


def _line_break_before(text: str, line_start: int) -> int:
    """Return where the line break ending right before ``line_start`` begins (CRLF-aware)."""
    cut = line_start - 1
    if cut > 0 and text[cut - 1] == "\r":
        return cut - 1
    return cut


@attrs.frozen
class BlockCloseStop:
    """End a completion where the block, bracket or string around the cursor closes.

    The lexer state at the cursor is computed once; ``check`` then scans only the lines it has
    not seen yet (it remembers the state at the start of the last line), so calling it after
    every token costs about the length of the current line. The result depends only on the
    text passed in; one rule serves one generation at a time (the memo is not thread-safe).
    """

    multi_line: bool
    block_indent: int
    first_line_indent: int | None  # indentation already before the cursor; None when code is there
    lexer: _Lexer | None = attrs.field(eq=False, repr=False)
    cursor: _CursorScan | None = attrs.field(eq=False, repr=False)
    closer_words: frozenset[str] = frozenset()  # keywords that close a block: "en" may still become "end"
    _memo: _Memo = attrs.field(init=False, factory=_Memo, eq=False, repr=False)

    def check(self, generated: str) -> int | None:
        """Return the cut index once the completion leaves the cursor's block, else None."""
        return self.cut(generated, final=False)

    def _start_state(self) -> _LexState:
        return self.cursor.state.copy() if self.cursor is not None else _LexState()

    def cut(self, generated: str, final: bool = True) -> int | None:
        """Return the cut index for ``generated``; ``final`` when no more text will follow."""
        memo = self._memo
        if memo.state is not None and generated.startswith(memo.head):
            start, state, row = len(memo.head), memo.state.copy(), memo.row
        else:
            start, state, row = 0, self._start_state(), 0
        phase = _GeneratedPhase(
            self.cursor.closed if self.cursor is not None else frozenset(),
            self.cursor.string_closed if self.cursor is not None else False,
        )
        while True:
            newline = generated.find("\n", start)
            line_end = len(generated) if newline < 0 else newline
            line = generated[start:line_end]
            if line.endswith("\r"):
                line = line[:-1]
            cut = self._check_line(generated, line, start, row, state, phase, newline >= 0 or final)
            if cut is not None:
                return cut
            if newline < 0:
                return None
            if not self.multi_line:
                return _line_break_before(generated, newline + 1)
            _end_line(state)
            row += 1
            start = newline + 1
            if not final:
                memo.head, memo.state, memo.row = generated[:start], state.copy(), row

    def _check_line(
        self,
        generated: str,
        line: str,
        start: int,
        row: int,
        state: _LexState,
        phase: _GeneratedPhase,
        complete: bool,
    ) -> int | None:
        if self.multi_line and state.mode == _CODE and line.strip():
            dedent = self._dedent(line, row, state, phase, complete)
            if dedent is _Dedent.WAIT:
                return None
            if dedent is _Dedent.LEAVES:
                return 0 if row == 0 else _line_break_before(generated, start)
        if self.lexer is None:
            return None
        column = _scan(self.lexer, state, line, phase, partial=not complete)
        if column is None:
            return None
        if row > 0 and not line[:column].strip():
            return _line_break_before(generated, start)  # the closer starts its line
        return start + column

    def _dedent(
        self, line: str, row: int, state: _LexState, phase: _GeneratedPhase, complete: bool
    ) -> _Dedent:
        """Decide whether ``line`` (row ``row`` of the completion) leaves the cursor's block."""
        if row == 0:
            if self.first_line_indent is None:
                return _Dedent.STAYS
            width = self.first_line_indent + indent_width(line, TAB_WIDTH, self.first_line_indent)
        else:
            width = indent_width(line, TAB_WIDTH)
        if width >= self.block_indent:
            return _Dedent.STAYS
        body = line.lstrip(" \t")
        word = re.match(r"\w+", body)
        closer = body[0] if body[0] in ")]}" else (word.group() if word else "")
        partial_word = not complete and word is not None and word.end() == len(body)
        if partial_word and closer and any(word.startswith(closer) for word in self.closer_words):
            return _Dedent.WAIT  # "en" may still become "end"
        # A line that closes a block opened before the cursor and not closed after it (the file
        # ends there, or the user is still writing it) belongs to the completion.
        if closer and self.lexer is not None and phase.consumes(state, closer):
            return _Dedent.STAYS
        return _Dedent.LEAVES


def _cursor_scan_for(ctx: PostprocessContext, window: _Window) -> tuple[_Lexer | None, _CursorScan | None]:
    lexer = _lexer_for(ctx.language if ctx.language in SUPPORTED_LANGUAGES else None)
    if lexer is None:
        return None, None
    return lexer, _scan_cursor(lexer, ctx.prefix[window.start :], ctx.suffix[: window.end])


def _make_block_close(ctx: PostprocessContext, window: _Window) -> BlockCloseStop:
    lexer, cursor = _cursor_scan_for(ctx, window)
    cursor_line = ctx.prefix[max(ctx.prefix.rfind("\n") + 1, window.start) :]
    first_line_indent = None if cursor_line.strip() else indent_width(cursor_line, TAB_WIDTH)
    profile = profile_of(ctx.language)
    block_indent = 0
    if ctx.multi_line:
        block_indent = _block_indent(ctx.prefix[window.start :].split("\n"), ctx.language, ctx.indent_unit)
    return BlockCloseStop(
        multi_line=ctx.multi_line,
        block_indent=block_indent,
        first_line_indent=first_line_indent,
        closer_words=profile.closer_words if profile is not None else frozenset(),
        lexer=lexer,
        cursor=cursor,
    )


def block_close_stop(ctx: PostprocessContext) -> StopRule:
    """Return the decoding-time rule that ends a completion where the cursor's block closes."""
    return _make_block_close(ctx, _find_window(ctx.prefix, ctx.suffix, ctx.language))


@attrs.frozen
class FirstStop:
    """Several stop rules at once: the earliest cut wins."""

    rules: tuple[StopRule, ...]

    def check(self, generated: str) -> int | None:
        """Return the smallest cut any rule gives, else None."""
        cuts = [cut for cut in (rule.check(generated) for rule in self.rules) if cut is not None]
        return min(cuts) if cuts else None


def first_stop(*rules: StopRule) -> StopRule:
    """Return a rule that stops as soon as any of ``rules`` does (e.g. block close + max lines)."""
    return FirstStop(tuple(rules))


# -- rule 2: the parse guard -------------------------------------------------------------------


def count_errors(tree: tree_sitter.Tree) -> int:
    """Return the number of ERROR and MISSING nodes in a tree."""
    count = 0
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if not node.has_error:
            continue
        if node.is_error or node.is_missing:
            count += 1
        stack.extend(node.children)
    return count


def _first_error_byte(tree: tree_sitter.Tree, from_byte: int) -> int | None:
    """Return the first byte at or after ``from_byte`` covered by an ERROR or MISSING node."""
    best: int | None = None
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if not node.has_error or node.end_byte < from_byte:
            continue
        if node.is_error or node.is_missing:
            position = max(node.start_byte, from_byte)
            best = position if best is None else min(best, position)
        stack.extend(node.children)
    return best


# The last text the guard parsed (a window, or a window with a candidate in it). The next keystroke's
# texts differ from it by a few characters, and a candidate from its window only by the completion: each
# parse is incremental from the nearest tree at hand.
_last_guard_parse: tuple[str, bytes, tree_sitter.Tree] | None = None
# The last candidates parsed: when the user types along a suggestion, the next keystroke's window with the
# rest of it is the same text (a completion that closes a string re-lexes the whole window otherwise).
_recent_candidates: collections.OrderedDict[tuple[str, bytes], tree_sitter.Tree] = collections.OrderedDict()
_RECENT_CANDIDATES = 16


@attrs.define
class ParseGuard:
    """Parses ``before + completion + after`` and compares its errors with the text without it."""

    language: str
    before: str
    after: str
    _counts: dict[str, int] = attrs.field(init=False, factory=dict)
    _trees: dict[str, tuple[bytes, tree_sitter.Tree]] = attrs.field(init=False, factory=dict)

    def _parse(self, completion: str) -> tree_sitter.Tree:
        global _last_guard_parse
        parsed = self._trees.get(completion)
        if parsed is not None:
            return parsed[1]
        source = (self.before + completion + self.after).encode("utf-8", errors="replace")
        key = (self.language, source)
        tree = _recent_candidates.get(key) if completion else None
        if tree is None:
            window = self._trees.get("")
            last = _last_guard_parse
            old: tree_sitter.Tree | None = None
            if window is not None:
                old = edited_copy(window[1], window[0], source)
            elif last is not None and last[0] == self.language:
                edit = diff_edit(last[1], source)
                if edit is None or edit.new_end_byte - edit.start_byte <= len(source) // 2:
                    old = edited_tree(last[2], edit)
                # else another place's window: reusing its tree costs more than it saves
            parser = get_parser(self.language)
            tree = parser.parse(source) if old is None else parser.parse(source, old)
            _last_guard_parse = (self.language, source, tree)
            if completion:
                _recent_candidates[key] = tree
                while len(_recent_candidates) > _RECENT_CANDIDATES:
                    _recent_candidates.popitem(last=False)
        self._trees[completion] = (source, tree)
        return tree

    def errors(self, completion: str) -> int:
        """Return how many ERROR/MISSING nodes the window has with ``completion`` inserted."""
        count = self._counts.get(completion)
        if count is None:
            count = count_errors(self._parse(completion))
            self._counts[completion] = count
        return count

    def first_error(self, completion: str) -> int | None:
        """Return the character index in ``completion`` of the first error at or after the cursor."""
        cursor = len(self.before.encode("utf-8", errors="replace"))
        found = _first_error_byte(self._parse(completion), cursor)
        if found is None:
            return None
        encoded = completion.encode("utf-8", errors="replace")
        return len(encoded[: found - cursor].decode("utf-8", errors="ignore"))


def _guard_for(ctx: PostprocessContext, window: _Window) -> ParseGuard | None:
    if ctx.language not in SUPPORTED_LANGUAGES:
        return None
    return ParseGuard(ctx.language, ctx.prefix[window.start :], ctx.suffix[: window.end])


def make_parse_guard(ctx: PostprocessContext) -> ParseGuard | None:
    """Return a parse guard over the window around the cursor, or None for unsupported languages."""
    return _guard_for(ctx, _find_window(ctx.prefix, ctx.suffix, ctx.language))


def _shorter_candidates(text: str) -> list[str]:
    """Return prefixes of ``text`` to try, longest first: at line ends, else at token boundaries."""
    if "\n" in text:
        ends = [m.start() for m in re.finditer("\n", text)]
    else:
        ends = [m.end() for m in _TOKEN.finditer(text)][:-1]
    candidates: list[str] = []
    for end in reversed(ends):
        candidate = text[:end].rstrip("\r")
        if candidate.strip() and candidate not in candidates:
            candidates.append(candidate)
    return candidates


def parse_guard(text: str, guard: ParseGuard) -> str | None:
    """Return ``text`` or its longest prefix that keeps the parse as good; None if none does.

    Among the prefixes tried, one that parses strictly better wins over a longer one that is
    merely no worse than the document without the completion (``x + * 2`` -> ``x``).
    """
    best_errors = guard.errors(text)
    if best_errors == 0:
        return text  # no need to parse the window without it
    baseline = guard.errors("")
    best = text if best_errors <= baseline else None
    wanted = min(baseline, best_errors - 1)
    candidates = _shorter_candidates(text)
    hint = guard.first_error(text)
    if hint is not None:
        # Prefixes that end before the first error are the likely survivors: try them first.
        candidates = [c for c in candidates if len(c) <= hint] + [c for c in candidates if len(c) > hint]
    for candidate in candidates[:MAX_GUARD_PARSES]:
        errors = guard.errors(candidate)
        if errors <= wanted:
            best, wanted = candidate, errors - 1
            if errors == 0:
                break
    return best


# -- rule 3: balance against what the rest of the line closes ----------------------------------


def _open_at_end(text: str, lexer: _Lexer, cursor: _CursorScan) -> tuple[str, list[str]]:
    """Return the quote of a string and the closers (innermost first) the completion leaves open."""
    state = cursor.state.copy()
    _scan(lexer, state, text, _GeneratedPhase(cursor.closed, cursor.string_closed))
    quote = ""
    if state.mode == _STRING and state.string_owner < 0 and not state.multiline:
        quote = state.delim
    brackets: list[str] = []
    for closer, owner in reversed(state.stack):
        if owner >= 0 or closer not in ")]}":
            break
        brackets.append(closer)
    return quote, brackets


def balance_closers(text: str, ctx: PostprocessContext) -> str:
    """Return the closers to append to a one-line completion so that its line balances."""
    stop = _make_block_close(ctx, _find_window(ctx.prefix, ctx.suffix, ctx.language))
    if stop.lexer is None or stop.cursor is None:
        return ""
    return _balance_closers(text, ctx, stop.lexer, stop.cursor)


def _balance_closers(text: str, ctx: PostprocessContext, lexer: _Lexer, cursor: _CursorScan) -> str:
    if ctx.multi_line or "\n" in text:
        return ""
    quote, brackets = _open_at_end(text, lexer, cursor)
    rest = ctx.suffix.split("\n", 1)[0].rstrip("\r")
    if quote and quote in rest:
        return ""  # the rest of the line closes the string (and whatever is inside it)
    # Closers on the rest of the line that close nothing before the cursor close the outermost of
    # the completion's openers; append only the innermost ones they leave open.
    strays = list(cursor.strays)
    for appended in range(len(brackets) + 1):
        remaining = brackets[appended:]
        if strays[: len(remaining)] == remaining:
            return quote + "".join(brackets[:appended])
    return quote + "".join(brackets)


# -- rule 4: indentation in the file's style ---------------------------------------------------


def _render_indent(width: int, indent_unit: str) -> str:
    if indent_unit == "\t":
        return "\t" * (width // TAB_WIDTH) + " " * (width % TAB_WIDTH)
    return " " * width


def _opens_block(line: str) -> bool:
    text = _TRAILING_COMMENT.sub("", line.rstrip()) if not any(q in line for q in "\"'`") else line.rstrip()
    return text.endswith((":", "{", "(", "[")) or re.search(r"\b(?:then|do|else|repeat)$", text) is not None


def _tab_columns(leads: list[str], indent_unit: str) -> int:
    """Return how many columns a tab in the completion's indentation stands for."""
    if indent_unit == "\t" or not any("\t" in lead for lead in leads):
        return TAB_WIDTH
    if any(lead.startswith("  ") for lead in leads):
        return 8  # tabs mixed with spaces: the traditional 8-column tab
    return indent_width(indent_unit, TAB_WIDTH)  # tabs alone: one tab per level


def normalize_indentation(text: str, ctx: PostprocessContext) -> str:
    """Re-indent the lines after the first to the file's indentation unit, keeping their nesting."""
    if "\n" not in text or not ctx.indent_unit or ctx.indent_unit.strip(" \t"):
        return text
    lines = text.split("\n")
    cursor_line = ctx.prefix[ctx.prefix.rfind("\n") + 1 :]
    base = _leading(cursor_line) + (_leading(lines[0]) if not cursor_line.strip() else "")
    file_tabs = ctx.indent_unit == "\t"
    unit = indent_width(ctx.indent_unit, TAB_WIDTH)
    leads = [_leading(line) for line in lines[1:] if line.strip()]
    if file_tabs:
        foreign = any("  " in lead for lead in leads)
    else:
        foreign = any("\t" in lead for lead in leads)
    tab = _tab_columns(leads, ctx.indent_unit)
    ref = indent_width(base, tab)
    steps: collections.Counter[int] = collections.Counter()
    previous_width, previous_text = ref, lines[0]
    for line in lines[1:]:
        if line.strip():
            width = indent_width(line, tab)
            opens = _opens_block(previous_text) or _header_opens_block(previous_text, ctx.language)
            if opens and 2 <= width - previous_width <= 8:
                steps[width - previous_width] += 1
            previous_width, previous_text = width, line
    model_unit = max(steps.items(), key=lambda kv: (kv[1], -kv[0]))[0] if steps else None
    if not foreign and (model_unit is None or model_unit == unit):
        return text
    step = model_unit or (TAB_WIDTH if file_tabs else unit)
    out = [lines[0]]
    for line in lines[1:]:
        lead = _leading(line)
        if not line.strip():
            out.append(line)
            continue
        levels, rest = divmod(indent_width(lead, tab) - ref, step)
        width = max(ref + levels * unit + rest, 0)
        if width >= ref and _style_ok(base, file_tabs):
            new_lead = base + _render_indent(width - ref, ctx.indent_unit)
        else:
            new_lead = _render_indent(width, ctx.indent_unit)
        out.append(new_lead + line[len(lead) :])
    return "\n".join(out)


def _style_ok(lead: str, file_tabs: bool) -> bool:
    return (" " not in lead) if file_tabs else ("\t" not in lead)


# -- rule 5: drop what only repeats the file ---------------------------------------------------


def repeats_suffix(text: str, ctx: PostprocessContext, suffix: str | None = None) -> bool:
    """Return True when the completed lines equal the next non-blank lines after the cursor."""
    following_text = ctx.suffix if suffix is None else suffix
    first_line, _, after = following_text.partition("\n")
    cursor_line = ctx.prefix[ctx.prefix.rfind("\n") + 1 :]
    written = [
        line.rstrip() for line in (cursor_line + text + first_line.rstrip("\r")).split("\n") if line.strip()
    ]
    if not written or not text.strip():
        return False
    following: list[str] = []
    for line in after.split("\n"):
        if line.strip():
            following.append(line.rstrip())
            if len(following) == len(written):
                break
    return following == written


# -- the pipeline ------------------------------------------------------------------------------


def _only_elision(text: str, language: str | None) -> bool:
    """Whether every line of ``text`` is the prompt outline's ``# ...`` line (nothing to insert)."""
    marker = elision_marker(language)
    return all(line.strip() in ("", marker) for line in text.split("\n"))


def postprocess(completion: str, ctx: PostprocessContext) -> Postprocessed:
    """Apply the syntax-aware rules in order (see the module docstring) and say which fired."""
    rules: list[str] = []

    def result(text: str | None) -> Postprocessed:
        return Postprocessed(text, tuple(rules))

    def step(name: str, before: str, after: str) -> str:
        if after != before:
            rules.append(name)
        return after

    window = _find_window(ctx.prefix, ctx.suffix, ctx.language)
    stop = _make_block_close(ctx, window)
    cut = stop.cut(completion, final=True)
    text = step("block_close", completion, completion if cut is None else completion[:cut])
    suffix_window = ctx.suffix[: window.end]
    text = step("suffix_overlap", text, trim_suffix_overlap(text, suffix_window))
    if is_useless(text):
        rules.append("empty")
        return result(None)
    if repeats_suffix(text, ctx, suffix_window):
        rules.append("repeats_suffix")  # checked early too: no need to parse what is dropped anyway
        return result(None)

    guard = _guard_for(ctx, window)
    if guard is not None and stop.lexer is not None and stop.cursor is not None:
        closers = _balance_closers(text, ctx, stop.lexer, stop.cursor)
        if closers and parse_guard(text + closers, guard) == text + closers:
            text = step("balance", text, text + closers)
    if ctx.multi_line:
        text = step("indent", text, normalize_indentation(text, ctx))
    if guard is not None:
        guarded = parse_guard(text, guard)
        if guarded is None:
            rules.append("parse_guard")
            return result(None)
        text = step("parse_guard", text, guarded)
    text = step("finalize", text, finalize_completion(text))
    if is_useless(text):
        rules.append("empty")
        return result(None)
    if _only_elision(text, ctx.language):
        rules.append("elision")  # the model copied the outline's marker for elided code
        return result(None)
    if repeats_suffix(text, ctx, suffix_window):
        rules.append("repeats_suffix")
        return result(None)
    return result(text)
