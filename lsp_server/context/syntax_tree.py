"""Parse trees of open documents, kept in step with every edit, and the syntax facts context is built from.

What the user sees: completions stay fast on large files, because a keystroke re-parses only the region it
touched (tree-sitter's incremental parsing) instead of the whole file; and the context sent to the model
is cut at statement boundaries, with the imports, enclosing headers and signatures it needs, because the
helpers here read those facts from the tree.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Iterator, Mapping
from typing import AnyStr

import attrs
import tree_sitter

from lsp_server import languages
from lsp_server.context.languages import SUPPORTED_LANGUAGES, detect_language, get_language, profile_of
from lsp_server.document import note_edit
from lsp_server.languages.profile import Syntax
from lsp_server.memory import CacheSize, text_bytes

# ---------------------------------------------------------------------------------------------------------
# Incremental parse trees
# ---------------------------------------------------------------------------------------------------------


@attrs.frozen
class DocumentTree:
    r"""One document's text with its parse tree (rows split at "\n", columns in UTF-8 bytes).

    ``current`` is False while the re-parse of this text is still running: ``tree`` is then the newest
    finished parse, edited (``Tree.edit``) so that its byte ranges and rows match this text. Its
    statements, blocks and definitions are those of the older text, which around a half-typed line is
    what context wants anyway; read node text from ``source`` (the tree has none of its own).
    """

    language: str
    text: str
    source: bytes
    tree: tree_sitter.Tree
    version: int | None
    current: bool = True


@attrs.frozen
class TextEdit:
    """The single changed region between two texts, as tree-sitter's ``Tree.edit`` wants it."""

    start_byte: int
    old_end_byte: int
    new_end_byte: int
    start_point: tuple[int, int]
    old_end_point: tuple[int, int]
    new_end_point: tuple[int, int]


def common_prefix_length(old: AnyStr, new: AnyStr) -> int:
    """Length of the longest common prefix, by bisection over slice comparisons (C speed)."""
    limit = min(len(old), len(new))
    if old[:limit] == new[:limit]:
        return limit
    low, high = 0, limit  # old[:low] == new[:low]; old[:high] != new[:high]
    while high - low > 1:
        middle = (low + high) // 2
        if old[low:middle] == new[low:middle]:
            low = middle
        else:
            high = middle
    return low


def common_suffix_length(old: AnyStr, new: AnyStr, limit: int) -> int:
    """Length of the longest common suffix, at most ``limit`` bytes."""
    old_end, new_end = len(old), len(new)
    if old[old_end - limit :] == new[new_end - limit :]:
        return limit
    low, high = 0, limit
    while high - low > 1:
        middle = (low + high) // 2
        if old[old_end - middle : old_end - low] == new[new_end - middle : new_end - low]:
            low = middle
        else:
            high = middle
    return low


def _is_continuation(byte: int) -> bool:
    return byte & 0xC0 == 0x80


def _point_at(source: bytes, offset: int) -> tuple[int, int]:
    r"""(row, byte column) of a byte offset; rows break at "\n" as tree-sitter counts them."""
    row = source.count(b"\n", 0, offset)
    return row, offset - (source.rfind(b"\n", 0, offset) + 1)


def diff_edit(old: bytes, new: bytes) -> TextEdit | None:
    """The one edit that turns ``old`` into ``new`` (common prefix and suffix kept); None if equal."""
    if old == new:
        return None
    start = common_prefix_length(old, new)
    # Never start an edit inside a multi-byte character: back up to its first byte.
    while start > 0 and start < len(new) and _is_continuation(new[start]):
        start -= 1
    suffix = common_suffix_length(old, new, min(len(old), len(new)) - start)
    old_end, new_end = len(old) - suffix, len(new) - suffix
    # Nor end one there: the shared suffix must begin on a character boundary.
    while old_end < len(old) and _is_continuation(old[old_end]):
        old_end += 1
        new_end += 1
    # Rows are counted once up to the edit, then only across the edited span (a big file's rows add up).
    start_point = _point_at(new, start)
    return TextEdit(
        start_byte=start,
        old_end_byte=old_end,
        new_end_byte=new_end,
        start_point=start_point,
        old_end_point=_point_after(old, start, start_point, old_end),
        new_end_point=_point_after(new, start, start_point, new_end),
    )


def _point_after(source: bytes, start: int, start_point: tuple[int, int], offset: int) -> tuple[int, int]:
    """``_point_at(source, offset)`` given the point of an earlier offset ``start``."""
    rows = source.count(b"\n", start, offset)
    if rows == 0:
        return start_point[0], start_point[1] + offset - start
    return start_point[0] + rows, offset - (source.rfind(b"\n", start, offset) + 1)


def edited_copy(tree: tree_sitter.Tree, old: bytes, new: bytes) -> tree_sitter.Tree:
    """A copy of ``tree`` (the parse of ``old``) edited to describe ``new``, for an incremental parse."""
    return edited_tree(tree, diff_edit(old, new))


def edited_tree(tree: tree_sitter.Tree, edit: TextEdit | None) -> tree_sitter.Tree:
    """A copy of ``tree`` with ``edit`` applied (None: no change)."""
    tree = tree.copy()
    if edit is not None:
        tree.edit(
            edit.start_byte,
            edit.old_end_byte,
            edit.new_end_byte,
            edit.start_point,
            edit.old_end_point,
            edit.new_end_point,
        )
    return tree


