from __future__ import annotations

import pytest

from lsp_server.context.completion_kind import (
    CompletionDecision,
    CompletionKind,
    decide_completion_kind,
    detect_indent_unit,
    split_lines,
)
from lsp_server.context.languages import parse

CURSOR = "<|>"
MULTI = CompletionKind.MULTI_LINE
SINGLE = CompletionKind.SINGLE_LINE
NONE = CompletionKind.NONE


def decide(language: str | None, source: str, **kwargs: object) -> CompletionDecision:
    """Decide at the CURSOR marker in ``source`` (marker removed)."""
    assert source.count(CURSOR) == 1
    index = source.index(CURSOR)
    text = source.replace(CURSOR, "")
    before = source[:index]
    line = before.count("\n")
    character = index - (before.rfind("\n") + 1)
    return decide_completion_kind(text, line, character, language, **kwargs)  # type: ignore[arg-type]


# (language, source, expected block_indent)
MULTI_LINE_CASES = [
    ("python", "def f():\n    '''Doc.'''\n    <|>\n", 4),  # the body is still empty after the docstring
    # Python
    ("python", "def add(a, b):\n    <|>\n", 4),
    ("python", "def add(a, b):\n<|>", 4),
    ("python", "import os\n\n\ndef main():\n    <|>\n\n\ndef other():\n    return 1\n", 4),
    ("python", "class Shape:\n    def area(self):\n        <|>\n\n    def name(self):\n", 8),
    ("python", "for item in items:  # each one\n    <|>\n", 4),
    ("python", "with open(p) as fh:\n    <|>\n", 4),
    ("python", "try:\n    run()\nexcept OSError as err:\n    <|>\n", 4),
    ("python", "if x:\n    a()\nelse:\n    <|>\n", 4),
    ("python", "async def fetch(url):\n    async with session.get(url) as r:\n<|>", 8),
    ("python", "def f(\n    a: int,\n    b: int,\n) -> int:\n<|>\n", 4),
    ("python", "match command:\n    case 'go':\n        <|>\n", 8),
    ("python", "while True:\n    <|>\n    break\n", 4),
    # JavaScript
    ("javascript", "function add(a, b) {\n  <|>\n}\n", 2),
    ("javascript", "const config = {\n  <|>\n};\n", 2),
    ("javascript", 'app.get("/", async (req, res) => {\n  <|>\n});\n', 2),
    ("javascript", "class Queue {\n  push(item) {\n    <|>\n  }\n}\n", 4),
    ("javascript", "if (ready) {\n  go();\n} else {\n  <|>\n}\n", 2),
    ("javascript", "for (const x of xs) { // loop\n<|>\n}\n", 2),
    # TypeScript
    ("typescript", "interface Point {\n  <|>\n}\n", 2),
    ("typescript", "export class Store {\n  constructor(private readonly db: Db) {\n    <|>", 4),
    ("typescript", "function parse(input: string): Result<number> {\n  <|>\n}\n", 2),
    ("typescript", "enum Color {\n  <|>\n}\n", 2),
    # TSX
    ("tsx", "export function App(): JSX.Element {\n  <|>\n}\n", 2),
    ("tsx", "const Button = ({ label }: Props) => {\n  <|>\n};\n", 2),
    # Go
    ("go", "package main\n\nfunc main() {\n\t<|>\n}\n", 4),
    ("go", "package main\n\ntype Point struct {\n\t<|>\n}\n", 4),
    ("go", "package main\n\nfunc f(xs []int) {\n\tfor _, x := range xs {\n\t\t<|>\n\t}\n}\n", 8),
    ("go", "package main\n\nfunc f() {\n\tif err != nil {\n<|>\n\t}\n}\n", 8),
    # Rust
    ("rust", "fn main() {\n    <|>\n}\n", 4),
    ("rust", "impl Point {\n    <|>\n}\n", 4),
    ("rust", "fn f(x: Option<i32>) -> i32 {\n    match x {\n        <|>\n    }\n}\n", 8),
    ("rust", "pub enum Shape {\n<|>\n}\n", 4),
    # C
    ("c", "#include <stdio.h>\n\nint main(void) {\n    <|>\n}\n", 4),
    ("c", "struct point {\n    <|>\n};\n", 4),
    ("c", "void f(int n) {\n    for (int i = 0; i < n; i++) {\n        <|>\n    }\n}\n", 8),
    # C++
    ("cpp", "namespace app {\n<|>\n}\n", 4),
    ("cpp", "class Widget {\npublic:\n    void draw() const {\n        <|>\n    }\n};\n", 8),
    ("cpp", "std::vector<int> v{1, 2};\nfor (auto& x : v) {\n    <|>\n}\n", 4),
    # Java
    (
        "java",
        "public class Main {\n    public static void main(String[] args) {\n        <|>\n    }\n}\n",
        8,
    ),
    ("java", "public class Main {\n    <|>\n}\n", 4),
    ("java", "class A {\n    void f(int x) {\n        switch (x) {\n            <|>", 12),
    # Lua
    ("lua", "function greet(name)\n  <|>\nend\n", 2),
    ("lua", "local f = function(a, b)\n<|>\nend\n", 2),
    ("lua", "if x > 0 then\n  <|>\nend\n", 2),
    ("lua", "if x > 0 then\n  a()\nelse\n  <|>\nend\n", 2),
    ("lua", "for i = 1, 10 do\n  <|>\nend\n", 2),
    ("lua", "while running do -- main loop\n  <|>\nend\n", 2),
    ("lua", "repeat\n  <|>\nuntil done\n", 2),
    ("lua", "local t = {\n  <|>\n}\n", 2),
]


