from __future__ import annotations

import pytest

from lsp_server.document import indent_width
from lsp_server.postprocess.stops import MultiLineStop, StopRule, multi_line_stop, single_line_stop
from lsp_server.postprocess.trim import finalize_completion, is_useless, trim_suffix_overlap
from tests.helpers import decode, first_fire

# -- indent_width ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tab_width", "start", "width"),
    [
        ("", 4, 0, 0),
        ("    x", 4, 0, 4),
        ("\tx", 4, 0, 4),
        ("\tx", 8, 0, 8),
        ("  \tx", 4, 0, 4),
        ("\t  x", 4, 0, 6),
        ("\tx", 4, 2, 2),  # a tab after 2 columns reaches the next stop at 4
        ("   ", 4, 0, 3),
    ],
)
def test_indent_width(text: str, tab_width: int, start: int, width: int) -> None:
    assert indent_width(text, tab_width, start) == width


# -- single line -----------------------------------------------------------------------


def test_single_line_stop_cuts_at_first_newline() -> None:
    rule = single_line_stop()
    assert rule.check("x + 1") is None
    assert rule.check("x + 1\n") == 5
    assert rule.check("x + 1\n    y = 2\n") == 5
    assert rule.check("\nfoo") == 0
    assert rule.check("") is None


def test_single_line_stop_handles_crlf() -> None:
    assert single_line_stop().check("abc\r\ndef") == 3


def test_single_line_stop_incremental() -> None:
    rule = single_line_stop()
    assert decode(rule, ["return", " x", " +", " 1", "\n", "def"]) == "return x + 1"
    assert decode(rule, ["return", " x\n    ", "pass"]) == "return x"


# -- multi line: Python dedent ---------------------------------------------------------

PY_BODY = (
    "    total = 0\n"
    "    for item in items:\n"
    "        total += item\n"
    "\n"
    "    return total\n"
    "\n"
    "def other():\n"
    "    pass\n"
)


def test_python_dedent_to_def_level_ends_completion() -> None:
    # Cursor at column 0 of the blank line after `def total(items):`; block indent 4.
    rule = multi_line_stop(block_indent=4, first_line_prefix_indent=0)
    cut = rule.check(PY_BODY)
    assert cut is not None
    assert PY_BODY[:cut] == (
        "    total = 0\n    for item in items:\n        total += item\n\n    return total\n"
    )
    assert finalize_completion(PY_BODY[:cut]).endswith("    return total")


def test_python_stop_fires_at_first_char_of_dedented_line() -> None:
    rule = multi_line_stop(block_indent=4, first_line_prefix_indent=0)
    fired = first_fire(rule, PY_BODY)
    assert fired is not None
    end, cut = fired
    assert PY_BODY[:end].endswith("\n\nd")  # the 'd' of `def` triggered it
    # Cut excludes the newline before `def` (the blank line before it stays, finalize strips it).
    assert PY_BODY[:cut].endswith("return total\n")


def test_nested_deeper_lines_and_blank_lines_continue() -> None:
    rule = multi_line_stop(block_indent=4, first_line_prefix_indent=4)
    text = "if x:\n        y = 1\n\n\n            z = 2\n    \n    w = 3"
    assert rule.check(text) is None
    # Whitespace-only partial lines never stop it, whatever their width.
    assert rule.check(text + "\n") is None
    assert rule.check(text + "\n  ") is None
    assert rule.check(text + "\n\t") is None
    # ...but the first non-whitespace char of a dedented line does.
    assert rule.check(text + "\n  x") == len(text)


def test_first_line_continues_cursor_prefix() -> None:
    # The cursor line already holds 4 spaces; the first generated line has none of its own.
    rule = multi_line_stop(block_indent=4, first_line_prefix_indent=4)
    assert rule.check("return x") is None
    assert rule.check("return x\nfoo") == len("return x")


def test_first_line_dedented_is_cut_to_nothing() -> None:
    # Cursor at column 0 but the block body needs 4: an unindented first line leaves the block.
    rule = multi_line_stop(block_indent=4, first_line_prefix_indent=0)
    assert rule.check("return x") == 0
    assert rule.check("   ") is None
    assert rule.check("    return x") is None


