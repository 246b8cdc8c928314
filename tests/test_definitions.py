"""Definition finding (tree-sitter) and docstring placement in every supported language."""

from __future__ import annotations

import pytest

from lsp_server.actions.definitions import all_definitions, code_context, find_definition
from lsp_server.actions.docstring import apply_line_edit, clean_doc_text, place_doc

# language -> (source, (line, character) inside the target, its name, kind, expected source after the doc)
CASES: dict[str, tuple[str, tuple[int, int], str, str, str]] = {
    "python": (
        "import os\n\n\nclass Box:\n    @property\n"
        "    def size(self) -> int:\n        return len(self.items)\n",
        (6, 8),
        "size",
        "method",
        "import os\n\n\nclass Box:\n    @property\n    def size(self) -> int:\n"
        '        """Returns the size.\n\n        Counts the items.\n        """\n'
        "        return len(self.items)\n",
    ),
    "javascript": (
        "import fs from 'fs';\n\nexport function load(path) {\n  return fs.readFileSync(path);\n}\n",
        (3, 4),
        "load",
        "function",
        "import fs from 'fs';\n\n/**\n * Returns the size.\n *\n * Counts the items.\n */\n"
        "export function load(path) {\n  return fs.readFileSync(path);\n}\n",
    ),
    "typescript": (
        "export {};\n\nclass Store {\n  get(key: string): number {\n    return 1;\n  }\n}\n",
        (4, 4),
        "get",
        "method",
        "export {};\n\nclass Store {\n  /**\n   * Returns the size.\n   *\n   * Counts the items.\n   */\n"
        "  get(key: string): number {\n    return 1;\n  }\n}\n",
    ),
    "tsx": (
        "export {};\n\nconst View = (props: Props) => {\n  return <div>{props.name}</div>;\n};\n",
        (3, 4),
        "View",
        "function",
        "export {};\n\n/**\n * Returns the size.\n *\n * Counts the items.\n */\n"
        "const View = (props: Props) => {\n  return <div>{props.name}</div>;\n};\n",
    ),
    "go": (
        'package main\n\nimport "fmt"\n\n'
        "func Size(items []int) int {\n\tfmt.Println(items)\n\treturn len(items)\n}\n",
        (6, 2),
        "Size",
        "function",
        'package main\n\nimport "fmt"\n\n// Size returns the size.\n//\n// Counts the items.\n'
        "func Size(items []int) int {\n\tfmt.Println(items)\n\treturn len(items)\n}\n",
    ),
    "rust": (
        "use std::fmt;\n\n/// Old doc.\n#[inline]\nfn size(items: &[i32]) -> usize {\n    items.len()\n}\n",
        (5, 4),
        "size",
        "function",
        "use std::fmt;\n\n/// Returns the size.\n///\n/// Counts the items.\n#[inline]\n"
        "fn size(items: &[i32]) -> usize {\n    items.len()\n}\n",
    ),
    "c": (
        "#include <stdio.h>\n\nstatic int size(int *items, int n) {\n  return n;\n}\n",
        (3, 2),
        "size",
        "function",
        "#include <stdio.h>\n\n/**\n * Returns the size.\n *\n * Counts the items.\n */\n"
        "static int size(int *items, int n) {\n  return n;\n}\n",
    ),
    "cpp": (
        "#include <vector>\n\ntemplate <typename T>\nT first(const std::vector<T>& v) {\n  return v[0];\n}\n",
        (4, 2),
        "first",
        "function",
        "#include <vector>\n\n/**\n * Returns the size.\n *\n * Counts the items.\n */\n"
        "template <typename T>\n"
        "T first(const std::vector<T>& v) {\n  return v[0];\n}\n",
    ),
    "java": (
        "import java.util.List;\n\nclass Box {\n    /** Old. */\n    @Override\n    public int size() {\n"
        "        return 0;\n    }\n}\n",
        (6, 8),
        "size",
        "method",
        "import java.util.List;\n\nclass Box {\n    /**\n     * Returns the size.\n     *\n"
        "     * Counts the items.\n     */\n    @Override\n"
        "    public int size() {\n        return 0;\n    }\n}\n",
    ),
    "lua": (
        'local json = require("json")\n\nlocal function size(items)\n  return #items\nend\n',
        (3, 2),
        "size",
        "function",
        'local json = require("json")\n\n--- Returns the size.\n---\n--- Counts the items.\n'
        "local function size(items)\n  return #items\nend\n",
    ),
}

ANSWER = "Returns the size.\n\nCounts the items."


