from __future__ import annotations

import collections
import importlib
import time

import pytest

from lsp_server.context.syntax_tree import comment_marker
from lsp_server.postprocess import syntax as syntax_module
from lsp_server.postprocess.stops import multi_line_stop
from lsp_server.postprocess.syntax import (
    WINDOW_CHARS,
    BlockCloseStop,
    PostprocessContext,
    Postprocessed,
    balance_closers,
    block_close_stop,
    first_stop,
    make_parse_guard,
    normalize_indentation,
    parse_guard,
    postprocess,
    repeats_suffix,
)
from tests.helpers import decode, first_fire
from tests.postprocess_cases import CURSOR, Lang, code, context

PYTHON_KEPT = code(
    "total = 0.0",
    "    for shape in shapes:",
    "        total += shape.area()",
    "    return total",
)

PYTHON = Lang(
    name="python",
    block=code(
        "import math",
        "",
        "",
        "def area(shapes):",
        "    █",
        "",
        "",
        "def perimeter(shapes):",
        "    return sum(s.perimeter() for s in shapes)",
        "",
    ),
    runs_past=code(PYTHON_KEPT, "", "", "def perimeter(shapes):", "    return sum("),
    runs_past_kept=PYTHON_KEPT,
    wrong_indent=code(
        "total = 0.0",
        "    for shape in shapes:",
        "      total += shape.area()",
        "    return total",
    ),
    wrong_indent_fixed=PYTHON_KEPT,
    broken=code(
        "total = 0.0",
        "    for shape in shapes",
        "        total += shape.area()",
        "    return total",
    ),
    broken_kept="total = 0.0",
    body=code("def area(shapes):", "    █", "    return total", ""),
    repeats=PYTHON_KEPT,
    repeats_kept=code(
        "total = 0.0",
        "    for shape in shapes:",
        "        total += shape.area()",
    ),
    repeats_only="return total",
    call=code("def area(shapes):", "    return math.sqrt(█)", ""),
    call_closes_twice="sum(s.area() for s in shapes))",
    call_closes_twice_kept="sum(s.area() for s in shapes)",
    call_unbalanced="sum(s.area() for s in shapes",
    call_unbalanced_kept="sum(s.area() for s in shapes)",
)

JAVASCRIPT_KEPT = code(
    "let total = 0;",
    "  for (const v of values) {",
    "    total += v;",
    "  }",
    "  return total;",
)

JAVASCRIPT = Lang(
    name="javascript",
    block=code(
        "function sum(values) {",
        "  █",
        "}",
        "",
        "function mean(values) {",
        "  return sum(values) / values.length;",
        "}",
        "",
    ),
    runs_past=code(JAVASCRIPT_KEPT, "}", "", "function mean(values) {"),
    runs_past_kept=JAVASCRIPT_KEPT,
    wrong_indent=code(
        "let total = 0;",
        "  for (const v of values) {",
        "      total += v;",
        "  }",
        "  return total;",
    ),
    wrong_indent_fixed=JAVASCRIPT_KEPT,
    broken=code(
        "let total = 0;",
        "  for (const v of values {",
        "    total += v;",
        "  }",
        "  return total;",
    ),
    broken_kept="let total = 0;",
    body=code("function sum(values) {", "  █", "  return total;", "}", ""),
    repeats=code(
        "let total = 0;",
        "  for (const v of values) total += v;",
        "  return total;",
        "}",
    ),
    repeats_kept=code("let total = 0;", "  for (const v of values) total += v;"),
    repeats_only="return total;",
    call=code("function show(values) {", "  console.log(█);", "}", ""),
    call_closes_twice="`total: ${sum(values)}`);",
    call_closes_twice_kept="`total: ${sum(values)}`",
    call_unbalanced="sum(values",
    call_unbalanced_kept="sum(values)",
)

TYPESCRIPT_KEPT = code(
    "const dx = a.x - b.x;",
    "    const dy = a.y - b.y;",
    "    return Math.sqrt(dx * dx + dy * dy);",
)

TYPESCRIPT = Lang(
    name="typescript",
    block=code(
        "interface Point {",
        "    x: number;",
        "    y: number;",
        "}",
        "",
        "export function distance(a: Point, b: Point): number {",
        "    █",
        "}",
        "",
        "export function midpoint(a: Point, b: Point): Point {",
        "    return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };",
        "}",
        "",
    ),
    runs_past=code(TYPESCRIPT_KEPT, "}", "", "export function midpoint("),
    runs_past_kept=TYPESCRIPT_KEPT,
    wrong_indent=code(
        "const dx = a.x - b.x;",
        "    if (dx === 0) {",
        "      return Math.abs(a.y - b.y);",
        "    }",
        "    return Math.hypot(dx, a.y - b.y);",
    ),
    wrong_indent_fixed=code(
        "const dx = a.x - b.x;",
        "    if (dx === 0) {",
        "        return Math.abs(a.y - b.y);",
        "    }",
        "    return Math.hypot(dx, a.y - b.y);",
    ),
    broken=code(
        "const dx = a.x - b.x;",
        "    const dy = = a.y - b.y;",
        "    return Math.sqrt(dx * dx + dy * dy);",
    ),
    broken_kept="const dx = a.x - b.x;",
    body=code(
        "export function distance(a: Point, b: Point): number {",
        "    █",
        "    return Math.hypot(dx, dy);",
        "}",
        "",
    ),
    repeats=code(
        "const dx = a.x - b.x;",
        "    const dy = a.y - b.y;",
        "    return Math.hypot(dx, dy);",
    ),
    repeats_kept=code("const dx = a.x - b.x;", "    const dy = a.y - b.y;"),
    repeats_only="return Math.hypot(dx, dy);",
    call=code(
        "export function distance(a: Point, b: Point): number {",
        "    return Math.hypot(█);",
        "}",
        "",
    ),
    call_closes_twice="a.x - b.x, a.y - b.y);",
    call_closes_twice_kept="a.x - b.x, a.y - b.y",
    call_unbalanced="Math.abs(a.x - b.x",
    call_unbalanced_kept="Math.abs(a.x - b.x)",
)