_READ_CHUNK = 16_384


class _OverBudget(Exception):
    """A parse stopped at its deadline."""


def _parse_until(
    parser: tree_sitter.Parser, source: bytes, old: tree_sitter.Tree | None, deadline: float
) -> tree_sitter.Tree:
    """Parse, stopping at ``deadline`` (``time.perf_counter``); reset the parser after a stop."""

    def read(offset: int, _point: tuple[int, int]) -> bytes:
        return source[offset : offset + _READ_CHUNK]

    def stop(*_state: object) -> bool:
        return time.perf_counter() > deadline

    try:
        # Only a parse that reads through a callback can be stopped (and resumed).
        return parser.parse(read, old, progress_callback=stop)
    except ValueError as error:  # tree-sitter's "Parsing failed": the callback said stop
        raise _OverBudget from error


@attrs.define
class _Behind:
    """The re-parse of a document that went over a keystroke's budget, to finish when the server is idle."""

    language: str
    text: str
    source: bytes
    sequence: int
    old: tree_sitter.Tree
    row: int | None  # the row of the keystroke whose re-parse went over (None: not one row)


_LOCAL_ROWS = 8


def _local(edit: TextEdit | None) -> bool:
    """Whether an older tree edited by ``edit`` is still a fair picture of the new text.

    ``Tree.edit`` squashes the nodes inside the edited range to nothing: for a keystroke that is the line
    being typed, but an edit spanning many rows (a whole-document sync that changed two places, a paste,
    a formatter) would leave no statements there; such a re-parse runs to the end instead.
    """
    if edit is None:
        return True
    return max(edit.old_end_point[0], edit.new_end_point[0]) - edit.start_point[0] <= _LOCAL_ROWS


def _one_row(edit: TextEdit | None) -> int | None:
    """The row an edit stays on, or None when it spans rows."""
    if edit is None or not edit.start_point[0] == edit.old_end_point[0] == edit.new_end_point[0]:
        return None
    return edit.start_point[0]


def _note_split(previous: DocumentTree, text: str, edit: TextEdit) -> None:
    """Tell the line-split keeper how ``text`` differs from ``previous.text`` (see ``note_edit``)."""
    first_row, last_row_old = edit.start_point[0], edit.old_end_point[0]
    old, source = previous.text, previous.source
    if len(source) != len(old):
        note_edit(old, text, first_row, last_row_old)  # not ASCII: byte offsets are not string offsets
        return
    # ASCII: the edit's byte offsets are string offsets; no summing over the rows above and below it.
    line_break = source.find(b"\n", edit.old_end_byte)
    tail = len(old) - line_break if line_break >= 0 else 0
    note_edit(old, text, first_row, last_row_old, head=edit.start_byte - edit.start_point[1], tail=tail)