@pytest.mark.parametrize(("language", "source", "block_indent"), MULTI_LINE_CASES)
def test_multi_line_after_block_opener(language: str, source: str, block_indent: int) -> None:
    decision = decide(language, source)
    assert decision.kind is MULTI, decision.reason
    assert decision.block_indent == block_indent


SINGLE_LINE_CASES = [
    # end of a statement line
    ("python", "import os\nx = os.getcwd()<|>\n"),
    ("python", "def f():\n    x = 1\n    <|>\n    return x\n"),  # blank line mid-block
    ("python", "x = [\n    1,\n    <|>\n]\n"),
    ("python", "f = lambda x:\n    <|>\n"),  # ':' of a lambda opens no block
    ("python", "d = {'a':\n    <|>\n"),  # ':' of a dict opens no block
    ("python", "print(x<|>)\n"),  # before an auto-closed ')'
    ("python", "s = '<|>'\n"),  # empty string, only its closing quote after the cursor
    ("javascript", "const x = compute(a, b);<|>\n"),
    ("javascript", "function f() {\n  a();\n  <|>\n  b();\n}\n"),
    ("javascript", "const s = `x ${\n  <|>"),  # template substitution, not a block
    ("javascript", "const s = '{'\n<|>"),  # brace inside a string
    ("javascript", "foo(bar<|>);\n"),
    ("typescript", "let n: number = 1<|>\n"),
    ("typescript", "function f(): void {\n  a();\n\n  <|>\n}\n"),
    ("tsx", "const el = <div>{value}</div>;<|>\n"),
    ("tsx", "function A() {\n  const x = 1;\n  <|>\n}\n"),
    ("go", 'package main\n\nimport "fmt"<|>\n'),
    ("go", "package main\n\nfunc f() {\n\tx := 1\n\t<|>\n}\n"),
    ("rust", "fn main() {\n    let v = vec![1, 2, 3];<|>\n}\n"),
    ("rust", "fn main() {\n    let a = 1;\n    <|>\n}\n"),
    ("c", "int main(void) {\n    int x = 0;<|>\n}\n"),
    ("c", "int main(void) {\n    int x = 0;\n    <|>\n    return x;\n}\n"),
    ("cpp", "class Widget {\npublic:\n    <|>\n};\n"),  # access specifier, not '{'
    ("cpp", "int main() {\n    std::cout << x;\n    <|>\n}\n"),
    ("java", "class A {\n    int x = 1;<|>\n}\n"),
    ("java", "class A {\n    void f() {\n        g();\n        <|>\n    }\n}\n"),
    ("lua", "local x = compute(a)<|>\n"),
    ("lua", "function f()\n  a()\n  <|>\nend\n"),
    ("lua", "print(x)\n<|>"),
]


