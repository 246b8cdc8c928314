"""What kind of completion to offer at the cursor: none, the rest of the line, or a block body.

What the user sees: no suggestion while typing inside a word, in the middle of a string, or in
front of other code on the line; a one-line suggestion at the end of a line (or before
auto-inserted closers such as ``)``, ``"]``, ``;``); and a multi-line suggestion on the blank
first line of a block just opened (after ``def f():``, ``if (x) {``, ``for ... do`` ...), which
stops at the first line that would leave that block. Syntax comes from tree-sitter where the
language is known; any other file gets the same decisions from plain-text rules.
"""

from __future__ import annotations

import collections
import enum
import functools
import re

import attrs
import tree_sitter

from lsp_server.context.languages import SUPPORTED_LANGUAGES, parse, profile_of
from lsp_server.document import indent_width, lines_of


class CompletionKind(enum.Enum):
    """How much text a completion at the cursor may contain."""

    NONE = "none"
    SINGLE_LINE = "single_line"
    MULTI_LINE = "multi_line"


@attrs.frozen
class CompletionDecision:
    """The decided completion kind, with what the stop rules need and a reason for the logs."""

    kind: CompletionKind
    block_indent: int | None
    indent_unit: str
    reason: str


_INDENT_SAMPLE_LINES = 150
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Text allowed after the cursor for a mid-line completion (Copilot-style): closers only.
_CLOSERS_AFTER_CURSOR = frozenset(")]}\"'`;,:")
_STRING_NODE_TYPES = frozenset(
    {
        "string",
        "template_string",
        "string_literal",
        "raw_string_literal",
        "interpreted_string_literal",
        "char_literal",
        "character_literal",
        "rune_literal",
        "text_block",
        "system_lib_string",
    }
)


def split_lines(text: str) -> list[str]:
    """Split text into lines the way LSP counts them (LF, CRLF or lone CR line endings)."""
    if "\r" not in text:
        return lines_of(text)  # the common case, several times faster than the regular expression
    return _LINE_BREAK.split(text)


def _is_word_char(ch: str, language: str | None) -> bool:
    if ch.isalnum() or ch == "_":
        return True
    profile = profile_of(language)
    return profile is not None and ch in profile.word_chars


def detect_indent_unit(text: str, language: str | None = None) -> str:
    """Return the file's indentation unit (a tab or N spaces), guessed from its indented lines."""
    tab_lines = 0
    space_lines = 0
    steps: collections.Counter[int] = collections.Counter()
    previous: int | None = None
    # Not split_lines: the memo of the document's split is not for this sample.
    for line in (_LINE_BREAK.split(text) if "\r" in text else text.split("\n"))[:5000]:
        body = line.lstrip(" \t")
        if not body.strip():
            continue
        lead = line[: len(line) - len(body)]
        if "\t" in lead:
            tab_lines += lead.startswith("\t")
            previous = None
            continue
        space_lines += bool(lead)
        if body.startswith("*"):
            continue  # " * ..." inside a block comment is not an indent step
        # Steps of one column are alignment noise (comments, wrapped text), never a unit.
        if previous is not None and 2 <= len(lead) - previous <= 8:
            steps[len(lead) - previous] += 1
        previous = len(lead)
    if tab_lines and tab_lines >= space_lines:
        return "\t"
    profile = profile_of(language)
    default = profile.indent_unit if profile is not None else "    "
    if steps:
        # Most common step; on ties the language's usual unit, then the smaller step (wrapped
        # lines are usually indented further than one unit).
        best = max(steps.items(), key=lambda kv: (kv[1], kv[0] == len(default), -kv[0]))
        return " " * best[0]
    return default


@functools.lru_cache(maxsize=16)
def _indent_unit_cached(text: str, language: str | None) -> str:
    return detect_indent_unit(text, language)


def _decision(
    kind: CompletionKind, indent_unit: str, reason: str, block_indent: int | None = None
) -> CompletionDecision:
    return CompletionDecision(kind=kind, block_indent=block_indent, indent_unit=indent_unit, reason=reason)


def _is_comment(node: tree_sitter.Node) -> bool:
    return "comment" in node.type


def _tokens_on_row(root: tree_sitter.Node, row: int) -> list[tree_sitter.Node]:
    """Return the non-comment, non-missing tokens that end on ``row``, in document order."""
    tokens: list[tree_sitter.Node] = []
    stack = [root]  # iterative: expression trees can nest deeper than Python's recursion limit
    while stack:
        node = stack.pop()
        if node.end_point.row < row or node.start_point.row > row or _is_comment(node):
            continue
        if node.child_count:
            stack.extend(reversed(node.children))
        elif (
            not node.is_missing
            and node.end_byte > node.start_byte
            and node.end_point.row == row
            and node.end_point.column > 0
        ):
            tokens.append(node)
    return tokens