def test_first_line_tab_expands_from_prefix_column() -> None:
    # 2 columns already on the line, then a tab reaches column 4.
    rule = multi_line_stop(block_indent=4, first_line_prefix_indent=2, tab_width=4)
    assert rule.check("\treturn x") is None
    rule8 = multi_line_stop(block_indent=8, first_line_prefix_indent=2, tab_width=8)
    assert rule8.check("\treturn x") is None


def test_first_line_blank_then_body() -> None:
    rule = multi_line_stop(block_indent=4, first_line_prefix_indent=0)
    assert rule.check("\n    x = 1\n    y = 2\n") is None
    assert rule.check("\n    x = 1\nz") == len("\n    x = 1")


# -- multi line: brace languages -------------------------------------------------------


def test_closing_brace_at_header_indent_ends_completion() -> None:
    # function f(a) {      <- header at indent 0, block indent 2
    rule = multi_line_stop(block_indent=2, first_line_prefix_indent=2)
    text = "const b = a * 2;\n  if (b > 10) {\n    return b;\n  }\n  return a;\n}\n\nfunction g() {"
    cut = rule.check(text)
    assert cut is not None
    assert text[:cut] == "const b = a * 2;\n  if (b > 10) {\n    return b;\n  }\n  return a;"


def test_closing_brace_incremental_tokens() -> None:
    rule = multi_line_stop(block_indent=4, first_line_prefix_indent=4)
    tokens = ["for", " (int i = 0; i < n; i++)", " {\n", "        sum", " += i;\n", "    }\n"]
    tokens += ["    return", " sum;\n", "}", "\n\nint main"]
    kept = decode(rule, tokens)
    assert kept == "for (int i = 0; i < n; i++) {\n        sum += i;\n    }\n    return sum;"


def test_go_tabs_close_brace() -> None:
    rule = multi_line_stop(block_indent=4, first_line_prefix_indent=4, tab_width=4)
    text = 'fmt.Println("hi")\n\tif x {\n\t\treturn\n\t}\n}\n'
    cut = rule.check(text)
    assert cut is not None
    assert text[:cut] == 'fmt.Println("hi")\n\tif x {\n\t\treturn\n\t}'


def test_crlf_generated_text() -> None:
    rule = multi_line_stop(block_indent=2, first_line_prefix_indent=2)
    text = "a();\r\n  b();\r\n}\r\n"
    cut = rule.check(text)
    assert text[: cut or 0] == "a();\r\n  b();"


# -- max_lines ---------------------------------------------------------------------------


def test_max_lines() -> None:
    rule = multi_line_stop(block_indent=4, first_line_prefix_indent=4, max_lines=3)
    assert rule.check("a\n    b\n    c") is None
    assert rule.check("a\n    b\n    c\n") == len("a\n    b\n    c")
    assert rule.check("a\n    b\n    c\n    d\n    e") == len("a\n    b\n    c")


def test_max_lines_counts_blank_lines() -> None:
    rule = multi_line_stop(block_indent=4, first_line_prefix_indent=4, max_lines=2)
    assert rule.check("a\n\n") == len("a\n")


def test_default_max_lines_is_64() -> None:
    rule = multi_line_stop(block_indent=0, first_line_prefix_indent=0)
    assert isinstance(rule, MultiLineStop)
    assert rule.max_lines == 64
    text = "x\n" * 100
    assert rule.check(text) == len("x\n" * 63 + "x")


# -- incremental consistency ------------------------------------------------------------


@pytest.mark.parametrize(
    "rule",
    [
        single_line_stop(),
        multi_line_stop(block_indent=4, first_line_prefix_indent=0),
        multi_line_stop(block_indent=4, first_line_prefix_indent=4, max_lines=3),
        multi_line_stop(block_indent=8, first_line_prefix_indent=8),
    ],
)
def test_cut_is_stable_once_fired(rule: StopRule) -> None:
    """Once a rule fires, every longer text gives the same cut (token boundaries don't matter)."""
    fired = first_fire(rule, PY_BODY)
    assert fired is not None
    end, cut = fired
    for longer in range(end, len(PY_BODY) + 1):
        assert rule.check(PY_BODY[:longer]) == cut
    # No earlier prefix fired.
    assert all(rule.check(PY_BODY[:shorter]) is None for shorter in range(end))


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 11])
def test_token_boundaries_do_not_change_result(chunk: int) -> None:
    rule = multi_line_stop(block_indent=4, first_line_prefix_indent=0)
    tokens = [PY_BODY[i : i + chunk] for i in range(0, len(PY_BODY), chunk)]
    kept = decode(rule, tokens)
    assert finalize_completion(kept) == (
        "    total = 0\n    for item in items:\n        total += item\n\n    return total"
    )


