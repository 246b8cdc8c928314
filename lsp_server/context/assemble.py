"""The file context a completion prompt is built from: a window around the cursor plus an outline above it.

What the user sees: suggestions that know the code around the cursor even in long files. The model gets
as much code before and after the cursor as the token budget allows, cut at whole statements (never
half a statement, never half a line), and, when the window does not reach the top of the file, a short
outline in front of it: the file's imports, the signatures of the functions, types and methods that the
code near the cursor uses but that lie outside the window, and the headers of the class, function and
blocks the cursor is in, so that names and indentation come out right.

Layout of ``FileContext.prefix``; each elided region is one comment line (``# ...``, ``// ...``,
``-- ...``) indented like the line after it, and blank lines between shown regions are kept::

    import json                                 <- imports above the window, in file order
    from .pricing import round_price
    # ...
    def format_total(items, currency: str):     <- signatures of used top-level definitions
        \"\"\"Sum of all item values.\"\"\"          (the docstring's first line; ``{ ... }``, ``;`` or
        ...                                         ``-- ... end`` in the other languages)
    # ...
    class Inventory:                            <- enclosing headers, outermost first ...
        # ...
        def available(self, sku: str) -> int:   <- ... each followed by the used members it holds
            ...
        # ...
        def report(self, currency: str = "EUR"):
            # ...
            for sku in sorted(self.items):
                # ...
                units = self.available(sku)     <- the prefix window: whole statements, up to the cursor
                lines.append(|

The outline budget goes to the enclosing headers first (innermost first), because without them the
model loses the indentation and the scope it is completing in; then to the imports (those that bind a
name used near the cursor first); then to the signatures (nearest use first). So when it is short,
signatures are dropped first, then imports.

Token counts are taken statement by statement (each character is tokenized once, and far-away text
never), and a segment ending in a whitespace run is charged one token more, because a BPE tokenizer may
split such a run differently once text follows it; so the counts reported are upper bounds of what the
whole text takes. A caller that memoizes ``count_tokens`` (an LRU keyed by text) makes repeated calls
on the same file nearly free: most statements have not changed since the last keystroke.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable, Iterable, Iterator

import attrs
import tree_sitter

from lsp_server.context.languages import SUPPORTED_LANGUAGES
from lsp_server.context.syntax_tree import (
    CLASS_TYPES,
    DefinitionSite,
    class_body,
    defines_any,
    definitions_in,
    elision_marker,
    enclosing_function,
    enclosing_nodes,
    header_rows,
    identifiers_in_rows,
    import_nodes,
    indent_of,
    is_container,
    is_statement_start,
    last_row,
    render_signature,
    top_level_nodes,
)
from lsp_server.document import lines_of

CountTokens = Callable[[str], int]
"""The model's tokenizer, as a count: how many tokens a text takes."""

# A token is assumed to cover at most this many characters: a longer segment is not even counted, it
# cannot fit the tokens left (this only makes a window stop earlier, never go over budget).
_MAX_CHARS_PER_TOKEN = 16
# Identifiers are collected from at most this many rows of the enclosing function on each side.
_FUNCTION_ROWS = 80
# A group of outline candidates is given up after this many that do not fit, or when fewer tokens
# are left than any candidate could use.
_MAX_MISSES = 4
_MIN_ITEM_TOKENS = 4
_WORD = re.compile(r"[A-Za-z_$][\w$]*")
_CLOSERS = ("}", ")", "]", "end", "until")


@attrs.frozen
class ContextBudget:
    """Token budgets of the parts of the file context."""

    prefix_tokens: int = 1536
    """The window before the cursor."""
    suffix_tokens: int = 512
    """The window after the cursor."""
    outline_tokens: int = 384
    """Imports + signatures + enclosing headers in front of the prefix window, elision lines included."""


@attrs.frozen
class ContextPiece:
    """One named part of the file context and its size in the model's tokens."""

    name: str
    """``imports``, ``signatures``, ``enclosing``, ``prefix`` (the window before the cursor) or ``suffix``."""
    text: str
    tokens: int