class SyntaxTrees:
    """Parse trees of open documents, updated incrementally (tree.edit + reparse) on every change.

    A keystroke's re-parse usually takes well under a millisecond, but in a big file an edit that leaves
    a string or a bracket open makes tree-sitter re-lex everything after it (tens of ms). So on documents
    over ``sync_bytes`` a re-parse gets ``budget_ms``; past it, it stops and the document's tree is the
    newest finished parse edited to the new text (``DocumentTree.current`` False) until ``catch_up``
    re-parses it when the user pauses. An edit spanning more than a few rows since that parse is re-parsed
    to the end (an edited tree has nothing left in the rows it spans). With ``budget_ms=None`` every parse
    runs to the end.
    """

    def __init__(self, budget_ms: float | None = 1.5, sync_bytes: int = 16_384) -> None:
        self._documents: dict[str, DocumentTree] = {}
        self._parsed: dict[str, tuple[int, DocumentTree]] = {}  # newest finished parse per document
        self._parsers: dict[str, tree_sitter.Parser] = {}
        self._lock = threading.RLock()
        self.budget_ms = budget_ms
        self.sync_bytes = sync_bytes
        self.full_parses = 0
        self.incremental_parses = 0
        self.late_parses = 0
        """Re-parses that went over the budget (until they landed, requests used an edited older tree)."""
        self.skipped_parses = 0
        """Late re-parses not even started: the previous one, for an edit on the same row, went over."""
        self._sequence = 0
        self._behind: dict[str, _Behind] = {}

    def _parser(self, language: str) -> tree_sitter.Parser:
        parser = self._parsers.get(language)
        if parser is None:
            # Our own parsers: the cached one in languages.py is shared and not thread-safe.
            parser = tree_sitter.Parser(get_language(language))
            self._parsers[language] = parser
        return parser

    def update(self, uri: str, language: str | None, text: str, version: int | None) -> None:
        """Bring the tree of ``uri`` up to ``text``: an incremental re-parse when a tree exists."""
        with self._lock:
            self._update(uri, language, text, version)

    def _update(self, uri: str, language: str | None, text: str, version: int | None) -> DocumentTree | None:
        canonical = language if language in SUPPORTED_LANGUAGES else detect_language(language, uri)
        if canonical is None:
            self._forget(uri)
            return None
        previous = self._documents.get(uri)
        if previous is not None and previous.language == canonical and previous.text == text:
            if previous.version != version:
                previous = attrs.evolve(previous, version=version)
                self._documents[uri] = previous
            return previous
        source = text.encode("utf-8")
        self._sequence += 1
        behind = self._behind.pop(uri, None)
        parsed = self._parsed.get(uri)
        parser = self._parser(canonical)
        if previous is None or parsed is None or previous.language != canonical:
            tree = parser.parse(source)
            self.full_parses += 1
        else:
            # Edit a copy: DocumentTrees handed out earlier (maybe in use on another thread) keep
            # describing their own text.
            edit = diff_edit(parsed[1].source, source)
            old = edited_tree(parsed[1].tree, edit)
            # The new text's line split is put together from the previous one's (only edited rows change).
            keystroke = edit if parsed[1].source is previous.source else diff_edit(previous.source, source)
            if keystroke is not None:
                _note_split(previous, text, keystroke)
            row = _one_row(keystroke)
            if self.budget_ms is None or len(source) <= self.sync_bytes or not _local(edit):
                tree = parser.parse(source, old)
            else:
                try:
                    if self.budget_ms <= 0:
                        raise _OverBudget  # every re-parse waits for a pause in typing
                    if behind is not None and row is not None and behind.row == row:
                        # The last re-parse went over budget for an edit on this row (a string or bracket
                        # left open re-lexes the rest of the file); this one would too: wait for the pause.
                        self.skipped_parses += 1
                        raise _OverBudget
                    tree = _parse_until(parser, source, old, time.perf_counter() + self.budget_ms / 1000)
                except _OverBudget:
                    parser.reset()
                    self.late_parses += 1
                    self._behind[uri] = _Behind(canonical, text, source, self._sequence, old.copy(), row)
                    stale = DocumentTree(canonical, text, source, old, version, current=False)
                    self._documents[uri] = stale
                    return stale
            self.incremental_parses += 1
        document = DocumentTree(canonical, text, source, tree, version)
        self._documents[uri] = document
        self._parsed[uri] = (self._sequence, document)
        return document

    @property
    def behind(self) -> bool:
        """Whether some document's tree waits for ``catch_up``."""
        return bool(self._behind)

    def catch_up(self) -> bool:
        """Finish the latest over-budget re-parse (for an idle moment); whether more documents wait.

        It runs to the end (tree-sitter can stop a parse and resume it, but a resumed parse of text with
        errors does not always give the tree an uninterrupted one does).
        """
        with self._lock:
            if not self._behind:
                return False
            uri, job = self._behind.popitem()
            tree = self._parser(job.language).parse(job.source, job.old)
            self.incremental_parses += 1
            latest = self._documents.get(uri)
            if latest is not None:
                document = DocumentTree(job.language, job.text, job.source, tree, None)
                self._parsed[uri] = (job.sequence, document)
                if latest.source == job.source:
                    self._documents[uri] = attrs.evolve(document, version=latest.version)
            return bool(self._behind)

    def settle(self) -> None:
        """Finish every pending re-parse now (tests and benchmarks)."""
        while self.catch_up():
            pass

    def get(self, uri: str, text: str) -> DocumentTree | None:
        """The tree for exactly ``text`` (updated first if the stored text differs); None if no grammar.

        The tree may be an edited older parse (``current`` False) until ``catch_up`` re-parses it.
        """
        with self._lock:
            previous = self._documents.get(uri)
            if previous is not None and previous.text == text:
                return previous
            language = previous.language if previous is not None else None
            return self._update(uri, language, text, None)

    def _forget(self, uri: str) -> None:
        self._documents.pop(uri, None)
        self._parsed.pop(uri, None)
        self._behind.pop(uri, None)

    def close(self, uri: str) -> None:
        """Forget the tree of a closed document."""
        with self._lock:
            self._forget(uri)

    def size(self) -> CacheSize:
        """Documents held and the bytes of their texts (x2: str and UTF-8) and trees (estimated).

        tree-sitter does not report a tree's memory; a tree takes roughly as many bytes as its source
        (node records for every token), so the estimate counts the source a second time.
        """
        with self._lock:
            held: dict[int, tuple[str, bytes]] = {}
            for entry in [*self._documents.values(), *(parsed for _, parsed in self._parsed.values())]:
                held[id(entry)] = (entry.text, entry.source)
            for behind in self._behind.values():
                held[id(behind)] = (behind.text, behind.source)
            total = sum(text_bytes(text) + 2 * text_bytes(source) for text, source in held.values())
            return CacheSize(total, len(self._documents))


# ---------------------------------------------------------------------------------------------------------
# Syntax facts read from a tree: containers, enclosing nodes, headers, imports, definitions, identifiers
# ---------------------------------------------------------------------------------------------------------


def syntax_of(language: str | None) -> Syntax:
    """The syntax facts of a language's profile (empty ones for an unknown language)."""
    profile = profile_of(language)
    return profile.syntax if profile is not None else _NO_SYNTAX


_NO_SYNTAX = Syntax(containers=frozenset())


def _union(field: str) -> frozenset[str]:
    """One syntax field over every language (for helpers that see a node but not its language)."""
    return frozenset().union(*(getattr(profile.syntax, field) for profile in languages.profiles().values()))