TSX_KEPT = code(
    "const text = `Hello, ${name}!`;",
    '  return <h1 className="greeting">{text}</h1>;',
)

TSX = Lang(
    name="tsx",
    block=code(
        'import React from "react";',
        "",
        "export function Greeting({ name }: { name: string }) {",
        "  █",
        "}",
        "",
        "export function Farewell() {",
        "  return <p>Bye</p>;",
        "}",
        "",
    ),
    runs_past=code(TSX_KEPT, "}", "", "export function Farewell() {"),
    runs_past_kept=TSX_KEPT,
    wrong_indent=code(
        "const text = `Hello, ${name}!`;",
        "  if (!name) {",
        "      return null;",
        "  }",
        "  return <h1>{text}</h1>;",
    ),
    wrong_indent_fixed=code(
        "const text = `Hello, ${name}!`;",
        "  if (!name) {",
        "    return null;",
        "  }",
        "  return <h1>{text}</h1>;",
    ),
    broken=code(
        "const text = `Hello, ${name}!`;",
        "  if (text {",
        "    return null;",
        "  }",
        "  return <h1>{text}</h1>;",
    ),
    broken_kept="const text = `Hello, ${name}!`;",
    body=code(
        "export function Greeting({ name }: { name: string }) {",
        "  █",
        "  return <h1>{text}</h1>;",
        "}",
        "",
    ),
    repeats=code("const text = `Hello, ${name}!`;", "  return <h1>{text}</h1>;"),
    repeats_kept="const text = `Hello, ${name}!`;",
    repeats_only="return <h1>{text}</h1>;",
    call=code(
        "export function Counter({ start }: { start: number }) {",
        "  const [count, setCount] = useState(█);",
        "}",
        "",
    ),
    call_closes_twice="start ?? 0);",
    call_closes_twice_kept="start ?? 0",
    call_unbalanced="Number(start",
    call_unbalanced_kept="Number(start)",
)

GO_KEPT = code(
    "if b == 0 {",
    '\t\treturn 0, errors.New("division by zero")',
    "\t}",
    "\treturn a / b, nil",
)

GO = Lang(
    name="go",
    block=code(
        "package main",
        "",
        'import "errors"',
        "",
        "func Divide(a, b int) (int, error) {",
        "\t█",
        "}",
        "",
        "func main() {",
        "\t_, _ = Divide(1, 0)",
        "}",
        "",
    ),
    runs_past=code(GO_KEPT, "}", "", "func main() {"),
    runs_past_kept=GO_KEPT,
    wrong_indent=code(
        "if b == 0 {",
        '        return 0, errors.New("division by zero")',
        "    }",
        "    return a / b, nil",
    ),
    wrong_indent_fixed=GO_KEPT,
    broken=code("q := a / b", "\treturn q,, nil"),
    broken_kept="q := a / b",
    body=code(
        "func Divide(a, b int) (int, error) {",
        "\t█",
        "\treturn a / b, nil",
        "}",
        "",
    ),
    repeats=GO_KEPT,
    repeats_kept=code("if b == 0 {", '\t\treturn 0, errors.New("division by zero")', "\t}"),
    repeats_only="return a / b, nil",
    call=code(
        "func Ratio(a, b int) string {",
        '\treturn fmt.Sprintf("%d", █)',
        "}",
        "",
    ),
    call_closes_twice="a / b)",
    call_closes_twice_kept="a / b",
    call_unbalanced="max(a, b",
    call_unbalanced_kept="max(a, b)",
)

RUST_KEPT = code(
    "let mut counts = HashMap::new();",
    "    for word in text.split_whitespace() {",
    "        *counts.entry(word).or_insert(0) += 1;",
    "    }",
    "    counts",
)

RUST = Lang(
    name="rust",
    block=code(
        "use std::collections::HashMap;",
        "",
        "pub fn word_counts(text: &str) -> HashMap<&str, usize> {",
        "    █",
        "}",
        "",
        "pub fn longest<'a>(words: &[&'a str]) -> Option<&'a str> {",
        "    words.iter().copied().max_by_key(|w| w.len())",
        "}",
        "",
    ),
    runs_past=code(RUST_KEPT, "}", "", "pub fn longest<'a>("),
    runs_past_kept=RUST_KEPT,
    wrong_indent=code(
        "let mut counts = HashMap::new();",
        "    for word in text.split_whitespace() {",
        "      *counts.entry(word).or_insert(0) += 1;",
        "    }",
        "    counts",
    ),
    wrong_indent_fixed=RUST_KEPT,
    broken=code(
        "let mut counts = HashMap::new();",
        "    let total = counts.len() +;",
        "    counts",
    ),
    broken_kept="let mut counts = HashMap::new();",
    body=code(
        "pub fn word_counts(text: &str) -> HashMap<&str, usize> {",
        "    █",
        "    counts",
        "}",
        "",
    ),
    repeats=RUST_KEPT,
    repeats_kept=code(
        "let mut counts = HashMap::new();",
        "    for word in text.split_whitespace() {",
        "        *counts.entry(word).or_insert(0) += 1;",
        "    }",
    ),
    repeats_only="counts",
    call=code(
        "pub fn words(text: &str) -> Vec<&str> {",
        "    let parts = split_on(█);",
        "    parts",
        "}",
        "",
    ),
    call_closes_twice="text, ')');",
    call_closes_twice_kept="text, ')'",
    call_unbalanced="text.trim(",
    call_unbalanced_kept="text.trim()",
)

