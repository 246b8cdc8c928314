"""Docstrings and doc comments in each language's convention, placed where that language expects them.

What the user sees: a Python docstring under the ``def``/``class`` line, a JSDoc / Javadoc / Doxygen
``/** ... */`` block, Rust ``///`` lines, Go ``// Name ...`` lines or Lua ``---`` lines above the
definition, replacing the doc the definition already had. Nothing else in the file changes.
"""

from __future__ import annotations

import re

import attrs

from lsp_server.actions.definitions import Definition
from lsp_server.context.languages import profile_of
from lsp_server.languages.profile import Docs

_COMMENT_PREFIX = re.compile(r"^\s*(?:///?|/\*\*+|\*+/?|--+|#+)\s?")
_QUOTES = ('"""', "'''")


@attrs.frozen
class LineEdit:
    """Replace lines [start_line, end_line) with ``new_text`` (an insertion when they are equal)."""

    start_line: int
    end_line: int
    new_text: str


def doc_style(language: str) -> str:
    """The name of the language's doc convention, for prompts."""
    profile = profile_of(language)
    return profile.docs.style if profile is not None else "a doc comment"


def _unfence(text: str) -> str:
    match = re.search(r"```[^\n]*\n(.*?)(?:```|$)", text, flags=re.DOTALL)
    return match.group(1) if match else text


def clean_doc_text(raw: str, definition: Definition, max_lines: int = 20) -> list[str]:
    """The model's answer reduced to plain doc lines: no fences, quotes, comment markers or echoed code."""
    text = _unfence(raw).strip()
    for quote in _QUOTES:
        text = text.replace(quote, "")
    header = definition.signature.split("(", 1)[0].strip()
    lines: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped in ("/**", "*/", "*", "/*"):
            continue
        if header and stripped.startswith(header) and len(lines) > 0:
            break  # the model started echoing the code after the doc
        if header and stripped.startswith(header):
            continue
        cleaned = _COMMENT_PREFIX.sub("", line).rstrip()
        if not cleaned and (not lines or not lines[-1]):
            continue
        lines.append(cleaned.strip() if not lines else cleaned.rstrip())
    while lines and not lines[-1].strip():
        lines.pop()
    return [line.strip() for line in lines[:max_lines]]


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def format_doc(lines: list[str], definition: Definition, indent: str) -> str:
    """The doc block as source text, each line ending in a newline."""
    profile = profile_of(definition.language)
    docs = profile.docs if profile is not None else Docs()
    if docs.placement == "docstring":
        body = [line.replace("\\", "\\\\") for line in lines]
        if len(body) == 1:
            return f'{indent}"""{body[0]}"""\n'
        rest = "".join(f"{indent}{line}\n" if line else "\n" for line in body[1:])
        return f'{indent}"""{body[0]}\n{rest}{indent}"""\n'
    if docs.line_prefix is not None:
        first = lines[0]
        if docs.names_subject:
            name = definition.name.split(".")[-1]
            if not first.startswith(name + " "):
                first = f"{name} {first[:1].lower()}{first[1:]}"
        prefixes = [docs.first_line_prefix or docs.line_prefix] + [docs.line_prefix] * (len(lines) - 1)
        written = zip(prefixes, [first, *lines[1:]], strict=True)
        return "".join(f"{indent}{prefix} {line}".rstrip() + "\n" for prefix, line in written)
    opener, prefix, closer = docs.block
    block = "".join(f"{indent}{prefix}{line}".rstrip() + "\n" for line in lines)
    return f"{indent}{opener}\n{block}{indent}{closer}\n"


def place_doc(source: str, definition: Definition, raw: str) -> LineEdit | str:
    """The edit that adds (or replaces) the definition's doc; a reason string when there is none."""
    lines = clean_doc_text(raw, definition)
    if not lines:
        return "the model produced no documentation text"
    source_lines: list[str] = source.split("\n")
    profile = profile_of(definition.language)
    if profile is not None and profile.docs.placement == "docstring":
        if definition.existing_doc is not None:
            start, end = definition.existing_doc
            indent = _indent_of(source_lines[start])
            return LineEdit(start, end, format_doc(lines, definition, indent))
        if definition.body_line is None:
            return f"'{definition.name}' has its body on the same line; put it on its own line first"
        indent = _indent_of(source_lines[definition.body_line])
        return LineEdit(definition.body_line, definition.body_line, format_doc(lines, definition, indent))
    indent = _indent_of(source_lines[definition.anchor_line])
    if definition.existing_doc is not None:
        start, end = definition.existing_doc
        return LineEdit(start, end, format_doc(lines, definition, indent))
    return LineEdit(definition.anchor_line, definition.anchor_line, format_doc(lines, definition, indent))


def apply_line_edit(source: str, edit: LineEdit) -> str:
    """``source`` with ``edit`` applied (what the editor will show; used by tests and previews)."""
    lines = source.split("\n")
    head = "\n".join(lines[: edit.start_line])
    tail = "\n".join(lines[edit.end_line :])
    return (head + "\n" if edit.start_line else "") + edit.new_text + tail
