"""Holes for ``qwen-lsp eval``: pieces of the user's own code that a completion must write back, and scores.

What the user sees: for a given ``--seed`` the same holes in the same files every time, of two kinds.
A **line** hole is the rest of a code line from a column picked at random (a token's start, or strictly
inside a name: ``retu|rn total``), never on a blank line, a comment or a docstring. A **block** hole is the
whole body of a function or method of 2 to 15 lines, with the cursor where an editor puts it after
``def f(...):`` and Enter: on the body's first line, after its indentation. Each completion is scored by
exact match and by edit similarity (1 - Levenshtein distance / the longer length).

Everything here is pure: texts in, holes and scores out.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Literal, TypeVar

import attrs
import tree_sitter

from lsp_server.context.languages import parse
from lsp_server.context.syntax_tree import field_body, indent_of, is_container, syntax_of

HoleKind = Literal["line", "block"]
CutKind = Literal["mid_identifier", "token", "body"]

MIN_REST = 4
"""Non-space characters a line hole must hold at least (a lone ``)`` or ``:`` measures nothing)."""
BLOCK_LINES = (2, 15)
"""Body sizes (lines, inclusive) that make block holes."""
MAX_FILES = 400
"""Files parsed for holes at most (a sample of the project, picked by the seed)."""
_LONE_CR = re.compile(r"\r(?!\n)")
_T = TypeVar("_T")


@attrs.frozen
class SourceFile:
    """A source file of the project: its path (relative, ``/``-separated), text and canonical language."""

    path: str
    text: str
    language: str


@attrs.frozen
class Hole:
    """A piece cut out of a file: ``text[start:end]`` is the truth; the cursor is at ``start``."""

    file: str
    language: str
    kind: HoleKind
    cut: CutKind
    line: int
    """0-based row of the cursor."""
    column: int
    """0-based column of the cursor, in characters (code points)."""
    start: int
    """Character offset of the cursor in the file's text."""
    end: int
    """Character offset where the hole ends."""
    truth: str

    def without(self, text: str) -> str:
        """The file's text with the hole removed (what the editor shows at the request)."""
        return text[: self.start] + text[self.end :]

    def filled(self, text: str, completion: str) -> str:
        """The file's text with ``completion`` in the hole."""
        return text[: self.start] + completion + text[self.end :]

    def utf16_character(self, text: str) -> int:
        """The cursor's column as LSP counts it by default (UTF-16 code units)."""
        line_start = text.rfind("\n", 0, self.start) + 1
        return len(text[line_start : self.start].encode("utf-16-le")) // 2


@attrs.frozen
class _LineSpot:
    """A code line that can make a line hole, and where it may be cut (byte columns)."""

    file: str
    row: int
    tokens: tuple[int, ...]
    """Byte columns of token starts with enough left after them."""
    inside: tuple[int, ...]
    """Byte columns strictly inside names, on character boundaries, with enough left after them."""


@attrs.define
class _Scan:
    """What one pass over a tree finds: leaves by row, rows touched by errors, function definitions."""

    leaves: dict[int, list[tree_sitter.Node]] = attrs.Factory(dict)
    error_rows: set[int] = attrs.Factory(set)
    functions: list[tree_sitter.Node] = attrs.Factory(list)


def _scan(tree: tree_sitter.Tree, language: str, source: bytes) -> _Scan:
    syntax = syntax_of(language)
    hook = syntax.call_definition
    found = _Scan()
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            found.error_rows.update(range(node.start_point.row, node.end_point.row + 1))
            continue
        if node.type in syntax.named_functions:
            called = hook(node, source) if hook is not None else ("", "function")
            if called is not None and called[1] == "function":
                found.functions.append(node)
        if node.child_count == 0:
            if node.end_byte > node.start_byte:
                found.leaves.setdefault(node.start_point.row, []).append(node)
            continue
        stack.extend(reversed(node.children))
    return found


def _in_string(node: tree_sitter.Node) -> bool:
    parent = node.parent
    return "string" in node.type or (parent is not None and "string" in parent.type)


def _is_name(node: tree_sitter.Node) -> bool:
    return "identifier" in node.type or node.type in ("constant", "word")


def _enough_after(line: bytes, column: int) -> bool:
    return len(re.sub(rb"\s", b"", line[column:])) >= MIN_REST