class _ClassTypes(Mapping[str, frozenset[str]]):
    """Language -> the node types whose members are looked up by name (from the profiles)."""

    def __getitem__(self, language: str) -> frozenset[str]:
        profile = profile_of(language)
        if profile is None:
            raise KeyError(language)
        return profile.syntax.class_types

    def __iter__(self) -> Iterator[str]:
        return iter(languages.profiles())

    def __len__(self) -> int:
        return len(languages.profiles())


CLASS_TYPES: Mapping[str, frozenset[str]] = _ClassTypes()
"""Definitions whose members (methods) are looked up by name from code inside them."""

# Wrappers whose header runs from their own start to the wrapped definition (decorators, `export`,
# `template <...>`): all of it belongs above the definition's own header line.
WRAPPERS = _union("wrappers")
# Children that never start a statement of their own although they begin a line (they label one).
_LABELS = _union("labels")
# Siblings that belong to the statement right below them: a window never starts between the two.
LEADING_SIBLINGS = _union("leading_siblings")
# Top-level nodes whose children are top-level too (include guards, `extern "C" {}`, namespaces).
_TRANSPARENT = _union("transparent")
_REQUIRE = re.compile(r"\brequire\s*[(\"']|@import\s*\(")  # JavaScript, Lua; Zig's @import


def comment_marker(language: str | None) -> str:
    """The line-comment marker of a language (``#``, ``--`` or ``//``)."""
    profile = profile_of(language)
    return profile.comment if profile is not None else "//"


def elision_marker(language: str | None) -> str:
    """What the context's outline writes (indented) for a region of code it leaves out: ``# ...``."""
    return comment_marker(language) + " ..."


def indent_of(line: str) -> int:
    """Number of leading spaces and tabs on a line."""
    return len(line) - len(line.lstrip(" \t"))


def is_container(node: tree_sitter.Node, language: str) -> bool:
    """Whether the node's named children are statements (a block, a body, the module)."""
    return node.type in syntax_of(language).containers


def _is_comment(node: tree_sitter.Node) -> bool:
    return "comment" in node.type


def last_row(node: tree_sitter.Node) -> int:
    """The last row a node covers (a line comment that swallows its newline ends at column 0 below)."""
    row, column = node.end_point
    return row - 1 if column == 0 and row > node.start_point.row else row


def starts_line(node: tree_sitter.Node, lines: list[str]) -> bool:
    """Whether only whitespace precedes the node on its first row."""
    row, column = node.start_point
    return row < len(lines) and column <= indent_of(lines[row])


def is_statement_start(child: tree_sitter.Node, previous: tree_sitter.Node | None, lines: list[str]) -> bool:
    """Whether a container's child begins a line and is not glued to a decorator/attribute above it.

    ``previous`` is the child's previous named sibling (passed in: looking it up is not O(1)).
    """
    if child.type in _LABELS or not starts_line(child, lines):
        return False
    return not (
        previous is not None
        and previous.type in LEADING_SIBLINGS
        and last_row(previous) >= child.start_point.row - 1
    )


def first_content_row(container: tree_sitter.Node, lines: list[str]) -> int:
    """The row of the first statement inside a container (its header, like ``{``, lies above)."""
    for index in range(container.named_child_count):
        child = container.named_child(index)
        if child is not None and child.type not in _LABELS and starts_line(child, lines):
            return child.start_point.row
    return last_row(container) + 1


def _contains(node: tree_sitter.Node, point: tuple[int, int]) -> bool:
    return (
        (node.start_point.row, node.start_point.column)
        <= point
        <= (node.end_point.row, node.end_point.column)
    )


def _ancestors_inclusive(node: tree_sitter.Node | None) -> list[tree_sitter.Node]:
    chain = []
    while node is not None:
        chain.append(node)
        node = node.parent
    return chain


def enclosing_nodes(
    tree: tree_sitter.Tree, lines: list[str], language: str, row: int, column: int
) -> list[tree_sitter.Node]:
    """The nodes the cursor is inside, innermost first, the root last.

    ``column`` is a character index into ``lines[row]``. On a line that is blank up to the cursor the
    syntax tree alone is ambiguous (a Python block ends at its last statement), so the innermost block
    is chosen by indentation among the blocks around the last code above the cursor.
    """
    root = tree.root_node
    line = lines[row] if row < len(lines) else ""
    before = line[:column]
    if before.strip():
        point = (row, len(before.encode("utf-8")))
        node = root.descendant_for_point_range(point, point)
        if node is None or node.parent is None:
            # Past the end of everything (typing at the end of the file, in code with errors): the
            # cursor belongs to what it follows.
            code = before.rstrip()
            point = (row, max(len(code.encode("utf-8")) - 1, 0))
            node = root.descendant_for_point_range(point, point)
        return _ancestors_inclusive(node)
    if line.strip():
        point = (row, indent_of(line))
        return _ancestors_inclusive(root.descendant_for_point_range(point, point))
    width = len(before)
    above = next((r for r in range(min(row, len(lines)) - 1, -1, -1) if lines[r].strip()), None)
    if above is None:
        return [root]
    text = lines[above].rstrip()
    point = (above, max(len(text.encode("utf-8")) - 1, 0))
    cursor = (row, len(before.encode("utf-8")))
    chain = _ancestors_inclusive(root.descendant_for_point_range(point, point))
    profile = profile_of(language)
    indentation_blocks = profile is not None and profile.blocks == "indent"
    for index, node in enumerate(chain):
        if node.parent is None:
            return chain[index:]
        if not is_container(node, language):
            continue
        statement_column = node.start_point.column
        content = first_content_row(node, lines)
        if content < len(lines) and content <= last_row(node):
            statement_column = indent_of(lines[content])
        if indentation_blocks:
            if statement_column <= width:
                return chain[index:]
        elif _contains(node, cursor) or (
            node.parent is not None and _contains(node.parent, cursor) and statement_column <= width
        ):
            return chain[index:]
    return [root]