@attrs.frozen
class FileContext:
    """What the model sees of the current file, before and after the cursor."""

    prefix: str
    """The outline, then the prefix window; it ends exactly at the cursor."""
    suffix: str
    """The suffix window: the rest of the cursor line and whole statements after it."""
    pieces: tuple[ContextPiece, ...]
    """The parts, in the order they first appear. A class member's signature sits under its class's
    header, so a piece's text is not always one contiguous run of ``prefix``; an elision line counts
    with the piece it precedes, the one in front of the window with the piece above it."""
    window_start_line: int
    """First line of the prefix window (0-based)."""
    window_end_line: int
    """Last line of the suffix window (0-based)."""
    outline: tuple[tuple[str, str], ...] = ()
    """The outline as (piece, text) runs, in front of the prefix window (kept by a place that grows)."""


@attrs.frozen
class KeptWindow:
    """A prefix window start and outline to keep when the user has typed on below them."""

    start_row: int
    outline: tuple[tuple[str, str], ...]
    slack: int = 256
    """Tokens the kept window may take beyond the prefix budget before a new start is chosen."""


class _Tokens:
    """``count_tokens`` with a memo for one call, charging a trailing whitespace run one extra token."""

    def __init__(self, count: CountTokens) -> None:
        self._count = count
        self._memo: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        if not text:
            return 0
        cost = self._memo.get(text)
        if cost is None:
            cost = self._count(text)
            if len(text) > 1 and text[-1].isspace() and text[-2].isspace():
                cost += 1  # "\n\n" alone may be one token, and two before the next line's text
            self._memo[text] = cost
        return cost


class _Doc:
    r"""The document split into rows (at "\n", as tree-sitter counts them) around one cursor."""

    def __init__(self, text: str, cursor_offset: int, language: str | None) -> None:
        offset = min(max(cursor_offset, 0), len(text))
        self.text = text
        self.lines = lines_of(text)
        self.row = text.count("\n", 0, offset)
        self.column = offset - (text.rfind("\n", 0, offset) + 1)
        line = self.lines[self.row]
        self.row_start = offset - self.column
        self.row_end = self.row_start + len(line)
        self.before = line[: self.column]
        self.after = line[self.column :]
        self.last = len(self.lines) - 1
        self.marker = elision_marker(language)
        crlf = line.endswith("\r") or (self.row > 0 and self.lines[self.row - 1].endswith("\r"))
        self.eol = "\r\n" if crlf else "\n"

    @functools.cached_property
    def source(self) -> bytes:
        """The document as UTF-8 (the byte offsets of its tree index into it)."""
        return self.text.encode("utf-8")

    def rows_text(self, first: int, last: int) -> str:
        """Rows ``first..last`` inclusive, each with the line break that follows it in the file."""
        rows = self.lines[first : last + 1]
        if not rows:
            return ""
        text = "\n".join(rows)
        return text if last >= self.last else text + "\n"

    def prefix_window(self, start: int) -> str:
        """The text from the start of row ``start`` to the cursor."""
        return self.rows_text(start, self.row - 1) + self.before

    def rest_of_line(self) -> str:
        """The cursor line after the cursor, with its line break."""
        return self.after + ("\n" if self.row < self.last else "")

    def suffix_window(self, end: int) -> str:
        """The text from the cursor to the end of row ``end`` (its line break included)."""
        return self.rest_of_line() + self.rows_text(self.row + 1, end)

    def elision(self, indent: str) -> str:
        """The one line that stands for an elided region."""
        return f"{indent}{self.marker}{self.eol}"


# --- The windows ---------------------------------------------------------------------------------------