def _line_spot(path: str, row: int, line: bytes, leaves: list[tree_sitter.Node]) -> _LineSpot | None:
    """Where a code line may be cut, or None for a line that is not plain code on its own."""
    code = line.rstrip()
    if not code or leaves[0].start_point.column != indent_of(line.decode("utf-8", errors="replace")):
        return None  # blank, or it continues something that started above (a string, a comment)
    if leaves[-1].end_point.row != row or leaves[-1].end_point.column != len(code):
        return None  # text the tree does not cover, or a token that runs on below
    if any("comment" in leaf.type for leaf in leaves) or all(_in_string(leaf) for leaf in leaves):
        return None  # comments (also after code) and docstrings are not code
    tokens: list[int] = []
    inside: list[int] = []
    for leaf in leaves:
        column = leaf.start_point.column
        opening_quote = _in_string(leaf) and leaf.prev_sibling is None
        if (not _in_string(leaf) or opening_quote) and _enough_after(code, column):
            tokens.append(column)
        if _is_name(leaf) and not _in_string(leaf):
            name = code[column : leaf.end_point.column].decode("utf-8", errors="replace")
            for index in range(1, len(name)):
                cut = column + len(name[:index].encode("utf-8"))
                if _enough_after(code, cut):
                    inside.append(cut)
    if not tokens and not inside:
        return None
    return _LineSpot(path, row, tuple(tokens), tuple(inside))


def _statements(body: tree_sitter.Node, language: str) -> list[tree_sitter.Node]:
    statements = list(body.named_children)
    if len(statements) == 1 and is_container(statements[0], language):
        statements = list(statements[0].named_children)  # Go: block > statement_list
    return statements


def _block_hole(
    source_file: SourceFile, source: bytes, lines: list[bytes], function: tree_sitter.Node
) -> Hole | None:
    """The body of ``function`` as a hole, or None when it is not a 2-15 line body of its own lines."""
    body = field_body(function)
    if body is None or body.has_error:
        return None
    statements = _statements(body, source_file.language)
    if not statements:
        return None
    first, last = statements[0], statements[-1]
    row = first.start_point.row
    if row <= function.start_point.row or row >= len(lines):
        return None  # a one-line definition
    if first.start_point.column != indent_of(lines[row].decode("utf-8", errors="replace")):
        return None
    end = last.end_byte
    while end > first.start_byte and source[end - 1 : end] in (b"\n", b"\r"):
        end -= 1  # a line comment that swallows its newline
    last_row = source.count(b"\n", 0, end)
    if not BLOCK_LINES[0] <= last_row - row + 1 <= BLOCK_LINES[1]:
        return None
    return _hole(source_file, source, "block", "body", first.start_byte, end)


def _hole(
    source_file: SourceFile, source: bytes, kind: HoleKind, cut: CutKind, start_byte: int, end_byte: int
) -> Hole:
    start = len(source[:start_byte].decode("utf-8"))
    end = start + len(source[start_byte:end_byte].decode("utf-8"))
    line_start = source_file.text.rfind("\n", 0, start) + 1
    return Hole(
        file=source_file.path,
        language=source_file.language,
        kind=kind,
        cut=cut,
        line=source_file.text.count("\n", 0, start),
        column=start - line_start,
        start=start,
        end=end,
        truth=source_file.text[start:end],
    )


def candidates(source_file: SourceFile) -> tuple[list[_LineSpot], list[Hole]]:
    """The code lines that can make line holes and every block hole of one file."""
    if _LONE_CR.search(source_file.text):
        return [], []  # old Mac line breaks: editors and tree-sitter would count rows differently
    source = source_file.text.encode("utf-8")
    tree = parse(source_file.language, source_file.text)
    scan = _scan(tree, source_file.language, source)
    lines = [line.rstrip(b"\r") for line in source.split(b"\n")]
    spots = []
    for row in sorted(scan.leaves):
        if row in scan.error_rows or row >= len(lines):
            continue
        spot = _line_spot(source_file.path, row, lines[row], scan.leaves[row])
        if spot is not None:
            spots.append(spot)
    blocks = []
    for function in scan.functions:
        hole = _block_hole(source_file, source, lines, function)
        if hole is not None:
            blocks.append(hole)
    return spots, blocks


def _line_hole(source_file: SourceFile, spot: _LineSpot, rng: random.Random, mid_identifier: bool) -> Hole:
    source = source_file.text.encode("utf-8")
    row_start = 0
    for _ in range(spot.row):
        row_start = source.index(b"\n", row_start) + 1
    row_end = source.find(b"\n", row_start)
    row_end = len(source) if row_end < 0 else row_end
    if source[row_start:row_end].endswith(b"\r"):
        row_end -= 1
    cut: CutKind
    if (mid_identifier and spot.inside) or not spot.tokens:
        cut, column = "mid_identifier", rng.choice(spot.inside)
    else:
        cut, column = "token", rng.choice(spot.tokens)
    return _hole(source_file, source, "line", cut, row_start + column, row_end)