def previous_code_row(lines: list[str], row: int) -> int | None:
    """The nearest row above ``row`` that is not blank (None: only blank rows above)."""
    return next((r for r in range(row - 1, -1, -1) if lines[r].strip()), None)


def _opens_with_docstring(token: tree_sitter.Node) -> tree_sitter.Node | None:
    """The docstring (a string statement first in its block) that ``token`` ends, if it is one."""
    string = token if token.type == "string" else token.parent
    if string is None or string.type != "string":
        return None
    statement = string.parent
    block = statement.parent if statement is not None else None
    if statement is None or block is None or statement.type != "expression_statement":
        return None
    if block.type != "block" or not block.named_children or block.named_children[0] != statement:
        return None
    return string


def _opening_row(root: tree_sitter.Node, language: str, lines: list[str], row: int) -> int:
    """The row to judge as a block header for a cursor below ``row``.

    Comment-only lines and a Python docstring that opens the block are skipped: after ``def f():`` and its
    docstring (or ``{`` and a comment) the block is still empty, so its body is what the user writes next.
    """
    profile = profile_of(language)
    docstrings = profile is not None and profile.docs.placement == "docstring"
    for _ in range(64):
        tokens = _tokens_on_row(root, row)
        docstring = _opens_with_docstring(tokens[-1]) if tokens and docstrings else None
        if tokens and docstring is None:
            return row
        above = previous_code_row(lines, docstring.start_point.row if docstring is not None else row)
        if above is None:
            return row
        row = above
    return row


def _header_row(tokens: list[tree_sitter.Node], row: int) -> int:
    """Return the first row of the statement whose header ends on ``row``.

    A ``)`` or ``]`` on the header line whose bracket opened on an earlier line (a wrapped
    parameter list or condition) moves the header start up to that line.
    """
    first = row
    for token in tokens:
        if token.type in (")", "]") and token.parent is not None:
            first = min(first, token.parent.start_point.row)
    return first


def _tree_block_header(
    tree: tree_sitter.Tree, language: str, lines: list[str], row: int
) -> tuple[bool, int, str]:
    """Decide with the tree whether line ``row`` ends a block header; return (opens, row, why)."""
    tokens = _tokens_on_row(tree.root_node, row)
    if not tokens:
        return False, row, "previous line has no code token"
    last = tokens[-1]
    profile = profile_of(language)
    opens = profile.opens_block(last, lines[row]) if profile is not None else last.type == "{"
    if not opens:
        return False, row, f"previous line ends with {last.type!r}, not a block opener"
    return True, _header_row(tokens, row), f"previous line ends with block opener {last.type!r}"


def _text_block_header(lines: list[str], row: int) -> tuple[bool, int, str]:
    """Decide from text alone whether line ``row`` ends a block header (trailing ':' or '{')."""
    stripped = lines[row].rstrip()
    if not stripped.endswith((":", "{")):
        return False, row, "previous line does not end with ':' or '{'"
    return True, wrapped_header_start(lines, row), f"previous line ends with {stripped[-1]!r} (text rule)"


def wrapped_header_start(lines: list[str], row: int) -> int:
    """Return the row that opens the header ending on line ``row``, walking up over a wrapped bracket list.

    A `) {` or `):` on its own line belongs to the line whose `(` it closes.
    """
    depth = 0
    first = row
    for index in range(row, -1, -1):
        for ch in reversed(lines[index]):
            if ch in ")]":
                depth += 1
            elif ch in "([":
                depth -= 1
        first = index
        if depth <= 0:
            break
    return first


def _is_string_delimiter(node: tree_sitter.Node) -> bool:
    return not node.is_named or node.type in ("string_start", "string_end")