def _grow(
    doc: _Doc,
    candidates: Iterable[int],
    rows_added: Callable[[int, int], tuple[int, int]],
    base: int,
    budget: int,
    tokens: _Tokens,
) -> tuple[int, int] | None:
    """Take candidate boundaries, nearest first, while the text they add fits.

    ``rows_added(previous, candidate)`` names the rows a candidate adds to the window. Returns the last
    boundary taken and the window's tokens, or None when not even the first one fits.
    """
    used = base
    taken: tuple[int, int] | None = None
    previous = doc.row
    for candidate in candidates:
        first, last = rows_added(previous, candidate)
        left = budget - used
        text = doc.rows_text(first, last)
        if left < 0 or len(text) > left * _MAX_CHARS_PER_TOKEN:
            break
        cost = tokens(text)
        if cost > left:
            break
        used += cost
        taken = (candidate, used)
        previous = candidate
    return taken


def _innermost_container(chain: list[tree_sitter.Node], language: str) -> tree_sitter.Node | None:
    return next((node for node in chain if is_container(node, language)), None)


def _prefix_candidates(chain: list[tree_sitter.Node], doc: _Doc, language: str) -> Iterator[int]:
    """Rows where the prefix window may start, nearest first (lazily: only as many as the budget takes).

    The starts of the statements of each enclosing container that begin above the cursor: those of the
    innermost container first, then those of the next one out, and so on up to the module.
    """
    previous_row = doc.row + 1
    for node in chain:
        if not is_container(node, language):
            continue
        children = node.named_children
        index = bisect.bisect_right([child.start_point.row for child in children], doc.row)
        for position in range(index - 1, -1, -1):
            child = children[position]
            row = child.start_point.row
            before = children[position - 1] if position else None
            if row < previous_row and is_statement_start(child, before, doc.lines):
                previous_row = row
                yield row


def _suffix_candidates(chain: list[tree_sitter.Node], doc: _Doc, language: str) -> Iterator[int]:
    """Rows where the suffix window may end, below the cursor row, nearest first (lazily)."""
    previous_row = doc.row
    for node in chain:
        if not is_container(node, language):
            continue
        children = node.named_children
        index = bisect.bisect_left([last_row(child) for child in children], doc.row)
        for position in range(index, len(children)):
            child = children[position]
            end = last_row(child)
            if end <= previous_row:
                continue
            following = children[position + 1] if position + 1 < len(children) else None
            if following is not None and following.start_point.row == end and last_row(following) > end:
                continue  # another statement goes on from the same line
            previous_row = end
            yield end


def _cursor_row_starts(chain: list[tree_sitter.Node], doc: _Doc, language: str) -> bool:
    """Whether a window may start at the cursor row: no statement runs into it from above."""
    innermost = _innermost_container(chain, language)
    return innermost is not None and not any(
        child.start_point.row < doc.row <= last_row(child) for child in innermost.named_children
    )


def _cursor_row_ends(chain: list[tree_sitter.Node], doc: _Doc, language: str) -> bool:
    """Whether a window may end at the cursor row: no statement goes on below it."""
    innermost = _innermost_container(chain, language)
    return innermost is not None and not any(
        child.start_point.row <= doc.row < last_row(child) for child in innermost.named_children
    )


def _choose_start(
    doc: _Doc, chain: list[tree_sitter.Node], language: str, tokens: _Tokens, budget: int
) -> tuple[int, int]:
    """The farthest start row whose window fits, and the window's tokens.

    The text before the cursor on its line is always kept. Whole lines are taken only when the cursor
    is inside a statement that is over budget by itself (any start would cut it), or when ``chain``
    (the nodes around the cursor) is empty: no syntax tree.
    """
    base = tokens(doc.before)

    def rows_added(previous: int, candidate: int) -> tuple[int, int]:
        return candidate, previous - 1

    taken = _grow(doc, _prefix_candidates(chain, doc, language), rows_added, base, budget, tokens)
    if taken is None and not _cursor_row_starts(chain, doc, language):
        taken = _grow(doc, range(doc.row - 1, -1, -1), rows_added, base, budget, tokens)
    return taken if taken is not None else (doc.row, base)