@pytest.mark.parametrize("language", sorted(CASES))
def test_definition_found_around_the_cursor(language: str) -> None:
    source, (line, character), name, kind, _ = CASES[language]
    definition = find_definition(source, language, line, character)
    assert definition is not None
    assert (definition.name, definition.kind) == (name, kind)
    assert definition.start_line <= line <= definition.end_line


@pytest.mark.parametrize("language", sorted(CASES))
def test_no_definition_on_a_blank_line_at_module_level(language: str) -> None:
    source = CASES[language][0]
    assert source.split("\n")[1] == ""
    assert find_definition(source, language, 1, 0) is None


@pytest.mark.parametrize("language", sorted(CASES))
def test_docstring_placed_in_the_language_convention(language: str) -> None:
    source, (line, character), _, _, expected = CASES[language]
    definition = find_definition(source, language, line, character)
    assert definition is not None
    edit = place_doc(source, definition, ANSWER)
    assert not isinstance(edit, str)
    assert apply_line_edit(source, edit) == expected


def test_python_docstring_replaces_the_existing_one() -> None:
    source = 'def f(x):\n    """Old."""\n    return x\n'
    definition = find_definition(source, "python", 2, 4)
    assert definition is not None and definition.existing_doc == (1, 2)
    edit = place_doc(source, definition, "```\nReturn x unchanged.\n```")
    assert not isinstance(edit, str)
    assert apply_line_edit(source, edit) == 'def f(x):\n    """Return x unchanged."""\n    return x\n'


def test_python_one_line_body_is_refused() -> None:
    source = "def f(x): return x\n"
    definition = find_definition(source, "python", 0, 12)
    assert definition is not None
    assert isinstance(place_doc(source, definition, "Return x."), str)


def test_selection_spanning_two_functions_finds_no_single_definition() -> None:
    source = CASES["python"][0] + "\n\ndef other():\n    pass\n"
    assert find_definition(source, "python", 6, 0, 10, 4) is None
    inner = find_definition(source, "python", 5, 4, 6, 10)
    assert inner is not None and inner.name == "size"


def test_clean_doc_text_strips_markers_quotes_and_echoed_code() -> None:
    source, (line, character), *_ = CASES["python"]
    definition = find_definition(source, "python", line, character)
    assert definition is not None
    raw = '"""\nReturns the size.\n"""\ndef size(self) -> int:\n    return 1\n'
    assert clean_doc_text(raw, definition) == ["Returns the size."]
    assert clean_doc_text("/**\n * Does it.\n */", definition) == ["Does it."]


@pytest.mark.parametrize(
    ("language", "source", "line", "enclosing", "imports", "callee"),
    [
        (
            "python",
            "import os\nclass A:\n    def m(self):\n        return helper(1)\n\ndef helper(x: int) -> int:\n"
            "    return x\n",
            3,
            "class A",
            ["import os"],
            "def helper(x: int) -> int",
        ),
        (
            "java",
            "import java.util.List;\nclass A {\n  int get() { return foo(1); }\n"
            "  int foo(int x) { return x; }\n}\n",
            2,
            "class A",
            ["import java.util.List;"],
            "int foo(int x)",
        ),
        (
            "rust",
            "use std::fmt;\nstruct P;\nimpl P {\n    fn new() -> Self { helper(); P }\n}\nfn helper() {}\n",
            3,
            "impl P",
            ["use std::fmt;"],
            "fn helper()",
        ),
        (
            "go",
            'package main\nimport "fmt"\nfunc main() {\n\tfmt.Println(add(1, 2))\n}\n'
            "func add(a, b int) int { return a + b }\n",
            3,
            None,
            ["package main", 'import "fmt"'],
            "func add(a, b int) int",
        ),
    ],
)
def test_code_context_has_class_imports_and_callee_signatures(
    language: str, source: str, line: int, enclosing: str | None, imports: list[str], callee: str
) -> None:
    definition = find_definition(source, language, line, 6)
    assert definition is not None
    context = code_context(source, language, definition)
    assert (context.enclosing_class.signature if context.enclosing_class else None) == enclosing
    assert list(context.imports) == imports
    assert callee in context.callee_signatures


def test_all_definitions_lists_nested_ones() -> None:
    source = "class A:\n    def m(self):\n        def inner():\n            pass\n"
    assert [(d.name, d.kind) for d in all_definitions(source, "python")] == [
        ("A", "class"),
        ("m", "method"),
        ("inner", "function"),
    ]