C_KEPT = code(
    "int total = 0;",
    "    for (int i = 0; i < n; i++) {",
    "        total += values[i];",
    "    }",
    "    return total;",
)

C = Lang(
    name="c",
    block=code(
        "#include <stdio.h>",
        "",
        "int sum(const int *values, int n) {",
        "    █",
        "}",
        "",
        "int main(void) {",
        "    int v[] = {1, 2, 3};",
        '    printf("%d\\n", sum(v, 3));',
        "    return 0;",
        "}",
        "",
    ),
    runs_past=code(C_KEPT, "}", "", "int main(void) {"),
    runs_past_kept=C_KEPT,
    wrong_indent=code(
        "int total = 0;",
        "    for (int i = 0; i < n; i++) {",
        "\ttotal += values[i];",
        "    }",
        "    return total;",
    ),
    wrong_indent_fixed=C_KEPT,
    broken=code("int total = 0;", "    total += values[;", "    return total;"),
    broken_kept="int total = 0;",
    body=code(
        "int sum(const int *values, int n) {",
        "    █",
        "    return total;",
        "}",
        "",
    ),
    repeats=code(
        "int total = 0;",
        "    for (int i = 0; i < n; i++) total += values[i];",
        "    return total;",
    ),
    repeats_kept=code(
        "int total = 0;",
        "    for (int i = 0; i < n; i++) total += values[i];",
    ),
    repeats_only="return total;",
    call=code(
        "int main(void) {",
        '    printf("%d\\n", sum(█));',
        "    return 0;",
        "}",
        "",
    ),
    call_closes_twice="v, 3));",
    call_closes_twice_kept="v, 3",
    call_unbalanced="v, count(v",
    call_unbalanced_kept="v, count(v)",
)

CPP_KEPT = code(
    "double sum = 0;",
    "  for (double x : xs) {",
    "    sum += x;",
    "  }",
    "  return xs.empty() ? 0 : sum / xs.size();",
)

CPP = Lang(
    name="cpp",
    block=code(
        "#include <vector>",
        "",
        "namespace geo {",
        "",
        "double mean(const std::vector<double>& xs) {",
        "  █",
        "}",
        "",
        "double median(std::vector<double> xs) {",
        "  std::sort(xs.begin(), xs.end());",
        "  if (xs.empty()) {",
        "    return 0;",
        "  }",
        "  return xs[xs.size() / 2];",
        "}",
        "",
        "}  // namespace geo",
        "",
    ),
    runs_past=code(CPP_KEPT, "}", "", "double median("),
    runs_past_kept=CPP_KEPT,
    wrong_indent=code(
        "double sum = 0;",
        "  for (double x : xs) {",
        "      sum += x;",
        "  }",
        "  return sum;",
    ),
    wrong_indent_fixed=code(
        "double sum = 0;",
        "  for (double x : xs) {",
        "    sum += x;",
        "  }",
        "  return sum;",
    ),
    broken=code("double sum = 0;", "  sum += xs[;", "  return sum;"),
    broken_kept="double sum = 0;",
    body=code(
        "double mean(const std::vector<double>& xs) {",
        "  █",
        "  return sum / xs.size();",
        "}",
        "",
    ),
    repeats=code(
        "double sum = 0;",
        "  for (double x : xs) sum += x;",
        "  return sum / xs.size();",
    ),
    repeats_kept=code("double sum = 0;", "  for (double x : xs) sum += x;"),
    repeats_only="return sum / xs.size();",
    call=code(
        "double mean(const std::vector<double>& xs) {",
        "  return std::accumulate(xs.begin(), xs.end(), █);",
        "}",
        "",
    ),
    call_closes_twice="0.0) / xs.size();",
    call_closes_twice_kept="0.0",
    call_unbalanced="static_cast<double>(0",
    call_unbalanced_kept="static_cast<double>(0)",
)

JAVA_KEPT = code(
    "int best = Integer.MIN_VALUE;",
    "        for (int v : values) {",
    "            best = Math.max(best, v);",
    "        }",
    "        return best;",
)

JAVA = Lang(
    name="java",
    block=code(
        "import java.util.List;",
        "",
        "public class Stats {",
        "    public static int max(List<Integer> values) {",
        "        █",
        "    }",
        "",
        "    public static int min(List<Integer> values) {",
        "        return values.stream().min(Integer::compare).orElse(0);",
        "    }",
        "}",
        "",
    ),
    runs_past=code(JAVA_KEPT, "    }", "", "    public static int min("),
    runs_past_kept=JAVA_KEPT,
    wrong_indent=code(
        "int best = Integer.MIN_VALUE;",
        "        for (int v : values) {",
        "          best = Math.max(best, v);",
        "        }",
        "        return best;",
    ),
    wrong_indent_fixed=JAVA_KEPT,
    broken=code(
        "int best = Integer.MIN_VALUE;",
        "        for (int v : values) {",
        "            best = Math.max(best v);",
        "        }",
        "        return best;",
    ),
    broken_kept="int best = Integer.MIN_VALUE;",
    body=code(
        "public class Stats {",
        "    public static int max(List<Integer> values) {",
        "        █",
        "        return best;",
        "    }",
        "}",
        "",
    ),
    repeats=code(
        "int best = Integer.MIN_VALUE;",
        "        for (int v : values) best = Math.max(best, v);",
        "        return best;",
    ),
    repeats_kept=code(
        "int best = Integer.MIN_VALUE;",
        "        for (int v : values) best = Math.max(best, v);",
    ),
    repeats_only="return best;",
    call=code(
        "public class Stats {",
        "    static int max2(int a, int b) {",
        "        return Math.max(█);",
        "    }",
        "}",
        "",
    ),
    call_closes_twice="a, b));",
    call_closes_twice_kept="a, b",
    call_unbalanced="a, Math.abs(b",
    call_unbalanced_kept="a, Math.abs(b)",
)