def header_rows(
    chain: list[tree_sitter.Node], cut_row: int, language: str, lines: list[str]
) -> list[tuple[int, int]]:
    """Row ranges (inclusive) of the headers of the enclosing nodes that start above ``cut_row``.

    A header is a node's own lines before its body: ``def f(a, b):`` (all its lines), ``if (x) {``,
    ``} else {``, ``case 1:``, decorators. Outermost first; ranges that share rows are merged.
    """
    ranges: list[tuple[int, int]] = []
    for index, node in enumerate(chain):
        if node.parent is None or node.start_point.row >= cut_row:
            continue
        start = node.start_point.row
        if is_container(node, language):
            end = first_content_row(node, lines) - 1
        else:
            end = start
            body = next(
                (child for child in node.named_children if is_container(child, language)),
                None,
            )
            if body is not None:
                end = max(start, first_content_row(body, lines) - 1)
            elif node.type in WRAPPERS and index > 0:
                end = max(start, chain[index - 1].start_point.row - 1)
        end = min(end, cut_row - 1)
        while end > start and not lines[end].strip():
            end -= 1  # blank lines between a header and its first statement are not header
        if end >= start:
            ranges.append((start, end))
    ranges.sort()
    merged: list[tuple[int, int]] = []
    for start, end in ranges:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def enclosing_function(
    chain: list[tree_sitter.Node], language: str, source: bytes | None = None
) -> tree_sitter.Node | None:
    """The innermost named function around the cursor, else the outermost anonymous one.

    Where definitions are calls (``call_definition``) a call counts only when it defines a function, which
    takes the document's ``source``.
    """
    syntax = syntax_of(language)
    hook = syntax.call_definition
    anonymous = None
    for node in chain:
        if node.type in syntax.named_functions:
            if hook is None:
                return node
            called = hook(node, source) if source is not None else None
            if called is not None and called[1] == "function":
                return node
        if node.type in syntax.anonymous_functions:
            anonymous = node
    return anonymous


def top_level_nodes(root: tree_sitter.Node) -> list[tree_sitter.Node]:
    """The root's named children, looking through include guards, ``extern "C"`` and namespaces."""
    children = root.named_children
    if not any(node.type in _TRANSPARENT for node in children):
        return children
    found: list[tree_sitter.Node] = []
    stack = list(reversed(children))
    while stack:
        node = stack.pop()
        if node.type in _TRANSPARENT:
            body = node.child_by_field_name("body")
            inner = body.named_children if body is not None else node.named_children
            stack.extend(reversed(inner))
        else:
            found.append(node)
    return found


def _text(node: tree_sitter.Node | None, source: bytes) -> str:
    """The node's text, read from the document's ``source`` ("" for no node).

    Never ``node.text``: a tree edited to a newer text without a re-parse (see ``SyntaxTrees``) has no
    text of its own, but its byte ranges match the newer source.
    """
    if node is None:
        return ""
    return source[node.start_byte : node.end_byte].decode("utf-8", errors="replace")


def import_nodes(root: tree_sitter.Node, language: str, source: bytes) -> list[tree_sitter.Node]:
    """The file's top-level import statements (``require`` assignments too), in order."""
    syntax = syntax_of(language)
    found = []
    for node in top_level_nodes(root):
        if (
            node.type in syntax.imports
            or (
                syntax.require_imports
                and node.type in syntax.declarations
                and node.start_point.row == node.end_point.row
                and _REQUIRE.search(_text(node, source)) is not None
            )
            or (
                syntax.import_commands
                and _text(node.child_by_field_name("name"), source) in syntax.import_commands
            )
        ):
            found.append(node)
    return found


@attrs.frozen
class DefinitionSite:
    """A named function, method or type in a tree: the node itself and its outermost wrapper."""

    name: str
    """Short name: the last component (``Store.get``, ``M:dump``, ``A::m`` -> ``get``, ``dump``, ``m``)."""
    kind: str
    """``function``, ``method`` or ``type``."""
    node: tree_sitter.Node
    anchor: tree_sitter.Node
    """The construct as it stands in its container (decorated, exported, templated, ``type (...)``)."""

    @property
    def start_row(self) -> int:
        """First row of the construct (decorators and ``export`` included)."""
        return self.anchor.start_point.row

    @property
    def end_row(self) -> int:
        """Last row of the construct."""
        return max(last_row(self.node), last_row(self.anchor))