def _choose_end(
    doc: _Doc, chain: list[tree_sitter.Node], language: str, tokens: _Tokens, budget: int
) -> tuple[int | None, int]:
    """The farthest end row whose suffix window fits, and its tokens.

    The rest of the cursor line is kept when it fits; None when it does not (then no suffix at all).
    Whole lines as in ``_choose_start``.
    """
    base = tokens(doc.rest_of_line())
    if base > budget:
        return None, 0

    def rows_added(previous: int, candidate: int) -> tuple[int, int]:
        return previous + 1, candidate

    taken = _grow(doc, _suffix_candidates(chain, doc, language), rows_added, base, budget, tokens)
    if taken is None and not _cursor_row_ends(chain, doc, language):
        taken = _grow(doc, range(doc.row + 1, len(doc.lines)), rows_added, base, budget, tokens)
    return taken if taken is not None else (doc.row, base)


# --- The outline ---------------------------------------------------------------------------------------


@attrs.frozen
class _Block:
    """Lines of the outline: the source rows they stand for and the text shown."""

    piece: str
    first_row: int
    last_row: int
    text: str


@attrs.frozen
class _Item:
    """An outline candidate: its block and, for a member, the header block it must sit under."""

    block: _Block
    owner: int | None = None
    """The first row of the header block this signature goes under (None: right after the imports)."""


def _referenced_names(
    tree: tree_sitter.Tree, language: str, chain: list[tree_sitter.Node], doc: _Doc, start: int, end: int
) -> list[str]:
    """Names used in the enclosing function and the suffix window, nearest to the cursor first."""
    function = enclosing_function(chain, language, doc.source)
    if function is not None:
        first = max(function.start_point.row, doc.row - _FUNCTION_ROWS)
        last = min(last_row(function), doc.row + _FUNCTION_ROWS)
    else:
        first, last = start, doc.row
    found = identifiers_in_rows(tree, doc.source, language, first, last)
    if end > last:
        found += identifiers_in_rows(tree, doc.source, language, max(last + 1, doc.row), end)
    found.sort(key=lambda item: (abs(item[1] - doc.row), item[1] > doc.row))
    return list(dict.fromkeys(name for name, _, _ in found))


def _owner_header(
    site: DefinitionSite, chain: list[tree_sitter.Node], language: str, headers: list[tuple[int, int]]
) -> tuple[bool, int | None]:
    """Where a signature goes: under the header of the innermost enclosing node that holds it.

    (True, None): right after the imports (top level); (True, row): under the header block starting at
    ``row`` (a method under its class, a C++ function under ``namespace x {``); (False, None): nowhere,
    its class header is not in the outline.
    """
    for node in chain:
        if is_container(node, language) and node.parent is not None:
            continue
        if node.start_byte <= site.anchor.start_byte and site.anchor.end_byte <= node.end_byte:
            if node.parent is None:
                return True, None
            row = node.start_point.row
            owner = next((first for first, last in headers if first <= row <= last), None)
            return owner is not None, owner
    return True, None


def _signature_items(
    doc: _Doc,
    tree: tree_sitter.Tree,
    language: str,
    chain: list[tree_sitter.Node],
    headers: list[tuple[int, int]],
    names: list[str],
    window: tuple[int, int],
) -> Iterator[_Item]:
    """Signatures of the definitions named near the cursor that lie outside both windows.

    Nearest use first, and lazily: rendered only while the budget may still take them. Top-level
    definitions and the members of the enclosing classes are looked up by short name.
    """
    start, end = window
    wanted = set(names)
    by_name: dict[str, list[DefinitionSite]] = {}
    for node in top_level_nodes(tree.root_node) if wanted else []:
        if node.start_point.row <= end and last_row(node) >= start:
            continue  # in the window, or around the cursor
        if defines_any(node, language, doc.source, wanted):
            for site in definitions_in(node, language, doc.source, wanted=wanted):
                by_name.setdefault(site.name, []).append(site)
    for node in chain if wanted else []:
        if node.type in CLASS_TYPES.get(language, frozenset()) and node.start_point.row < start:
            body = class_body(node)
            for child in body.named_children if body is not None else []:
                if not defines_any(child, language, doc.source, wanted, member=True):
                    continue
                for site in definitions_in(child, language, doc.source, member=True, wanted=wanted):
                    if not (site.start_row <= end and site.end_row >= start):
                        by_name.setdefault(site.name, []).append(site)
    if not by_name:
        return
    seen: set[str] = set()
    for name in names:
        for site in by_name.get(name, ()):
            text = render_signature(site, doc.source, doc.lines, language)
            if text in seen:
                continue  # a prototype and its definition read the same
            seen.add(text)
            placed, owner = _owner_header(site, chain, language, headers)
            if placed:
                yield _Item(_Block("signatures", site.start_row, site.end_row, text + doc.eol), owner)