LUA_KEPT = code(
    "local total = 0",
    "  for _, v in ipairs(list) do",
    "    total = total + v",
    "  end",
    "  return total",
)

LUA = Lang(
    name="lua",
    block=code(
        "local M = {}",
        "",
        "function M.sum(list)",
        "  █",
        "end",
        "",
        "function M.mean(list)",
        "  return M.sum(list) / #list",
        "end",
        "",
        "return M",
        "",
    ),
    runs_past=code(LUA_KEPT, "end", "", "function M.mean(list)"),
    runs_past_kept=LUA_KEPT,
    wrong_indent=code(
        "local total = 0",
        "  for _, v in ipairs(list) do",
        "      total = total + v",
        "  end",
        "  return total",
    ),
    wrong_indent_fixed=LUA_KEPT,
    broken=code(
        "local total = 0",
        "  for _, v in ipairs(list) do",
        "    total = total +",
        "  end",
        "  return total",
    ),
    broken_kept="local total = 0",
    body=code(
        "local M = {}",
        "",
        "function M.sum(list)",
        "  █",
        "  return total",
        "end",
        "",
    ),
    repeats=code(
        "local total = 0",
        "  for _, v in ipairs(list) do total = total + v end",
        "  return total",
    ),
    repeats_kept=code(
        "local total = 0",
        "  for _, v in ipairs(list) do total = total + v end",
    ),
    repeats_only="return total",
    call=code("function M.larger(a, b)", "  return math.max(█)", "end", ""),
    call_closes_twice="a, b))",
    call_closes_twice_kept="a, b",
    call_unbalanced="a, math.abs(b",
    call_unbalanced_kept="a, math.abs(b)",
)

BUILT_IN = [PYTHON, JAVASCRIPT, TYPESCRIPT, TSX, GO, RUST, C, CPP, JAVA, LUA]


def _language_cases() -> list[Lang]:
    """Every later language's cases: ``POSTPROCESS`` in its tests/languages/test_<name>.py."""
    from lsp_server.context.languages import SUPPORTED_LANGUAGES

    built_in = {lang.name for lang in BUILT_IN}
    found = []
    for name in SUPPORTED_LANGUAGES:
        if name in built_in:
            continue
        try:
            module = importlib.import_module(f"tests.languages.test_{name}")
        except ModuleNotFoundError:
            continue  # test_every_supported_language_has_cases says which language has none
        cases = getattr(module, "POSTPROCESS", None)
        if isinstance(cases, Lang):
            found.append(cases)
    return found


LANGS = BUILT_IN + _language_cases()
BY_NAME = pytest.mark.parametrize("lang", LANGS, ids=[lang.name for lang in LANGS])


def test_every_supported_language_has_cases() -> None:
    from lsp_server.context.languages import SUPPORTED_LANGUAGES

    assert sorted(lang.name for lang in LANGS) == sorted(SUPPORTED_LANGUAGES)


@BY_NAME
def test_snippets_get_the_kind_the_server_would_decide(lang: Lang) -> None:
    assert context(lang.name, lang.block).multi_line
    assert context(lang.name, lang.body).multi_line
    assert not context(lang.name, lang.call).multi_line


# -- rule 1: block_close_stop, during decoding ---------------------------------------------------


def tokens_of(text: str, size: int = 3) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@BY_NAME
def test_stop_when_the_block_closes_while_decoding(lang: Lang) -> None:
    rule = block_close_stop(context(lang.name, lang.block))
    kept = decode(rule, tokens_of(lang.runs_past))
    assert kept.rstrip() == lang.runs_past_kept


@BY_NAME
def test_stop_fires_as_soon_as_the_closing_line_starts(lang: Lang) -> None:
    rule = block_close_stop(context(lang.name, lang.block))
    fired = first_fire(rule, lang.runs_past)
    assert fired is not None
    end, cut = fired
    # Decoding stops at the first character of the line that leaves the block (`}`, `end`, `def`).
    closing_line_start = len(lang.runs_past_kept) + 1
    assert lang.runs_past[closing_line_start:end].strip() in ("}", "d", "end")
    assert lang.runs_past[:cut].rstrip() == lang.runs_past_kept


@BY_NAME
@pytest.mark.parametrize("chunk", [1, 2, 5, 16])
def test_stop_is_stable_over_token_boundaries(lang: Lang, chunk: int) -> None:
    ctx = context(lang.name, lang.block)
    final = block_close_stop(ctx)
    assert isinstance(final, BlockCloseStop)
    expected = final.cut(lang.runs_past)
    assert decode(block_close_stop(ctx), tokens_of(lang.runs_past, chunk)) == lang.runs_past[:expected]


@BY_NAME
def test_stop_keeps_a_good_body(lang: Lang) -> None:
    rule = block_close_stop(context(lang.name, lang.block))
    assert decode(rule, tokens_of(lang.runs_past_kept)) == lang.runs_past_kept


@BY_NAME
def test_stop_before_a_closer_the_editor_already_inserted(lang: Lang) -> None:
    rule = block_close_stop(context(lang.name, lang.call))
    assert decode(rule, tokens_of(lang.call_closes_twice, 2)) == lang.call_closes_twice_kept


def test_single_line_stops_at_the_newline() -> None:
    rule = block_close_stop(context("python", "def f(x):\n    y = █\n    return y\n"))
    assert decode(rule, ["x", " + 1", "\n    return", " y"]) == "x + 1"
    assert rule.check("x + 1\r\n") == 5