_SHORT_NAME_SEPARATORS = (".", ":")
_FUNCTION_VALUES = frozenset({"arrow_function", "function_expression", "function", "class"})
_NOT_WRAPPED = frozenset({"decorator", "template_parameter_list", "comment"})


@functools.cache
def _defining(language: str) -> frozenset[str]:
    """Nodes that may define something (checked before reading any name; once per language)."""
    syntax = syntax_of(language)
    return syntax.function_kinds | syntax.type_kinds | syntax.declarations | WRAPPERS


def _short(name: str) -> str:
    for separator in _SHORT_NAME_SEPARATORS:
        name = name.rsplit(separator, 1)[-1]
    return name


_DECLARATOR_NAMES = frozenset(
    {"identifier", "field_identifier", "type_identifier", "destructor_name", "operator_name"}
)


def _declarator_name(node: tree_sitter.Node | None, source: bytes) -> str | None:
    """The name inside a C/C++ declarator chain, as written (``*add(int a)`` -> ``add``; ``A::run``)."""
    while node is not None:
        if node.type in _DECLARATOR_NAMES or node.type == "qualified_identifier":
            return _text(node, source) or None
        node = node.child_by_field_name("declarator")
    return None


def _has_function_declarator(node: tree_sitter.Node) -> bool:
    declarator = node.child_by_field_name("declarator")
    while declarator is not None:
        if declarator.type == "function_declarator":
            return True
        declarator = declarator.child_by_field_name("declarator")
    return False


def _function_value(node: tree_sitter.Node, source: bytes) -> tuple[str, tree_sitter.Node] | None:
    """``local f = function() end``: the name on the left when the value is a function."""
    assignment = next((c for c in node.named_children if c.type == "assignment_statement"), None)
    if assignment is None:
        return None
    names = next((c for c in assignment.named_children if c.type == "variable_list"), None)
    values = next((c for c in assignment.named_children if c.type == "expression_list"), None)
    if not names or not values or not names.named_children or not values.named_children:
        return None
    if values.named_children[0].type != "function_definition":
        return None
    return _text(names.named_children[0], source), values.named_children[0]


def defined_name(node: tree_sitter.Node, language: str, source: bytes) -> str | None:
    """The name ``node`` defines, as written (``Store.get``, ``M:dump``, ``A::run``), or None.

    None when it defines nothing (``const x = 1``, ``struct ring *r``). The one naming rule of the
    server: the context's outline and lookups (``definitions_in``) and the code actions' finder
    (``actions.definitions``) both read names here.
    """
    syntax = syntax_of(language)
    kind = node.type
    if syntax.call_definition is not None and kind in syntax.function_kinds | syntax.type_kinds:
        called = syntax.call_definition(node, source)
        return called[0] if called is not None else None
    field = node.child_by_field_name("name")
    if kind in syntax.function_kinds or kind in syntax.type_kinds:
        if syntax.declarators and field is None:
            return _declarator_name(node.child_by_field_name("declarator"), source)
        if syntax.declarators and kind in syntax.type_kinds and node.child_by_field_name("body") is None:
            return None  # `struct ring *r`: a use, not a definition
        return _text(field, source) or None
    if kind == "variable_declarator":  # `const f = () => ...`
        value = node.child_by_field_name("value")
        return _text(field, source) or None if value is not None and value.type in _FUNCTION_VALUES else None
    if kind not in syntax.declarations:
        return None
    if syntax.declarators:  # a prototype: `int add(int a, int b);`
        if not _has_function_declarator(node):
            return None
        return _declarator_name(node.child_by_field_name("declarator"), source)
    found = _function_value(node, source)  # `local f = function() end`
    return found[0] if found is not None else None


def _named(
    node: tree_sitter.Node, language: str, member: bool, source: bytes
) -> tuple[str, str, tree_sitter.Node] | None:
    """(short name, kind, definition node) when ``node`` defines a function, method or type."""
    syntax = syntax_of(language)
    kind_of = node.type
    if syntax.call_definition is not None and kind_of in syntax.function_kinds | syntax.type_kinds:
        called = syntax.call_definition(node, source)  # Elixir: `def f(x) do` is a call
        if called is None:
            return None
        if called[1] == "class":
            return (called[0], "type", node)
        return (_short(called[0]), "method" if member else "function", node)
    if kind_of in syntax.function_kinds:
        name = defined_name(node, language, source)
        method = member or kind_of in syntax.method_kinds
        return (_short(name), "method" if method else "function", node) if name else None
    if kind_of in syntax.type_kinds:
        name = defined_name(node, language, source)
        if name and syntax.declarators and node.child_by_field_name("name") is None:
            name = _short(name)  # a typedef's declarator
        return (name, "type", node) if name else None
    if kind_of not in syntax.declarations:
        return None
    if syntax.declarators:
        name = defined_name(node, language, source)
        return (_short(name), "method" if member else "function", node) if name else None
    found = _function_value(node, source)
    if found is not None:
        return (_short(found[0]), "function", found[1])
    for declarator in node.named_children:
        name = defined_name(declarator, language, source)
        if name:
            return (name, "function", declarator)
    return None