@pytest.mark.parametrize(("language", "source"), SINGLE_LINE_CASES)
def test_single_line(language: str, source: str) -> None:
    decision = decide(language, source)
    assert decision.kind is SINGLE, decision.reason
    assert decision.block_indent is None


NONE_CASES = [
    # inside an identifier
    ("python", "def compute_total(items):\n    return sum(it<|>ems)\n"),
    ("javascript", "const total = comp<|>ute(a);\n"),
    ("typescript", "let na<|>me: string;\n"),
    ("tsx", "const el = <Butt<|>on />;\n"),
    ("go", "package main\n\nfunc ma<|>in() {}\n"),
    ("rust", "fn ma<|>in() {}\n"),
    ("c", "int ma<|>in(void) { return 0; }\n"),
    ("cpp", "int ma<|>in() { return 0; }\n"),
    ("java", "class Ma<|>in {}\n"),
    ("lua", "local na<|>me = 1\n"),
    # in the middle of a string, with text after the cursor
    ("python", 'print("hello <|>world")\n'),
    ("python", "s = 'a, <|>;'\n"),  # only closer-like characters, but inside the string
    ("javascript", 'const s = "a <|>b";\n'),
    ("javascript", "const s = `a, <|>;`;\n"),
    ("typescript", "const s: string = 'a <|>b';\n"),
    ("tsx", 'const s = "a <|>b";\n'),
    ("go", 'package main\n\nvar s = "a <|>b"\n'),
    ("go", 'package main\n\nvar s = "a, <|>,"\n'),
    ("rust", 'fn main() { let s = "a <|>b"; }\n'),
    ("rust", 'fn main() {\n    let s = "a <|>;";\n}\n'),
    ("c", 'const char *s = "a <|>b";\n'),
    ("c", 'const char *s = "a <|>;";\n'),
    ("cpp", 'auto s = std::string("a <|>b");\n'),
    ("cpp", 'auto s = "a <|>:";\n'),
    ("java", 'class A { String s = "a <|>b"; }\n'),
    ("java", 'class A {\n    String s = "a <|>,";\n}\n'),
    ("lua", 'local s = "a <|>b"\n'),
    ("lua", 'local s = "a <|>;"\n'),
    # other code after the cursor
    ("python", "x = <|>foo(1)\n"),
    ("javascript", "<|>return x;\n"),
]


@pytest.mark.parametrize(("language", "source"), NONE_CASES)
def test_none(language: str, source: str) -> None:
    decision = decide(language, source)
    assert decision.kind is NONE, decision.reason


def test_every_language_has_all_three_kinds() -> None:
    languages = {"python", "javascript", "typescript", "tsx", "go", "rust", "c", "cpp"}
    languages |= {"java", "lua"}
    for cases in (MULTI_LINE_CASES, SINGLE_LINE_CASES, NONE_CASES):
        assert {case[0] for case in cases} >= languages


# -- unknown language: text-only rules, never raises ------------------------------------


@pytest.mark.parametrize(
    ("source", "kind", "block_indent"),
    [
        ("task build:\n<|>", MULTI, 4),
        ("server {\n    <|>\n}\n", MULTI, 4),
        ("section:\n  key: 1\n  <|>\n", SINGLE, None),
        ("plain words<|>\n", SINGLE, None),
        ("plain wo<|>rds\n", NONE, None),
        ("call(x<|>)\n", SINGLE, None),
        ("x = <|>y\n", NONE, None),
        ("fn(a,\n   b) {\n<|>", MULTI, 3),  # wrapped header: `fn(` line's indent + unit 3
    ],
)
def test_unknown_language_text_rules(source: str, kind: CompletionKind, block_indent: int | None) -> None:
    decision = decide(None, source)
    assert decision.kind is kind, decision.reason
    assert decision.block_indent == block_indent


