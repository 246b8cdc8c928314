"""What each code action asks the model and how its answer becomes what the user gets.

What the user sees: "Explain" opens a Markdown page named after the symbol; "Generate docstring" adds the
doc in the language's convention; "Fix" replaces only the lines of the diagnostic; "Write tests" opens a
new test file next to the code (an existing file is never overwritten).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

import attrs

from lsp_server.actions.definitions import CodeContext, Definition
from lsp_server.actions.docstring import LineEdit, doc_style
from lsp_server.context.languages import profile_of
from lsp_server.languages.profile import Tests


@attrs.frozen
class Selection:
    """A span of whole lines the user selected (0-based, inclusive) and its text."""

    start_line: int
    end_line: int
    text: str


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + "\n... (truncated)"


def unit_test_framework(language: str) -> str:
    """The usual unit-test framework for a language."""
    profile = profile_of(language)
    return profile.tests.framework if profile is not None else Tests().framework


def template_variables(
    context: CodeContext | None,
    *,
    language: str,
    file_name: str,
    selection: Selection | None = None,
    max_chars: int = 12000,
) -> dict[str, Any]:
    """The variables every action template can use."""
    definition = context.definition if context is not None else None
    enclosing = context.enclosing_class if context is not None else None
    symbol = definition.name if definition is not None else "selection"
    return {
        "language": language,
        "file_name": file_name,
        "symbol": symbol,
        "kind": definition.kind if definition is not None and selection is None else "selection",
        "definition": _clip(definition.text, max_chars) if definition is not None else "",
        "signature": definition.signature if definition is not None else "",
        "enclosing_class": enclosing.signature if enclosing is not None else "",
        "imports": list(context.imports) if context is not None else [],
        "callees": list(context.callee_signatures) if context is not None else [],
        "selection": _clip(selection.text, max_chars) if selection is not None else "",
        "doc_style": doc_style(language),
        "test_framework": unit_test_framework(language),
    }


def explain_markdown(symbol: str, kind: str, file_name: str, line: int, answer: str) -> str:
    """The page shown for an explanation: a title, where the code is, and the model's answer."""
    return f"# `{symbol}`\n\n_{kind} in `{file_name}`, line {line + 1}_\n\n{answer.strip()}\n"


def safe_file_stem(symbol: str) -> str:
    """A file-name-safe version of a symbol (``A::run`` -> ``A__run``)."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", symbol).strip("._")
    return stem[:80] or "selection"


def extract_code(answer: str) -> str:
    """The first fenced code block of an answer, else the answer itself (without a dangling fence)."""
    match = re.search(r"```[^\n]*\n(.*?)(?:\n```|$)", answer, flags=re.DOTALL)
    text = match.group(1) if match else answer
    return text.strip("\n")


def _indent_width(line: str) -> int:
    return len(line) - len(line.lstrip())


def fix_edit(source: str, start_line: int, end_line: int, answer: str) -> LineEdit | str:
    """Replace lines [start_line, end_line] with the model's corrected lines; a reason when it gave none."""
    code = extract_code(answer)
    if not code.strip():
        return "the model proposed no replacement"
    lines = source.split("\n")
    original = lines[start_line : end_line + 1]
    new_lines = code.split("\n")
    want = _indent_width(original[0]) if original else 0
    have = min((_indent_width(line) for line in new_lines if line.strip()), default=0)
    if have < want:
        pad = original[0][: want - have]
        new_lines = [pad + line if line.strip() else line for line in new_lines]
    if new_lines == original:
        return "the model proposed no change"
    return LineEdit(start_line, end_line + 1, "\n".join(new_lines) + "\n")


def context_lines(
    source: str, definition: Definition | None, line: int, end_line: int, radius: int = 10
) -> str:
    """The code around a diagnostic: its enclosing definition, else ``radius`` lines either side."""
    if definition is not None:
        return definition.text
    lines = source.split("\n")
    return "\n".join(lines[max(0, line - radius) : end_line + radius + 1])


def module_name(path: PurePosixPath) -> str:
    """The import name of a source file (``pkg/util.py`` -> ``util``)."""
    return path.stem


def unit_test_file_name(source_path: PurePosixPath, language: str, symbol: str) -> str:
    """The conventional name of a test file for ``symbol`` defined in ``source_path``."""
    stem = source_path.stem
    name = safe_file_stem(symbol.split(".")[-1].split(":")[-1])
    suffix = source_path.suffix or ".txt"
    profile = profile_of(language)
    pattern = profile.tests.file_name if profile is not None else Tests().file_name
    return pattern.format(stem=stem, name=name, Name=name[:1].upper() + name[1:], suffix=suffix)


def unused_path(folder: PurePosixPath, name: str, exists: Callable[[PurePosixPath], bool]) -> PurePosixPath:
    """``folder/name``, or ``name`` with ``_2``, ``_3``... before the extension while that path exists."""
    candidate = folder / name
    stem, dot, ext = name.partition(".")
    number = 2
    while exists(candidate):
        candidate = folder / f"{stem}_{number}{dot}{ext}"
        number += 1
    return candidate