def _unwrapped(node: tree_sitter.Node) -> list[tuple[tree_sitter.Node, tree_sitter.Node]]:
    """(definition candidate, anchor) pairs inside a wrapper: ``@decorator``, ``export``, ``template``."""
    anchor = node
    inner = node
    while inner.type in WRAPPERS:
        if inner.type == "type_declaration":
            specs = [child for child in inner.named_children if child.type == "type_spec"]
            return [(spec, anchor if len(specs) == 1 else spec) for spec in specs]
        wrapped = inner.child_by_field_name("definition") or inner.child_by_field_name("declaration")
        if wrapped is None:
            wrapped = next(
                (child for child in reversed(inner.named_children) if child.type not in _NOT_WRAPPED),
                None,
            )
        if wrapped is None:
            return []
        inner = wrapped
    return [(inner, anchor)]


def definitions_in(
    node: tree_sitter.Node,
    language: str,
    source: bytes,
    *,
    member: bool = False,
    wanted: frozenset[str] | set[str] | None = None,
) -> list[DefinitionSite]:
    """The definitions a top-level (or class-body) node makes, looking through wrappers.

    With ``wanted``, only definitions of those names (the others cost no more than reading a name).
    """
    if node.type not in _defining(language):
        return []
    sites = []
    for inner, anchor in _unwrapped(node):
        named = _named(inner, language, member, source)
        if named is not None and (wanted is None or named[0] in wanted):
            sites.append(DefinitionSite(named[0], named[1], named[2], anchor))
    return sites


_defined_names: dict[tuple[str, bool, bytes], frozenset[str]] = {}
_DEFINED_NAMES_LIMIT = 4_096


def defines_any(
    node: tree_sitter.Node, language: str, source: bytes, wanted: set[str], *, member: bool = False
) -> bool:
    """Whether ``definitions_in(node)`` has one of the ``wanted`` names; the names are kept per node text.

    A request looks for a few names among all the file's definitions; between keystrokes the text of
    nearly every definition is unchanged, so reading their names again is skipped.
    """
    if node.type not in _defining(language):
        return False
    key = (language, member, source[node.start_byte : node.end_byte])
    names = _defined_names.get(key)
    if names is None:
        names = frozenset(site.name for site in definitions_in(node, language, source, member=member))
        if len(_defined_names) >= _DEFINED_NAMES_LIMIT:
            _defined_names.clear()
        _defined_names[key] = names
    return not names.isdisjoint(wanted)


def top_level_definitions(root: tree_sitter.Node, language: str, source: bytes) -> list[DefinitionSite]:
    """Every definition at the top of the file (through include guards and namespaces), in order."""
    return [site for node in top_level_nodes(root) for site in definitions_in(node, language, source)]


_BODIES = _union("bodies")


def field_body(node: tree_sitter.Node) -> tree_sitter.Node | None:
    """The node's ``body`` field, else its body child by type (``Syntax.bodies``).

    A ``function_body`` child stands for its block (None for an ``= expression`` body).
    """
    body = node.child_by_field_name("body")
    if body is not None or not _BODIES:
        return body
    body = next((child for child in node.named_children if child.type in _BODIES), None)
    if body is not None and body.type == "function_body":
        return next((child for child in body.named_children if child.type == "block"), None)
    return body


def class_body(node: tree_sitter.Node) -> tree_sitter.Node | None:
    """The body of a class-like node (its members' container)."""
    return field_body(node)


def member_definitions(node: tree_sitter.Node, language: str, source: bytes) -> list[DefinitionSite]:
    """The methods (and nested types) declared in a class, impl, trait or struct body."""
    body = class_body(node)
    if body is None:
        return []
    return [
        site for child in body.named_children for site in definitions_in(child, language, source, member=True)
    ]


def _body_of(node: tree_sitter.Node) -> tree_sitter.Node | None:
    if node.type == "variable_declarator":
        value = node.child_by_field_name("value")
        return value.child_by_field_name("body") if value is not None else None
    if node.type == "type_spec":
        kind = node.child_by_field_name("type")
        if kind is not None and kind.type == "struct_type":
            return next((c for c in kind.named_children if c.type == "field_declaration_list"), None)
        if kind is not None and kind.type == "interface_type":
            return next((c for c in kind.children if c.type == "{"), None)
        return None
    if node.type == "type_definition":
        kind = node.child_by_field_name("type")
        return kind.child_by_field_name("body") if kind is not None else None
    return field_body(node)


def _line_start_byte(node: tree_sitter.Node) -> int:
    return node.start_byte - node.start_point.column


def _leading_rows(site: DefinitionSite, lines: list[str]) -> int:
    """First row to show for a definition: attributes and a one-line comment directly above it."""
    first = site.anchor.start_point.row
    sibling = site.anchor.prev_named_sibling
    while sibling is not None and sibling.type == "attribute_item" and last_row(sibling) == first - 1:
        first = sibling.start_point.row
        sibling = sibling.prev_named_sibling
    if (
        sibling is not None
        and _is_comment(sibling)
        and sibling.start_point.row == last_row(sibling) == first - 1
        and starts_line(sibling, lines)
    ):
        first = sibling.start_point.row
    return first