def test_unsupported_language_name_uses_text_rules() -> None:
    assert decide("cobol", "def f:\n<|>").kind is MULTI


# -- positions, empty documents, line endings, tabs -----------------------------------


@pytest.mark.parametrize(
    ("line", "character"),
    [(-1, 0), (0, -1), (5, 0), (2, 0)],
)
def test_out_of_range_positions_give_none(line: int, character: int) -> None:
    decision = decide_completion_kind("x = 1\ny = 2", line, character, "python")
    assert decision.kind is NONE
    assert "outside" in decision.reason


def test_character_past_end_of_line_is_clamped() -> None:
    decision = decide_completion_kind("def f():\n    return 1\n", 1, 99, "python")
    assert decision.kind is SINGLE


def test_character_past_end_of_blank_line_is_clamped() -> None:
    decision = decide_completion_kind("def f():\n\n", 1, 50, "python")
    assert decision.kind is MULTI
    assert decision.block_indent == 4


@pytest.mark.parametrize("language", [None, "python", "javascript", "go", "lua"])
def test_empty_document(language: str | None) -> None:
    decision = decide_completion_kind("", 0, 0, language)
    assert decision.kind is SINGLE
    assert decision.block_indent is None


@pytest.mark.parametrize("pass_tree", [False, True])
def test_crlf_line_endings(pass_tree: bool) -> None:
    text = "def f(x):\r\n    \r\n\r\ndef g():\r\n    return 1\r\n"
    tree = parse("python", text) if pass_tree else None
    multi = decide_completion_kind(text, 1, 4, "python", tree=tree)
    assert multi.kind is MULTI
    assert multi.block_indent == 4
    single = decide_completion_kind(text, 4, len("    return 1"), "python", tree=tree)
    assert single.kind is SINGLE
    inside = decide_completion_kind(text, 4, len("    ret"), "python", tree=tree)
    assert inside.kind is NONE


def test_crlf_brace_language() -> None:
    text = "function f() {\r\n  \r\n}\r\n"
    decision = decide_completion_kind(text, 1, 2, "javascript", tree=parse("javascript", text))
    assert decision.kind is MULTI
    assert decision.block_indent == 2


def test_lone_cr_line_endings_reparse_even_with_a_tree() -> None:
    text = "if x:\r    \rprint(1)\r"
    # A tree parsed from the raw text has a single row; the decision must not trust it.
    decision = decide_completion_kind(text, 1, 4, "python", tree=parse("python", text))
    assert decision.kind is MULTI
    assert decision.block_indent == 4


def test_string_check_with_crlf() -> None:
    text = 's = "a b"\r\nt = 1\r\n'
    assert decide_completion_kind(text, 0, 6, "python").kind is NONE
    assert decide_completion_kind(text, 0, 9, "python").kind is SINGLE


@pytest.mark.parametrize(("tab_width", "block_indent"), [(4, 8), (8, 16)])
def test_tabs_are_expanded_with_tab_width(tab_width: int, block_indent: int) -> None:
    text = "package main\n\nfunc f() {\n\tif ok {\n\t\t\n\t}\n}\n"
    decision = decide_completion_kind(text, 4, 2, "go", tab_width=tab_width)
    assert decision.kind is MULTI
    assert decision.indent_unit == "\t"
    assert decision.block_indent == block_indent


def test_tab_indented_python_header_without_cursor_indent() -> None:
    text = "class A:\n\tdef f(self):\n\n"
    decision = decide_completion_kind(text, 2, 0, "python")
    assert decision.kind is MULTI
    assert decision.indent_unit == "\t"
    assert decision.block_indent == 8  # header at one tab (4) + one tab unit


def test_block_indent_from_header_when_cursor_not_indented() -> None:
    text = "class A:\n    def f(self):\n\n"
    decision = decide_completion_kind(text, 2, 0, "python")
    assert decision.block_indent == 8


def test_block_indent_uses_cursor_indent_when_deeper() -> None:
    text = "def f():\n      \n"
    decision = decide_completion_kind(text, 1, 6, "python")
    assert decision.block_indent == 6