def test_brackets_inside_strings_and_comments_do_not_close() -> None:
    rule = block_close_stop(context("javascript", "function f(values) {\n  console.log(█);\n}\n"))
    assert rule.check('"a) b}", values') is None
    assert rule.check("values /* ) */, 1") is None
    assert rule.check("`${values})`, 2)") == len("`${values})`, 2")
    python = block_close_stop(context("python", "def f(x):\n    print(█)\n"))
    assert python.check("'it''s)' + \"}\"") is None
    assert python.check("x  # )") is None


def test_rust_char_literals_and_lifetimes() -> None:
    rule = block_close_stop(context("rust", "fn f(s: &str) {\n    let v = split(█);\n}\n"))
    assert rule.check("s, ')'") is None
    assert rule.check("s, '\\''") is None
    assert rule.check("s, ')')") == len("s, ')'")
    assert rule.check("s as &'static str)") == len("s as &'static str")


def test_closer_of_a_string_the_editor_closed() -> None:
    ctx = context("python", 'def greet(name):\n    print("█")\n')
    assert decode(block_close_stop(ctx), ["Hello, ", "{name}", '")']) == "Hello, {name}"
    # Without an auto-inserted quote the closing quote and `)` are the completion's to write.
    unclosed = context("python", 'def greet(name):\n    print(f"█\n')
    assert block_close_stop(unclosed).check('Hello, {name}")') is None


def test_closer_of_a_bracket_nobody_closed_is_kept() -> None:
    # The user is typing the call; no `)` after the cursor: the completion must close it.
    ctx = context("python", "def f(x):\n    y = compute(█\n    return y\n")
    assert block_close_stop(ctx).check("x, 2)") is None
    assert postprocess("x, 2)", ctx).text == "x, 2)"


def test_unclosed_block_at_end_of_file_keeps_its_closing_line() -> None:
    ctx = context("javascript", "function f() {\n  █\n")
    result = postprocess("return 1;\n}\n\nfunction g() {", ctx)
    assert result.text == "return 1;\n}"
    lua = context("lua", "function M.f(a, b)\n  █\n")
    assert postprocess("return a + b\nend\n\nfunction M.g()", lua).text == "return a + b\nend"


def test_nested_unclosed_blocks_close_in_order() -> None:
    ctx = context("java", "public class A {\n    int f() {\n        █\n")
    text = "return 1;\n    }\n}\n\nclass B {"
    assert postprocess(text, ctx).text == "return 1;\n    }\n}"


def test_lua_waits_for_the_whole_word_before_deciding() -> None:
    rule = block_close_stop(context("lua", "function M.f(a)\n  █\n"))
    assert rule.check("return a\ne") is None  # could become `end`, which is the completion's
    assert rule.check("return a\nen") is None
    assert rule.check("return a\nend") is None
    assert rule.check("return a\nend\nlocal x") == len("return a\nend")
    closed = block_close_stop(context("lua", "function M.f(a)\n  █\nend\n"))
    assert closed.check("return a\nen") is None
    assert closed.check("return a\nend ") == len("return a")


def test_lua_end_of_an_inner_block_is_not_a_stop() -> None:
    ctx = context("lua", "function M.f(list)\n  █\nend\n")
    text = "for _, v in ipairs(list) do\n    print(v)\n  end\n  if #list > 0 then return 1 end\n  return 0"
    assert block_close_stop(ctx).check(text) is None


def test_dedent_in_a_multi_line_string_is_not_a_stop() -> None:
    ctx = context("python", "def f():\n    █\n")
    text = 'doc = """\nFirst line at column zero.\n"""\n    return doc'
    assert block_close_stop(ctx).check(text) is None


def test_first_stop_combines_rules() -> None:
    ctx = context("python", PYTHON.block)
    rule = first_stop(
        block_close_stop(ctx), multi_line_stop(block_indent=4, first_line_prefix_indent=4, max_lines=2)
    )
    assert rule.check("a = 1\n    b = 2\n    c = 3") == len("a = 1\n    b = 2")
    assert rule.check("a = 1\ndef g():") == len("a = 1")
    assert rule.check("a = 1") is None


def test_unknown_language_still_stops_at_dedent() -> None:
    ctx = PostprocessContext(None, "task build:\n", "\n", True, "    ")
    rule = block_close_stop(ctx)
    assert rule.check("    run make\nother:") == len("    run make")
    assert postprocess("    run make\nother:", ctx) == Postprocessed("    run make", ("block_close",))


# -- rule 2: the parse guard ------------------------------------------------------------------------


@BY_NAME
def test_parse_guard_keeps_good_code(lang: Lang) -> None:
    guard = make_parse_guard(context(lang.name, lang.block))
    assert guard is not None
    assert parse_guard(lang.runs_past_kept, guard) == lang.runs_past_kept
    assert parse_guard(lang.wrong_indent_fixed, guard) == lang.wrong_indent_fixed


@BY_NAME
def test_parse_guard_keeps_only_the_lines_before_the_breakage(lang: Lang) -> None:
    guard = make_parse_guard(context(lang.name, lang.block))
    assert guard is not None
    assert parse_guard(lang.broken, guard) == lang.broken_kept


@pytest.mark.parametrize(
    ("language", "document", "completion", "kept"),
    [
        ("python", "def f(x):\n    y = █\n    return y\n", "x + * 2", "x"),
        ("javascript", "function f(x) {\n  const y = █\n  return y;\n}\n", "x * 2 +;", "x * 2"),
        ("go", "func f(x int) int {\n\ty := █\n\treturn y\n}\n", "x * ) 2", "x"),
        ("c", "int f(int x) {\n    int y = █\n    return y;\n}\n", "x * 2;;}", "x * 2;;"),
    ],
)
def test_parse_guard_cuts_single_lines_at_token_boundaries(
    language: str, document: str, completion: str, kept: str
) -> None:
    guard = make_parse_guard(context(language, document))
    assert guard is not None
    assert parse_guard(completion, guard) == kept