def test_rules_are_immutable_and_reusable() -> None:
    rule = multi_line_stop(block_indent=4, first_line_prefix_indent=0)
    assert rule.check("    a\nb") == 5
    assert rule.check("    a\n    b") is None
    assert rule == multi_line_stop(4, 0)


# -- finalize / useless ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x = 1   ", "x = 1"),
        ("    a  \n    b\t\n\n   \n", "    a\n    b"),
        ("a\r\n  b  \r\n\r\n", "a\r\n  b"),
        ("\n\n", ""),
        ("   ", ""),
        ("    keep leading", "    keep leading"),
    ],
)
def test_finalize_completion(text: str, expected: str) -> None:
    assert finalize_completion(text) == expected


@pytest.mark.parametrize(
    ("text", "useless"),
    [("", True), ("   ", True), ("\n\t\n", True), ("x", False), ("  )", False)],
)
def test_is_useless(text: str, useless: bool) -> None:
    assert is_useless(text) is useless


# -- trim_suffix_overlap -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("completion", "suffix", "expected"),
    [
        # the model re-generated the auto-closed bracket
        ("x + 1)", ")\nprint(y)\n", "x + 1"),
        ("items[0]]", "]\n", "items[0]"),
        ('hello")', '")\n', "hello"),  # prefix `print("`, editor closed `")`
        ('"hello")', '")', '"hello'),
        ("a, b);", ");\n", "a, b"),
        ("foo();", ";", "foo()"),
        ("value})", "})", "value"),
        # balanced completion that the suffix merely continues: keep it
        ("foo()", ")\n", "foo()"),
        ("compute(a, b)", ")", "compute(a, b)"),
        ('"x"', '"', '"x"'),
        # no overlap
        ("x + 1", ")\n", "x + 1"),
        ("x + 1", "", "x + 1"),
        ("", ")", ""),
        # only the current line of the suffix counts
        ("x)", "\n)", "x)"),
        ("x)", ")\r\n", "x"),
        # the completion is nothing but the closer
        (")", ")", ""),
    ],
)
def test_trim_suffix_overlap_tail(completion: str, suffix: str, expected: str) -> None:
    assert trim_suffix_overlap(completion, suffix) == expected


def test_trim_repeated_following_lines_python() -> None:
    completion = "    total = sum(items)\n    return total"
    suffix = "\n    return total\n\n\ndef other():\n    pass\n"
    assert trim_suffix_overlap(completion, suffix) == "    total = sum(items)"


def test_trim_repeated_following_lines_brace() -> None:
    completion = "const x = 1;\n  log(x);\n}\n\nfunction g() {"
    suffix = "\n}\n\nfunction g() {\n  return 2;\n}\n"
    assert trim_suffix_overlap(completion, suffix) == "const x = 1;\n  log(x);"


def test_trim_repeated_lines_is_indentation_sensitive() -> None:
    # An inner block's `}` is not the outer `}` that follows the cursor.
    completion = "for (;;) {\n    x();\n  }"
    suffix = "\n}\n"
    assert trim_suffix_overlap(completion, suffix) == completion


def test_trim_repeated_lines_needs_a_prefix_of_the_suffix() -> None:
    completion = "a = 1\n    b = 2"
    suffix = "\n    c = 3\n    b = 2\n"
    assert trim_suffix_overlap(completion, suffix) == completion


def test_trim_never_drops_the_first_line_for_repetition() -> None:
    completion = "return x"
    assert trim_suffix_overlap(completion, "\nreturn x\n") == "return x"


def test_trim_everything_repeated_leaves_useless() -> None:
    completion = "\n    return total"
    trimmed = trim_suffix_overlap(completion, "\n    return total\n")
    assert is_useless(trimmed)


def test_trim_both_rules_together() -> None:
    completion = "foo(a,\n    b))\nbar()"
    suffix = ")\nbar()\n"
    # `bar()` repeats the next line; then `)` repeats the rest of the cursor line.
    assert trim_suffix_overlap(completion, suffix) == "foo(a,\n    b)"