def test_wrapped_condition_uses_indent_of_statement_start() -> None:
    source = "function f() {\n  if (a &&\n      b) {\n<|>\n  }\n}\n"
    decision = decide("javascript", source)
    assert decision.kind is MULTI
    assert decision.block_indent == 4  # `if` at 2 + one unit of 2, not the `b) {` line + 2


def test_passing_a_tree_gives_the_same_decision() -> None:
    source = "fn main() {\n    <|>\n}\n"
    text = source.replace(CURSOR, "")
    with_tree = decide("rust", source, tree=parse("rust", text))
    assert with_tree == decide("rust", source)


def test_non_ascii_text_before_cursor() -> None:
    text = 's = "héllo wörld"\n'
    assert decide_completion_kind(text, 0, len('s = "héllo '), "python").kind is NONE
    assert decide_completion_kind(text, 0, len(text) - 1, "python").kind is SINGLE
    text2 = 'def f():\n    s = "ü"\n    if s:\n        \n'
    assert decide_completion_kind(text2, 3, 8, "python").kind is MULTI


def test_deeply_nested_expression_does_not_recurse_too_deep() -> None:
    text = "x = " + " + ".join(["a"] * 3000) + "\nif x:\n    \n"
    decision = decide_completion_kind(text, 2, 4, "python")
    assert decision.kind is MULTI


def test_reason_is_set() -> None:
    for source in ("def f():\n<|>", "x<|>", "ab<|>c"):
        assert decide("python", source).reason


# -- indentation unit ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "unit"),
    [
        ("def f():\n    return 1\n", "python", "    "),
        ("function f() {\n  return 1;\n}\n", "javascript", "  "),
        ("func f() {\n\treturn\n}\n", "go", "\t"),
        ("", "go", "\t"),
        ("", "javascript", "  "),
        ("", "python", "    "),
        ("", None, "    "),
        ("/**\n * Doc.\n */\nfunction f() {\n    a();\n}\n", "javascript", "    "),
        ("a:\n   b:\n      c\n", None, "   "),
    ],
)
def test_detect_indent_unit(text: str, language: str | None, unit: str) -> None:
    assert detect_indent_unit(text, language) == unit


def test_decision_reports_indent_unit() -> None:
    decision = decide("python", "class A:\n  def f(self):\n    <|>\n")
    assert decision.indent_unit == "  "
    assert decision.block_indent == 4


def test_split_lines_matches_lsp_line_endings() -> None:
    assert split_lines("a\r\nb\rc\nd") == ["a", "b", "c", "d"]
    assert split_lines("") == [""]
    assert split_lines("a\n") == ["a", ""]


def test_decision_is_frozen() -> None:
    decision = decide("python", "x<|>")
    with pytest.raises(AttributeError):
        decision.kind = MULTI  # type: ignore[misc]


def test_a_block_holding_only_its_docstring_or_a_comment_is_still_empty() -> None:
    text = 'def scale(points, factor):\n    """Scale every point.\n\n    Returns a list.\n    """\n    \n'
    decision = decide_completion_kind(text, 5, 4, "python")
    assert decision.kind is CompletionKind.MULTI_LINE and decision.block_indent == 4
    one_line = 'class Stack:\n    """A stack."""\n\n    \n'
    assert decide_completion_kind(one_line, 3, 4, "python").kind is CompletionKind.MULTI_LINE
    js = "function area(shape) {\n  // shoelace formula\n  \n}\n"
    assert decide_completion_kind(js, 2, 2, "javascript").kind is CompletionKind.MULTI_LINE
    # A string statement that is not the first in its block is no docstring: the block is not empty.
    later = 'def f():\n    x = 1\n    "note"\n    \n'
    assert decide_completion_kind(later, 3, 4, "python").kind is CompletionKind.SINGLE_LINE
    # A comment after an ordinary statement does not open anything.
    after = "x = 1\n# done\n\n"
    assert decide_completion_kind(after, 2, 0, "python").kind is CompletionKind.SINGLE_LINE