def test_parse_guard_drops_when_the_first_line_breaks() -> None:
    ctx = context("python", PYTHON.block)
    result = postprocess("for shape in shapes\n        pass", ctx)
    assert result == Postprocessed(None, ("parse_guard",))


def test_parse_guard_accepts_a_fix_of_an_already_broken_line() -> None:
    # The document is broken without the completion (a half-typed call); closing it is better.
    guard = make_parse_guard(context("python", "def f(x):\n    y = compute(█\n    return y\n"))
    assert guard is not None
    assert guard.errors("x)") < guard.errors("")
    assert parse_guard("x)", guard) == "x)"


def test_parse_guard_parses_a_window_not_the_whole_file() -> None:
    document = big_python_file(5000)
    ctx = context("python", document)
    guard = make_parse_guard(ctx)
    assert guard is not None
    assert len(guard.before.splitlines()) < 20
    assert len(guard.after.splitlines()) < 20
    assert parse_guard("total = len(items)", guard) == "total = len(items)"


# What the module keeps from the previous keystroke (window scans, lexer states, the guard's last parse).
_KEPT_FROM_LAST_KEYSTROKE = (
    "_last_window",
    "_last_rows_above",
    "_last_window_end",
    "_last_line_start",
    "_last_suffix_scan",
    "_last_guard_parse",
)