def _import_items(
    doc: _Doc, tree: tree_sitter.Tree, language: str, start: int, names: list[str]
) -> list[_Item]:
    """The imports above the window: those that bind a name used near the cursor first."""
    items = []
    for node in import_nodes(tree.root_node, language, doc.source):
        first, last = node.start_point.row, last_row(node)
        if last < start:
            items.append(_Item(_Block("imports", first, last, doc.rows_text(first, last))))
    wanted = set(names)
    used = [item for item in items if wanted.intersection(_WORD.findall(item.block.text))]
    return used + [item for item in items if item not in used]


def _indent_text(text: str) -> str:
    for line in text.split("\n"):
        if line.strip():
            return line[: indent_of(line)]
    return ""


def _gap(doc: _Doc, previous_last: int | None, first: int, next_text: str) -> str:
    """What goes between two shown regions: nothing, the blank lines between them, or an elision line.

    The elision line is indented like the first line it stands for (``if (a) {`` / ``  // ...`` /
    ``} else {``), or like the line after it when the regions are out of file order.
    """
    if previous_last is None or first == previous_last + 1:
        return ""
    if previous_last + 1 < first <= previous_last + 3 and not any(
        doc.lines[row].strip() for row in range(previous_last + 1, first)
    ):
        return doc.rows_text(previous_last + 1, first - 1)
    elided = next((doc.lines[row] for row in range(previous_last + 1, first) if doc.lines[row].strip()), "")
    if not elided or elided.lstrip().startswith(_CLOSERS):
        return doc.elision(_indent_text(next_text))
    return doc.elision(elided[: indent_of(elided)])


def _layout(items: list[_Item], headers: list[tuple[int, int]]) -> list[_Block]:
    """Imports, top-level signatures, then each enclosing header with the signatures it holds under it."""

    def in_order(blocks: Iterable[_Block]) -> list[_Block]:
        return sorted(blocks, key=lambda block: block.first_row)

    blocks = in_order(item.block for item in items if item.block.piece == "imports")
    blocks += in_order(
        item.block for item in items if item.block.piece == "signatures" and item.owner is None
    )
    chosen = {item.block.first_row: item.block for item in items if item.block.piece == "enclosing"}
    for first, _ in headers:
        header = chosen.get(first)
        if header is not None:
            blocks.append(header)
            blocks += in_order(item.block for item in items if item.owner == first)
    return blocks


def _render(doc: _Doc, blocks: list[_Block], window_start: int) -> list[tuple[str, str]]:
    """The outline as (piece, text) runs; the gap in front of a block is counted with that block."""
    runs: list[tuple[str, str]] = []
    previous: int | None = None
    for block in blocks:
        runs.append((block.piece, _gap(doc, previous, block.first_row, block.text)))
        runs.append((block.piece, block.text))
        previous = block.last_row
    if runs:
        shown = doc.rows_text(window_start, doc.row - 1)
        window_text = shown if shown.strip() else doc.before + "x"
        runs.append((runs[-1][0], _gap(doc, previous, window_start, window_text)))
    return [(piece, text) for piece, text in runs if text]