def _python_docstring_line(body: tree_sitter.Node, lines: list[str], source: bytes) -> str | None:
    """The first line of a docstring, closed with its quotes when the docstring goes on."""
    first = body.named_children[0] if body.named_children else None
    if first is None or first.type != "expression_statement" or not first.named_children:
        return None
    string = first.named_children[0]
    if string.type != "string" or not string.children:
        return None
    opener = _text(string.children[0], source)
    quote = opener.lstrip("rRuUbBfF") or '"'
    row = string.start_point.row
    text = lines[row].strip() if row < len(lines) else ""
    if string.start_point.row == string.end_point.row:
        return text
    if text == opener and row + 1 < len(lines):
        text = opener + lines[row + 1].strip()  # the summary sits on the line after the quotes
    return text if text.endswith(quote) and len(text) > len(opener) else text + quote


def definition_text(site: DefinitionSite, lines: list[str]) -> str:
    """The whole definition as written (with its decorators and a one-line comment above)."""
    return "\n".join(lines[_leading_rows(site, lines) : site.end_row + 1])


def render_signature(site: DefinitionSite, source: bytes, lines: list[str], language: str) -> str:
    """A definition's header without its body, indented as in the file.

    Python: the ``def``/``class`` line(s), the docstring's first line, then ``...`` (a class: its
    ``__init__`` signature instead, which says how to make one). Brace languages: the header then
    ``{ ... }`` (C/C++ functions: a ``;`` prototype). Lua: the header, ``-- ...``, ``end``. Short types
    (up to 12 lines: struct fields, enums), one-line definitions and Lua functions of up to 3 lines are
    shown whole, and a leading one-line comment (Go's ``// Name ...``, ``///``) and attributes come along.
    """
    first = _leading_rows(site, lines)
    node = site.node
    body = _body_of(node)
    rows = site.end_row - first + 1
    profile = profile_of(language)
    style = profile.signature if profile is not None else "braces"
    short = rows <= 1 or (site.kind == "type" and rows <= 12) or (style == "end" and rows <= 3)
    if body is None or short:
        return "\n".join(lines[first : min(site.end_row, first + 11) + 1])
    head_start = _line_start_byte(site.anchor)
    if first < site.anchor.start_point.row:
        head_start -= sum(
            len(line.encode("utf-8")) + 1 for line in lines[first : site.anchor.start_point.row]
        )
    header = source[head_start : body.start_byte].decode("utf-8", errors="replace").rstrip()
    indent_text = lines[node.start_point.row][: indent_of(lines[node.start_point.row])]
    if style == "docstring":
        content = first_content_row(body, lines)
        if body.start_point.row > node.start_point.row and content < len(lines):
            inner = lines[content][: indent_of(lines[content])]
        else:
            inner = indent_text + "    "
        doc = _python_docstring_line(body, lines, source)
        parts = [header]
        if doc is not None:
            parts.append(inner + doc)
        init = None
        if node.type == "class_definition":
            init = next((m for m in member_definitions(node, language, source) if m.name == "__init__"), None)
        if init is not None:
            parts.append(render_signature(init, source, lines, language))  # how to construct one
        else:
            parts.append(inner + "...")
        return "\n".join(parts)
    if style == "end":
        return f"{header}\n{indent_text}  {comment_marker(language)} ...\n{indent_text}end"
    if style == "prototype" and site.kind != "type":
        return header + ";"
    opener = body.child(0)
    if (opener is not None and opener.type == "{") or body.type == "{":
        return header + " { ... }"
    return header + " ..."


@functools.cache
def _identifier_query(language: str) -> tree_sitter.Query:
    grammar = get_language(language)
    kinds = [
        kind for kind in syntax_of(language).identifiers if grammar.id_for_node_kind(kind, True) is not None
    ]
    pattern = "[" + " ".join(f"({kind})" for kind in kinds) + "] @name"
    return tree_sitter.Query(grammar, pattern)


_last_identifiers: tuple[tree_sitter.Tree, bytes, str, int, int, list[tuple[str, int, int]]] | None = None


def identifiers_in_rows(
    tree: tree_sitter.Tree, source: bytes, language: str, first_row: int, last_row_inclusive: int
) -> list[tuple[str, int, int]]:
    """Identifiers (names, fields, types) in a row range as (name, row, byte column), in source order.

    The last answer is kept: the snippet pick and the context of one request ask for the same rows.
    """
    global _last_identifiers
    last = _last_identifiers
    if (
        last is not None
        and last[0] is tree
        and last[2:5] == (language, first_row, last_row_inclusive)
        and last[1] == source
    ):
        return list(last[5])
    found = _identifiers_in_rows(tree, source, language, first_row, last_row_inclusive)
    _last_identifiers = (tree, source, language, first_row, last_row_inclusive, found)
    return list(found)


def _identifiers_in_rows(
    tree: tree_sitter.Tree, source: bytes, language: str, first_row: int, last_row_inclusive: int
) -> list[tuple[str, int, int]]:
    if last_row_inclusive < first_row:
        return []
    cursor = tree_sitter.QueryCursor(_identifier_query(language))
    cursor.set_point_range((first_row, 0), (last_row_inclusive + 1, 0))
    found = []
    for nodes in cursor.captures(tree.root_node).values():
        for node in nodes:
            row, column = node.start_point
            if first_row <= row <= last_row_inclusive:
                found.append((_text(node, source), row, column))
    found.sort(key=lambda item: (item[1], item[2]))
    return found