def _string_text_after_cursor(tree: tree_sitter.Tree, line_text: str, row: int, column: int) -> str | None:
    """Return the string-literal text after the cursor on its line, or None outside strings."""
    line_bytes = line_text.encode("utf-8")
    col = len(line_text[:column].encode("utf-8"))
    point = tree_sitter.Point(row, col)
    node: tree_sitter.Node | None = tree.root_node.descendant_for_point_range(point, point)
    while node is not None:
        if node.type in _STRING_NODE_TYPES and node.start_point < point < node.end_point:
            break
        node = node.parent
    if node is None:
        return None
    children = node.children
    if not children:
        # e.g. 'c' as one token: the closing delimiter is its last character.
        content_end = tree_sitter.Point(node.end_point.row, max(node.end_point.column - 1, 0))
    else:
        # Skip the closing delimiter tokens (the first child is always kept as the opener).
        index = len(children)
        while index > 1 and _is_string_delimiter(children[index - 1]):
            index -= 1
        if index < len(children):
            content_end = children[index].start_point
        else:
            content_end = children[-1].end_point
    if content_end <= point:
        return ""
    end_col = content_end.column if content_end.row == row else len(line_bytes)
    return line_bytes[col:end_col].decode("utf-8", errors="ignore")


def _tree_for(text: str, language: str, tree: tree_sitter.Tree | None) -> tree_sitter.Tree:
    """Return the given tree, or a fresh parse when none is given or rows would not line up."""
    lone_cr = "\r" in text and text.count("\r") != text.count("\r\n")
    if lone_cr:
        # tree-sitter only breaks rows at "\n"; re-parse with "\n" so rows match LSP lines.
        return parse(language, "\n".join(split_lines(text)))
    return tree if tree is not None else parse(language, text)


def decide_completion_kind(
    text: str,
    line: int,
    character: int,
    language: str | None,
    *,
    tree: tree_sitter.Tree | None = None,
    tree_current: bool = True,
    tab_width: int = 4,
) -> CompletionDecision:
    """Decide NONE / SINGLE_LINE / MULTI_LINE for the cursor at 0-based (line, character).

    ``tree_current`` False: ``tree`` is an older parse edited to this text (its re-parse is pending), so
    a block header the user just typed is not in it: headers are then read from the text.
    """
    lang = language if language in SUPPORTED_LANGUAGES else None
    lines = split_lines(text)
    # The lines around the cursor decide the indentation unit: cheap on huge files, and right for the
    # part of a file being edited when styles are mixed.
    first = max(0, line - _INDENT_SAMPLE_LINES)
    near = lines[first : max(0, line) + _INDENT_SAMPLE_LINES]
    if 0 <= line - first < len(near):
        # The cursor line counts by its indentation and first character only: the sample (and the
        # cached answer) stays the same while the user types on the line.
        current = near[line - first]
        body = current.lstrip(" \t")
        near[line - first] = current[: len(current) - len(body)] + body[:1]
    indent_unit = _indent_unit_cached("\n".join(near), lang)
    if line < 0 or character < 0 or line >= len(lines):
        return _decision(
            CompletionKind.NONE, indent_unit, f"position {line}:{character} is outside the document"
        )
    current = lines[line]
    column = min(character, len(current))
    before, after = current[:column], current[column:]

    if before and after and _is_word_char(before[-1], lang) and _is_word_char(after[0], lang):
        return _decision(CompletionKind.NONE, indent_unit, "cursor inside an identifier")
    if any(not ch.isspace() and ch not in _CLOSERS_AFTER_CURSOR for ch in after):
        return _decision(CompletionKind.NONE, indent_unit, "code after the cursor on this line")

    syntax = _tree_for(text, lang, tree) if lang is not None else None
    if syntax is not None:
        in_string = _string_text_after_cursor(syntax, current, line, column)
        if in_string is not None and in_string.strip():
            return _decision(CompletionKind.NONE, indent_unit, "inside a string, text after it")

    if current.strip():
        return _decision(CompletionKind.SINGLE_LINE, indent_unit, "end of a non-blank line")
    header = previous_code_row(lines, line)
    if header is None:
        return _decision(CompletionKind.SINGLE_LINE, indent_unit, "blank line, no code above")
    if syntax is not None and lang is not None and (tree_current or tree is None):
        header = _opening_row(syntax.root_node, lang, lines, header)
        opens, header_start, why = _tree_block_header(syntax, lang, lines, header)
    else:
        opens, header_start, why = _text_block_header(lines, header)
    if not opens:
        return _decision(CompletionKind.SINGLE_LINE, indent_unit, f"blank line: {why}")

    header_indent = min(indent_width(lines[header], tab_width), indent_width(lines[header_start], tab_width))
    cursor_indent = indent_width(current, tab_width)
    if cursor_indent > header_indent:
        block_indent = cursor_indent
    else:
        block_indent = header_indent + indent_width(indent_unit, tab_width)
    return _decision(CompletionKind.MULTI_LINE, indent_unit, f"first line of a block: {why}", block_indent)