def _select_outline(
    doc: _Doc,
    groups: Iterable[Iterable[_Item]],
    headers: list[tuple[int, int]],
    start: int,
    tokens: _Tokens,
    budget: int,
) -> list[tuple[str, str]]:
    """Fill the outline budget group by group, most important first; then make sure the layout fits."""
    selected: list[_Item] = []
    used = 0
    for group in groups:
        misses = 0
        for item in group:
            if budget - used < _MIN_ITEM_TOKENS or misses >= _MAX_MISSES:
                break
            chosen_headers = {
                chosen.block.first_row for chosen in selected if chosen.block.piece == "enclosing"
            }
            if item.owner is not None and item.owner not in chosen_headers:
                continue  # its class header did not fit: it would have nowhere to go
            block = item.block
            cost = tokens(block.text)
            if not any(
                chosen.block.last_row + 1 == block.first_row or block.last_row + 1 == chosen.block.first_row
                for chosen in selected
            ):
                cost += tokens(doc.elision(_indent_text(block.text)))  # it may need one in front
            if used + cost > budget:
                misses += 1
                continue
            used += cost
            selected.append(item)
    while selected:
        runs = _render(doc, _layout(selected, headers), start)
        if sum(tokens(text) for _, text in runs) <= budget:
            return runs
        dropped = selected.pop()  # the last one chosen is the least important
        selected = [item for item in selected if item.owner != dropped.block.first_row]
    return []


# --- Putting it together -------------------------------------------------------------------------------


def _finish(
    doc: _Doc,
    runs: list[tuple[str, str]],
    start: tuple[int, int],
    end: tuple[int | None, int],
    tokens: _Tokens,
    after: _Doc | None = None,
) -> FileContext:
    """Assemble the result; ``start`` and ``end`` are (row, tokens) of the two windows.

    ``after``: the document at the cursor when the prefix side (``doc``) ends earlier, at a region start.
    """
    start_row, prefix_tokens = start
    end_row, suffix_tokens = end
    after = after or doc
    window = doc.prefix_window(start_row)
    suffix = after.suffix_window(end_row) if end_row is not None else ""
    pieces: dict[str, tuple[list[str], int]] = {}
    for piece, text in runs:
        parts, total = pieces.get(piece, ([], 0))
        parts.append(text)
        pieces[piece] = (parts, total + tokens(text))
    return FileContext(
        prefix="".join(text for _, text in runs) + window,
        suffix=suffix,
        pieces=(
            *(ContextPiece(name, "".join(parts), total) for name, (parts, total) in pieces.items()),
            ContextPiece("prefix", window, prefix_tokens),
            ContextPiece("suffix", suffix, suffix_tokens),
        ),
        window_start_line=start_row,
        window_end_line=end_row if end_row is not None else after.row,
        outline=tuple(runs),
    )


