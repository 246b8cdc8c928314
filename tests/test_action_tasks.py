"""Action post-processing: fix edits, test-file names that never overwrite, code extraction."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from lsp_server.actions.docstring import apply_line_edit
from lsp_server.actions.tasks import (
    extract_code,
    fix_edit,
    safe_file_stem,
    unit_test_file_name,
    unused_path,
)


def test_extract_code_takes_the_first_fenced_block() -> None:
    assert extract_code("Here:\n```python\nx = 1\n```\nmore\n```\ny\n```") == "x = 1"
    assert extract_code("```\nunterminated") == "unterminated"
    assert extract_code("plain text") == "plain text"


def test_fix_edit_replaces_only_the_affected_lines_and_keeps_indentation() -> None:
    source = "def f(x):\n    retrun x\n    # after\n"
    edit = fix_edit(source, 1, 1, "```python\nreturn x\n```")
    assert not isinstance(edit, str)
    assert apply_line_edit(source, edit) == "def f(x):\n    return x\n    # after\n"


def test_fix_edit_without_a_change_is_refused() -> None:
    assert isinstance(fix_edit("a = 1\n", 0, 0, "```\na = 1\n```"), str)
    assert isinstance(fix_edit("a = 1\n", 0, 0, "   "), str)


@pytest.mark.parametrize(
    ("path", "language", "symbol", "expected"),
    [
        ("src/geometry.py", "python", "hypotenuse", "test_geometry_hypotenuse.py"),
        ("src/app.ts", "typescript", "Store.get", "app.get.test.ts"),
        ("main.go", "go", "Size", "main_Size_test.go"),
        ("Box.java", "java", "size", "SizeTest.java"),
        ("lib.rs", "rust", "P::new", "test_lib_new.rs"),
        ("util.lua", "lua", "M.run", "util_run_spec.lua"),
    ],
)
def test_unit_test_file_names(path: str, language: str, symbol: str, expected: str) -> None:
    assert unit_test_file_name(PurePosixPath(path), language, symbol) == expected


def test_unused_path_never_returns_an_existing_file() -> None:
    existing = {PurePosixPath("/w/test_a.py"), PurePosixPath("/w/test_a_2.py")}
    assert unused_path(PurePosixPath("/w"), "test_a.py", existing.__contains__) == PurePosixPath(
        "/w/test_a_3.py"
    )


def test_safe_file_stem() -> None:
    assert safe_file_stem("A::run") == "A_run"
    assert safe_file_stem("../..") == "selection"
