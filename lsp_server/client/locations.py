"""Where a headless request points: ``FILE:LINE:COL`` as editors and compilers print it, as an LSP position.

What the user sees: 1-based lines and columns (columns count characters, so ``é`` is one column), checked
against the file with a message that says what is wrong; the LSP request gets 0-based UTF-16 positions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import attrs
import tree_sitter

from lsp_server.context.languages import detect_language, parse, profile_of

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class LocationError(Exception):
    """A ``FILE:LINE:COL`` argument that does not point into a readable text file; the message says why."""


@attrs.frozen
class SourceLocation:
    """A text file, its contents and a 0-based LSP position (UTF-16 character offset) inside it."""

    path: Path
    text: str
    line: int
    character: int
    column: int

    @property
    def uri(self) -> str:
        """The ``file://`` URI of the file."""
        return self.path.resolve().as_uri()

    @property
    def language_id(self) -> str:
        """The LSP languageId an editor would send for this file."""
        return language_id_for(self.path)


def language_id_for(path: Path) -> str:
    """The LSP languageId for a file name (``plaintext`` when the language is unknown)."""
    language = detect_language(None, str(path))
    if language is None:
        return "plaintext"
    profile = profile_of(language)
    return profile.language_ids[0] if profile is not None else language  # the id editors send


def _split_spec(spec: str, parts: int) -> tuple[str, list[int]]:
    """Split ``FILE:N[:M]`` from the right (file names may contain colons); ``parts`` numbers at most."""
    pieces = spec.split(":")
    numbers: list[int] = []
    while len(pieces) > 1 and len(numbers) < parts and re.fullmatch(r"-?\d+", pieces[-1]):
        numbers.insert(0, int(pieces.pop()))
    return ":".join(pieces), numbers


def read_text(path: Path) -> str:
    """Read a UTF-8 text file, or raise LocationError saying why it cannot be used."""
    if not path.exists():
        raise LocationError(f"{path}: no such file")
    if not path.is_file():
        raise LocationError(f"{path}: not a regular file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LocationError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise LocationError(f"{path}: not a UTF-8 text file") from None


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _leaves_on_line(node: tree_sitter.Node, line: int) -> Iterator[tree_sitter.Node]:
    """The syntax tree's leaves that start on ``line``, in document order."""
    if node.start_point[0] > line or node.end_point[0] < line:
        return
    if node.child_count == 0:
        if node.start_point[0] == line:
            yield node
        return
    for child in node.children:
        yield from _leaves_on_line(child, line)


def first_name_column(path: Path, text: str, line: int, line_text: str) -> int:
    """The 1-based column of a line's first name (``add`` in ``def add(a, b):``), else its first non-blank."""
    language = detect_language(None, str(path))
    if language is not None:
        tree = parse(language, text)
        for leaf in _leaves_on_line(tree.root_node, line):
            if leaf.type.endswith("identifier"):
                before = line_text.encode("utf-8")[: leaf.start_point[1]]
                return len(before.decode("utf-8", errors="ignore")) + 1
    return len(line_text) - len(line_text.lstrip()) + 1


def locate(spec: str, *, column_required: bool = True) -> SourceLocation:
    """Parse ``FILE:LINE:COL`` (``FILE:LINE`` too when the column is optional); check it against the file."""
    file_part, numbers = _split_spec(spec, 2)
    wanted = "FILE:LINE:COL" if column_required else "FILE:LINE or FILE:LINE:COL"
    if not file_part or not numbers or (column_required and len(numbers) < 2):
        raise LocationError(f"'{spec}' is not {wanted} (1-based line and column, e.g. app.py:12:5)")
    path = Path(file_part).expanduser()
    text = read_text(path)
    lines = _LINE_BREAK.split(text)
    line_number = numbers[0]
    if not 1 <= line_number <= len(lines):
        raise LocationError(f"{spec}: line {line_number} is outside the file, which has {len(lines)} lines")
    line_text = lines[line_number - 1]
    if len(numbers) == 2:
        column = numbers[1]
        if not 1 <= column <= len(line_text) + 1:
            raise LocationError(
                f"{spec}: column {column} is outside line {line_number}, "
                f"which has {len(line_text)} characters (the end of the line is column {len(line_text) + 1})"
            )
    else:
        column = first_name_column(path, text, line_number - 1, line_text)
    return SourceLocation(
        path=path,
        text=text,
        line=line_number - 1,
        character=_utf16_units(line_text[: column - 1]),
        column=column,
    )


def locate_file(spec: str) -> SourceLocation:
    """A whole file (``FILE``, or ``FILE:LINE[:COL]`` with the numbers ignored), positioned at its start."""
    file_part, _numbers = _split_spec(spec, 2)
    path = Path(file_part).expanduser()
    return SourceLocation(path=path, text=read_text(path), line=0, character=0, column=1)
