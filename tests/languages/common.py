"""Shared checks for the per-language tests in this folder (one ``test_<language>.py`` each).

The real source files the tests read live in ``data/<language>/`` with a ``SOURCE.md`` saying where each
came from (repository, path, commit or version, license).
"""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from lsp_server.context.completion_kind import detect_indent_unit
from lsp_server.context.languages import detect_language
from lsp_server.postprocess.syntax import PostprocessContext, make_parse_guard
from tests.conftest import inline_completion, items_of, lsp_session, open_document
from tests.test_e2e_actions import action_capabilities, execute, private_dirs

DATA = Path(__file__).resolve().parent / "data"


def real_source(language: str, name: str) -> str:
    """A real file from ``data/<language>/<name>`` (its origin is in that folder's SOURCE.md)."""
    return (DATA / language / name).read_text(encoding="utf-8")


def offset_of(text: str, line: int, character: int) -> int:
    """The string index of an LSP position (these files are BMP-only: UTF-16 = code points)."""
    lines = text.split("\n")
    return sum(len(row) + 1 for row in lines[:line]) + character


def position_after(text: str, marker: str, occurrence: int = 1) -> tuple[int, int]:
    """The LSP position right after the ``occurrence``-th ``marker`` in ``text``."""
    index = -1
    for _ in range(occurrence):
        index = text.index(marker, index + 1)
    end = index + len(marker)
    line = text.count("\n", 0, end)
    return line, end - (text.rfind("\n", 0, end) + 1)


def row_of(text: str, needle: str, occurrence: int | None = None) -> int:
    """The row of the line of ``text`` containing ``needle``: the only one, or the ``occurrence``-th."""
    rows = [row for row, line in enumerate(text.split("\n")) if needle in line]
    if occurrence is None:
        assert len(rows) == 1, (needle, rows)
        return rows[0]
    return rows[occurrence - 1]


def cut_body(text: str, header: str, body_lines: int) -> tuple[str, tuple[int, int]]:
    """Replace the ``body_lines`` lines after the line ``header`` with one indented empty line (the user
    starts writing the body); return the text and the cursor on that line."""
    lines = text.split("\n")
    row = next(index for index, line in enumerate(lines) if line.strip() == header)
    indent = lines[row + 1][: len(lines[row + 1]) - len(lines[row + 1].lstrip())]
    lines[row + 1 : row + 1 + body_lines] = [indent]
    return "\n".join(lines), (row + 1, len(indent))


def body_cut(text: str, header: str, body: str) -> tuple[str, int, int]:
    """The file with ``body`` (the lines after ``header``) replaced by one indented empty line."""
    indent = body[: len(body) - len(body.lstrip(" "))]
    cut = text.replace(header + "\n" + body, header + "\n" + indent + "\n", 1)
    assert cut != text
    line, _ = position_after(cut, header + "\n")
    return cut, line, len(indent)


def cut_line(text: str, marker: str) -> tuple[str, tuple[int, int]]:
    """Drop the rest of the line after ``marker`` (the user is typing that line)."""
    line, character = position_after(text, marker)
    lines = text.split("\n")
    lines[line] = lines[line][:character]
    return "\n".join(lines), (line, character)


def parse_guard_agrees(language: str, text: str, line: int, character: int, inserted: str) -> bool:
    """Whether inserting ``inserted`` at (line, character) parses no worse than the file without it."""
    offset = offset_of(text, line, character)
    context = PostprocessContext(
        language=language,
        prefix=text[:offset],
        suffix=text[offset:],
        multi_line="\n" in inserted,
        indent_unit=detect_indent_unit(text, language),
    )
    guard = make_parse_guard(context)
    assert guard is not None, f"no parse guard for {language}"
    return guard.errors(inserted) <= guard.errors("")


async def check_end_to_end(
    smollm2_path: Path,
    tmp_path: Path,
    *,
    file_name: str,
    language_id: str,
    text: str,
    positions: dict[str, tuple[int, int]],
    function_at: tuple[int, int],
    symbol: str,
) -> dict[str, str]:
    """Open a real file in ``qwen-lsp serve`` over stdio, ask for an inline completion at each of
    ``positions`` (e.g. a block start and mid-line) and an Explain action at ``function_at``.

    Each completion must be non-empty and leave the file parseable as the parse guard judges it; Explain
    must name ``symbol`` and show the model's answer. Returns the completions by position name.
    """
    language = detect_language(language_id, file_name)
    assert language is not None, f"{language_id} / {file_name} is not detected"
    workspace = tmp_path / "ws"
    workspace.mkdir()
    uri = (workspace / file_name).as_uri()
    completions: dict[str, str] = {}
    async with lsp_session(
        smollm2_path,
        root=workspace,
        env=private_dirs(tmp_path),
        capabilities=action_capabilities(),
        # The whole greedy suggestion, not what a time limit lets through: the same on a busy machine.
        options={"actions": {"maxTokens": 24}, "completion": {"maxPredictMs": 0}},
    ) as (client, _):
        open_document(client, uri, language_id, text)
        for name, (line, character) in positions.items():
            items = items_of(await inline_completion(client, uri, line, character))
            assert items, f"no completion at {name} ({line}:{character})"
            inserted = str(items[0].insert_text)
            assert inserted.strip(), f"an empty completion at {name}"
            range_ = items[0].range
            if range_ is not None:  # a range starting before the cursor replaces what the user typed
                start = range_.start
                head = offset_of(text, start.line, start.character)
                inserted = inserted[offset_of(text, line, character) - head :]
                assert isinstance(range_, types.Range)
            assert parse_guard_agrees(language, text, line, character, inserted), (name, inserted)
            completions[name] = inserted
        line, character = function_at
        result = await execute(client, "qwenLsp.explain", {"uri": uri, "line": line, "character": character})
        assert result["symbol"] == symbol, result
        assert result["generated"].strip(), result
    return completions