@BY_NAME
def test_typing_reuses_the_last_keystroke_and_matches_a_cold_start(
    lang: Lang, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The user types a body one character at a time, line breaks included, and now and then completes in
    # another function; each request's stop rule and post-processing reuse what the previous one computed
    # where the text allows, and must equal what a cold start gives.
    typed = lang.runs_past_kept
    candidates = [lang.runs_past, lang.broken, lang.call_unbalanced, lang.call_closes_twice, '"', ")"]
    sites = [lang.block.split(CURSOR), lang.call.split(CURSOR)]
    for count in range(len(typed) + 1):
        before, after = sites[count % 3 == 2]
        ctx = PostprocessContext(lang.name, before + typed[:count], after, True, "    ")
        rest = typed[count:]

        def outcome(ctx: PostprocessContext = ctx, rest: str = rest) -> list[object]:
            rule = block_close_stop(ctx)
            guard = make_parse_guard(ctx)
            assert guard is not None
            return [
                *(rule.check(text) for text in [rest, *candidates]),
                *(postprocess(text, ctx) for text in [rest, *candidates]),
                *(guard.errors(text) for text in ["", rest, *candidates]),
            ]

        warm = outcome()
        for name in _KEPT_FROM_LAST_KEYSTROKE:
            monkeypatch.setattr(syntax_module, name, None)
        monkeypatch.setattr(syntax_module, "_recent_candidates", collections.OrderedDict())
        assert warm == outcome(), f"after typing {typed[:count]!r}"


def test_parse_guard_is_off_for_unknown_languages() -> None:
    assert make_parse_guard(PostprocessContext("cobol", "PROCEDURE DIVISION.\n  ", "\n", True, "  ")) is None
    assert postprocess("x = (", PostprocessContext(None, "", "", False, "    ")).text == "x = ("


# -- rule 3: balance --------------------------------------------------------------------------------


@BY_NAME
def test_balance_closes_what_the_completion_opened(lang: Lang) -> None:
    ctx = context(lang.name, lang.call)
    result = postprocess(lang.call_unbalanced, ctx)
    assert result == Postprocessed(lang.call_unbalanced_kept, ("balance",))


def balance_of(language: str, document: str, completion: str) -> str:
    return balance_closers(completion, context(language, document))


def test_balance_closers() -> None:
    doc = "def f(x):\n    y = █\n"
    assert balance_of("python", doc, "g(x, [1, 2") == "])"
    assert balance_of("python", doc, "g(x)") == ""
    assert balance_of("python", doc, "'abc") == "'"
    assert balance_of("python", doc, "g('abc") == "')"
    # A closer on the rest of the line that closes nothing before the cursor serves the completion.
    assert balance_of("python", "def f(x):\n    y = █)\n", "g(x") == ""
    assert balance_of("python", "def f(x):\n    y = █)\n", "g(h(x") == ")"
    # The auto-inserted `)` belongs to the call before the cursor: the completion needs its own.
    assert balance_of("python", "def f(x):\n    y = g(█)\n", "h(x") == ")"
    # Multi-line completions are never balanced by appending.
    assert balance_of("python", "def f(x):\n    █\n", "y = g(\n        x") == ""


def test_balance_only_when_the_parse_accepts_it() -> None:
    ctx = context("python", "def f(x):\n    y = █\n    return y\n")
    # Appending `)` would not fix `g(x +`: nothing is appended and the guard cuts it instead.
    result = postprocess("g(x +", ctx)
    assert "balance" not in result.rules
    assert result.text == "g"


def test_balance_and_a_closer_in_the_suffix_for_strings() -> None:
    ctx = context("python", "def f(x):\n    print(█)\n")
    assert postprocess('"value: {x}', ctx).text == '"value: {x}"'
    assert postprocess('"value: {x}")', ctx).text == '"value: {x}"'


# -- rule 4: indentation -----------------------------------------------------------------------------


@BY_NAME
def test_indentation_normalised_to_the_file(lang: Lang) -> None:
    ctx = context(lang.name, lang.block)
    assert normalize_indentation(lang.wrong_indent, ctx) == lang.wrong_indent_fixed
    assert normalize_indentation(lang.wrong_indent_fixed, ctx) == lang.wrong_indent_fixed


def test_indentation_first_line_is_never_touched() -> None:
    ctx = context("python", "def f(items):\n█\n")
    text = "    for item in items:\n      print(item)\n    return None"
    assert normalize_indentation(text, ctx) == "    for item in items:\n        print(item)\n    return None"


def test_indentation_tabs_in_a_space_file() -> None:
    ctx = context("javascript", "function f(xs) {\n    █\n}\n", indent_unit="    ")
    text = "for (const x of xs) {\n\t\tif (x) {\n\t\t\tlog(x);\n\t\t}\n\t}"
    expected = "for (const x of xs) {\n        if (x) {\n            log(x);\n        }\n    }"
    assert normalize_indentation(text, ctx) == expected


def test_indentation_keeps_a_consistent_completion() -> None:
    ctx = context("python", "def f(items):\n    █\n")
    text = "result = call(a,\n                  b)\n    return result"
    assert normalize_indentation(text, ctx) == text


def test_indentation_single_line_untouched() -> None:
    ctx = context("python", "def f(items):\n    █\n")
    assert normalize_indentation("return  items", ctx) == "return  items"


# -- rule 5: drops ----------------------------------------------------------------------------------


@BY_NAME
def test_repeated_next_lines_are_trimmed(lang: Lang) -> None:
    ctx = context(lang.name, lang.body)
    result = postprocess(lang.repeats, ctx)
    assert result.text == lang.repeats_kept
    assert "suffix_overlap" in result.rules


@BY_NAME
def test_completion_that_only_repeats_the_next_line_is_dropped(lang: Lang) -> None:
    ctx = context(lang.name, lang.body)
    assert postprocess(lang.repeats_only, ctx) == Postprocessed(None, ("repeats_suffix",))
    assert repeats_suffix(lang.repeats_only, ctx)
    assert not repeats_suffix(lang.repeats_kept, ctx)


@pytest.mark.parametrize("completion", ["", "   ", "\n\n", "\t\n  "])
def test_blank_completions_are_dropped(completion: str) -> None:
    result = postprocess(completion, context("python", PYTHON.block))
    assert result.text is None
    assert result.rules[-1] == "empty"


def test_completion_that_only_closes_is_dropped() -> None:
    result = postprocess("))", context("rust", "fn f(s: &str) -> usize {\n    s.len(█)\n}\n"))
    assert result == Postprocessed(None, ("block_close", "empty"))


# -- the whole pipeline per language ---------------------------------------------------------------


@BY_NAME
def test_postprocess_runs_past_the_block(lang: Lang) -> None:
    result = postprocess(lang.runs_past, context(lang.name, lang.block))
    assert result.text == lang.runs_past_kept
    assert result.rules[0] == "block_close"


@BY_NAME
def test_postprocess_keeps_a_good_completion(lang: Lang) -> None:
    result = postprocess(lang.runs_past_kept, context(lang.name, lang.block))
    assert result == Postprocessed(lang.runs_past_kept, ())


@BY_NAME
def test_postprocess_wrong_indentation(lang: Lang) -> None:
    result = postprocess(lang.wrong_indent, context(lang.name, lang.block))
    assert result == Postprocessed(lang.wrong_indent_fixed, ("indent",))


@BY_NAME
def test_postprocess_broken_halfway(lang: Lang) -> None:
    result = postprocess(lang.broken, context(lang.name, lang.block))
    assert result == Postprocessed(lang.broken_kept, ("parse_guard",))


@BY_NAME
def test_postprocess_auto_inserted_closer(lang: Lang) -> None:
    result = postprocess(lang.call_closes_twice, context(lang.name, lang.call))
    assert result == Postprocessed(lang.call_closes_twice_kept, ("block_close",))


@BY_NAME
def test_postprocess_single_line_keeps_one_line(lang: Lang) -> None:
    ctx = context(lang.name, lang.call)
    result = postprocess(lang.call_closes_twice_kept + "\n" + lang.runs_past_kept, ctx)
    assert result.text == lang.call_closes_twice_kept


def test_postprocess_order_of_rules() -> None:
    # Runs past the block (block_close) and nests with 2 spaces in a 4-space file (indent).
    ctx = context("python", PYTHON.block)
    text = "for s in shapes:\n      print(s)\n\ndef other():\n    pass\n"
    assert postprocess(text, ctx) == Postprocessed(
        "for s in shapes:\n        print(s)", ("block_close", "indent", "finalize")
    )


@BY_NAME
def test_a_copy_of_the_outline_elision_line_is_dropped(lang: Lang) -> None:
    # The prompt marks elided code with one comment line; a model may write it back as its "completion".
    ctx = context(lang.name, lang.block)
    marker = comment_marker(lang.name)
    assert postprocess(f"{marker} ...", ctx) == Postprocessed(None, ("elision",))
    assert postprocess(f"{marker} ...\n", ctx).text is None
    kept = postprocess(lang.runs_past_kept, ctx).text
    assert kept is not None and kept.strip()


def test_an_ellipsis_body_is_not_an_elision_line() -> None:
    ctx = context("python", PYTHON.block)
    assert postprocess("...", ctx).text == "..."


def test_postprocess_crlf_document() -> None:
    document = PYTHON.block.replace("\n", "\r\n")
    prefix, suffix = document.split(CURSOR)
    ctx = PostprocessContext("python", prefix, suffix, True, "    ")
    text = PYTHON.runs_past.replace("\n", "\r\n")
    result = postprocess(text, ctx)
    assert result.text == PYTHON.runs_past_kept.replace("\n", "\r\n")


# -- timing (printed, not asserted) ----------------------------------------------------------------


def big_python_file(lines: int) -> str:
    """A generated module of ~``lines`` lines with the cursor on the first body line of a function."""
    functions = []
    for i in range(lines // 8):
        functions.append(
            f"def func_{i}(items, factor={i}):\n"
            f'    """Scale the items ({i})."""\n'
            "    total = 0\n"
            "    for item in items:\n"
            "        if item > factor:\n"
            "            total += item * (factor + 1)\n"
            "    return [total, {'k': total}]\n\n"
        )
    middle = len(functions) // 2
    functions[middle] = functions[middle].replace("    total = 0\n", f"    {CURSOR}\n    total = 0\n", 1)
    return "".join(functions)


def test_print_postprocess_time_on_a_5000_line_python_file(capsys: pytest.CaptureFixture[str]) -> None:
    document = big_python_file(5000)
    assert document.count("\n") >= 5000
    ctx = context("python", document)
    runs = {
        "good multi-line": code(
            "result = []",
            "    for item in items:",
            "        result.append(item * factor)",
            "    return result",
        ),
        "runs past the function": "total = 0\n    return total\n\ndef other():\n    pass\n",
        "broken halfway": code(
            "result = []", "    for item in items", "        result.append(item)", "    return result"
        ),
    }
    lines = []
    for name, completion in runs.items():
        postprocess(completion, ctx)  # warm the parser
        repeat = 50
        start = time.perf_counter()
        for _ in range(repeat):
            postprocess(completion, ctx)
        elapsed = (time.perf_counter() - start) / repeat * 1000
        lines.append(f"postprocess on a {document.count(chr(10))}-line python file, {name}: {elapsed:.3f} ms")
    with capsys.disabled():
        print("\n" + "\n".join(lines))  # noqa: T201


# -- more shapes of code ----------------------------------------------------------------------------


def test_python_method_stops_at_the_next_method() -> None:
    document = code(
        "class Cart:",
        "    def __init__(self):",
        "        self.items = []",
        "",
        "    def total(self):",
        "        █",
        "",
        "    def clear(self):",
        "        self.items.clear()",
        "",
    )
    completion = code(
        "return sum(item.price for item in self.items)",
        "",
        "    def clear(self):",
        "        self.items = []",
    )
    ctx = context("python", document)
    assert decode(block_close_stop(ctx), tokens_of(completion)) == code(
        "return sum(item.price for item in self.items)", ""
    )
    assert postprocess(completion, ctx).text == "return sum(item.price for item in self.items)"


def test_typescript_arrow_function_and_else_branch() -> None:
    document = code(
        "const f = (x: number): number => {", "  if (x > 0) {", "    █", "  }", "  return 0;", "};", ""
    )
    ctx = context("typescript", document)
    assert postprocess("return x;\n  } else {\n    return -x;\n  }", ctx).text == "return x;"


def test_window_in_a_huge_class_without_top_level_lines_nearby() -> None:
    methods = [f"    int get{i}() {{\n        return {i};\n    }}\n\n" for i in range(300)]
    middle = 150
    methods[middle] = "    int compute(int a) {\n        █\n    }\n\n"
    document = "public class Big {\n" + "".join(methods) + "}\n"
    ctx = context("java", document)
    guard = make_parse_guard(ctx)
    assert guard is not None
    assert guard.before.startswith("    int compute(int a) {")
    completion = "int b = a * 2;\n        return b;\n    }\n\n    int get151() {"
    assert postprocess(completion, ctx).text == "int b = a * 2;\n        return b;"


def test_check_with_unrelated_text_starts_over() -> None:
    rule = block_close_stop(context("python", PYTHON.block))
    assert rule.check("a = 1\n    b = 2\n") is None
    assert rule.check("x = 1\ndef g():") == len("x = 1")
    assert rule.check("a = 1\n    b = 2\n") is None


def test_go_raw_strings_and_runes_hide_closers() -> None:
    ctx = context("go", "func f() string {\n\treturn strings.Join(█)\n}\n")
    assert block_close_stop(ctx).check("[]string{`a)`, string(')')}, \"}\")") == len(
        "[]string{`a)`, string(')')}, \"}\""
    )


def test_c_block_comment_spanning_lines() -> None:
    ctx = context("c", "int f(void) {\n    █\n}\n")
    completion = "/* a } inside\n       a comment */\n    return 0;\n}\n"
    assert postprocess(completion, ctx).text == "/* a } inside\n       a comment */\n    return 0;"


def test_lua_long_strings_and_comments_hide_end() -> None:
    ctx = context("lua", "function M.f()\n  █\nend\n")
    completion = "local s = [[\nend\n]] -- end\n  return s\nend"
    assert postprocess(completion, ctx).text == "local s = [[\nend\n]] -- end\n  return s"


def test_lua_keyword_at_the_end_of_the_text_is_not_decided_yet() -> None:
    rule = block_close_stop(context("lua", LUA.call))
    assert rule.check("a, end") is None  # may still become `endpoint`
    assert rule.check("a, endpoint)") == len("a, endpoint")
    assert rule.check("a, b) end") is not None
    assert block_close_stop(context("lua", LUA.call)).check("b end ") == len("b ")


def test_minified_one_line_file_is_windowed_by_characters() -> None:
    line = "".join(f"function f{i}(a){{return a+{i}}};" for i in range(20000))
    document = line + "function g(x){return Math.max(█)}\n" + line + "\n"
    ctx = context("javascript", document)
    guard = make_parse_guard(ctx)
    assert guard is not None
    assert len(guard.before) <= WINDOW_CHARS
    assert len(guard.after) <= WINDOW_CHARS
    assert postprocess("x, 0))", ctx).text == "x, 0"