def _spread(rng: random.Random, items: Sequence[_T], count: int, file_of: Callable[[_T], str]) -> list[_T]:
    """``count`` items in a seeded random order, taking from each file in turn (so no file dominates)."""
    shuffled = list(items)
    rng.shuffle(shuffled)
    by_file: dict[str, list[_T]] = {}
    for item in shuffled:
        by_file.setdefault(file_of(item), []).append(item)
    queues = list(by_file.values())
    picked: list[_T] = []
    while len(picked) < count and any(queues):
        for queue in queues:
            if queue and len(picked) < count:
                picked.append(queue.pop(0))
    return picked


def sample_files(paths: Iterable[str], seed: int, limit: int = MAX_FILES) -> list[str]:
    """At most ``limit`` of the paths, picked by the seed, in path order."""
    ordered = sorted(set(paths))
    if len(ordered) > limit:
        ordered = sorted(random.Random(seed).sample(ordered, limit))
    return ordered


def cut_holes(sources: Sequence[SourceFile], count: int, seed: int) -> list[Hole]:
    """``count`` holes (half of each kind when there are enough), the same ones for the same seed."""
    rng = random.Random(seed)
    files = {source.path: source for source in sources}
    spots: list[_LineSpot] = []
    blocks: list[Hole] = []
    for path in sorted(files):
        file_spots, file_blocks = candidates(files[path])
        spots += file_spots
        blocks += file_blocks
    blocks_wanted = count // 2
    chosen_blocks = _spread(rng, blocks, blocks_wanted, _hole_file)
    chosen_spots = _spread(rng, spots, count - len(chosen_blocks), _spot_file)
    if len(chosen_blocks) + len(chosen_spots) < count:  # too few code lines: more bodies instead
        rest = [hole for hole in blocks if hole not in chosen_blocks]
        chosen_blocks += _spread(rng, rest, count - len(chosen_blocks) - len(chosen_spots), _hole_file)
    holes = list(chosen_blocks)
    for index, spot in enumerate(chosen_spots):
        # Every other line hole is cut inside a name, where a completion must finish the word first.
        holes.append(_line_hole(files[spot.file], spot, rng, mid_identifier=index % 2 == 0))
    return sorted(holes, key=lambda hole: (hole.file, hole.start, hole.kind))


def _hole_file(hole: Hole) -> str:
    return hole.file


def _spot_file(spot: _LineSpot) -> str:
    return spot.file


# --- scores ----------------------------------------------------------------------------------------------


def compared_text(kind: HoleKind, text: str) -> str:
    """What exact match compares: a line's first line rstripped; a block's lines rstripped, no blank tail."""
    if kind == "line":
        return text.split("\n", 1)[0].rstrip()
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def exact_match(kind: HoleKind, truth: str, completion: str) -> bool:
    """Whether the completion writes the hole back (trailing whitespace aside)."""
    return compared_text(kind, truth) == compared_text(kind, completion)


def levenshtein(first: str, second: str) -> int:
    """Edit distance in characters (insertions, deletions and substitutions cost 1)."""
    if first == second:
        return 0
    start = 0
    while start < min(len(first), len(second)) and first[start] == second[start]:
        start += 1
    first, second = first[start:], second[start:]
    while first and second and first[-1] == second[-1]:
        first, second = first[:-1], second[:-1]
    if len(first) < len(second):
        first, second = second, first
    previous = list(range(len(second) + 1))
    for index, char in enumerate(first, 1):
        current = [index]
        for other_index, other in enumerate(second, 1):
            current.append(
                min(
                    previous[other_index] + 1,
                    current[other_index - 1] + 1,
                    previous[other_index - 1] + (char != other),
                )
            )
        previous = current
    return previous[-1]


def similarity(first: str, second: str) -> float:
    """1 - Levenshtein distance / the longer length: 1.0 for equal texts, 0.0 for nothing in common."""
    longest = max(len(first), len(second))
    if longest == 0:
        return 1.0
    return 1.0 - levenshtein(first, second) / longest


def edit_similarity(kind: HoleKind, truth: str, completion: str) -> float:
    """The edit similarity of the texts exact match compares."""
    return similarity(compared_text(kind, truth), compared_text(kind, completion))