def assemble_file_context(
    doc_text: str,
    tree: tree_sitter.Tree | None,
    language: str | None,
    cursor_offset: int,
    count_tokens: CountTokens,
    budget: ContextBudget,
    *,
    source: bytes | None = None,
    region_start: int | None = None,
    keep: KeptWindow | None = None,
) -> FileContext:
    """The prefix (outline + window, ending at the cursor) and the suffix window at one cursor offset.

    ``source``: ``doc_text`` as UTF-8 when the caller has it (the tree's keeper does). ``region_start``
    (an offset at or before the cursor): the prefix ends there instead, and the text from there to the
    cursor is left to the caller (the region typed in this place); the suffix still starts at the cursor.
    ``keep``: a window start and outline to keep when they still fit (the place grew out of one).
    """
    tokens = _Tokens(count_tokens)
    after = _Doc(doc_text, cursor_offset, language)
    doc = after if region_start is None else _Doc(doc_text, min(region_start, cursor_offset), language)
    if (
        tree is None
        or language is None
        or language not in SUPPORTED_LANGUAGES
        or tree.root_node.end_point.row > doc.last
    ):
        # No grammar (or a tree of some other text): no nodes around the cursor, whole lines, no outline.
        start = _kept_start(doc, keep, tokens, budget) or _choose_start(
            doc, [], "", tokens, budget.prefix_tokens
        )
        end = _choose_end(after, [], "", tokens, budget.suffix_tokens)
        return _finish(doc, [], start, end, tokens, after)
    if source is not None:
        after.source = source
    if doc is not after:
        doc.source = after.source
    chain = enclosing_nodes(tree, after.lines, language, after.row, after.column)
    kept_start = _kept_start(doc, keep, tokens, budget)
    start = kept_start or _choose_start(doc, chain, language, tokens, budget.prefix_tokens)
    end = _choose_end(after, chain, language, tokens, budget.suffix_tokens)
    runs: list[tuple[str, str]] = []
    if start[0] > 0 and budget.outline_tokens > 0:
        window = (start[0], end[0] if end[0] is not None else after.row)
        if kept_start is not None and keep is not None:
            runs = list(keep.outline)
        elif region_start is not None:  # the place keeps what is built here: no memo needed
            runs = _outline(doc, tree, language, chain, window, tokens, budget.outline_tokens)
        else:
            lead = doc.before[: len(doc.before) - len(doc.before.lstrip())]  # an elision line may copy it
            key = (count_tokens, language, budget.outline_tokens, window, doc.row, lead)
            kept = _kept_outline(doc, key)
            if kept is None:
                kept = _outline(doc, tree, language, chain, window, tokens, budget.outline_tokens)
                _keep_outline(doc, key, kept)
            runs = kept
    return _finish(doc, runs, start, end, tokens, after)


def _kept_start(
    doc: _Doc, keep: KeptWindow | None, tokens: _Tokens, budget: ContextBudget
) -> tuple[int, int] | None:
    """The kept window start (row, tokens) when the window from it to the cursor still fits."""
    if keep is None or keep.start_row > doc.row:
        return None
    text = doc.prefix_window(keep.start_row)
    limit = budget.prefix_tokens + keep.slack
    if len(text) > limit * _MAX_CHARS_PER_TOKEN:
        return None
    cost = tokens(text)
    return (keep.start_row, cost) if cost <= limit else None


def _outline(
    doc: _Doc,
    tree: tree_sitter.Tree,
    language: str,
    chain: list[tree_sitter.Node],
    window: tuple[int, int],
    tokens: _Tokens,
    budget: int,
) -> list[tuple[str, str]]:
    headers = header_rows(chain, window[0], language, doc.lines)
    names = _referenced_names(tree, language, chain, doc, *window)
    enclosing = [
        _Item(_Block("enclosing", first, last, doc.rows_text(first, last)))
        for first, last in reversed(headers)
    ]
    imports = _import_items(doc, tree, language, window[0], names)
    signatures = _signature_items(doc, tree, language, chain, headers, names, window)
    return _select_outline(doc, (enclosing, imports, signatures), headers, window[0], tokens, budget)


@attrs.frozen
class _KeptOutline:
    """The last outline, with the text around the row it was made for."""

    key: tuple[object, ...]
    head: str  # the text before the cursor row
    tail: str  # the text after it
    runs: tuple[tuple[str, str], ...]


# While the user types on one line (the rest of the file and both windows unchanged) the outline is kept,
# like the snippet pick: its names come from the lines around the cursor, and a stable outline keeps the
# prompt's front (and the model's cache of it) the same from one keystroke to the next.
_last_outline: _KeptOutline | None = None


def _kept_outline(doc: _Doc, key: tuple[object, ...]) -> list[tuple[str, str]] | None:
    last = _last_outline
    if (
        last is None
        or last.key != key
        or len(last.head) != doc.row_start
        or len(last.tail) != len(doc.text) - doc.row_end
        or not doc.text.startswith(last.head)
        or not doc.text.endswith(last.tail)
    ):
        return None
    return list(last.runs)


def _keep_outline(doc: _Doc, key: tuple[object, ...], runs: list[tuple[str, str]]) -> None:
    global _last_outline
    _last_outline = _KeptOutline(key, doc.text[: doc.row_start], doc.text[doc.row_end :], tuple(runs))
