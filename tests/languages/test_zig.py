"""Zig on real code: ziglang/zig's lib/std/once.zig and lib/std/math/gcd.zig (see data/zig/SOURCE.md)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from lsp_server.actions.definitions import all_definitions, code_context, find_definition
from lsp_server.actions.docstring import apply_line_edit, format_doc, place_doc
from lsp_server.actions.tasks import unit_test_file_name, unit_test_framework
from lsp_server.context.assemble import ContextBudget, assemble_file_context
from lsp_server.context.completion_kind import CompletionKind, decide_completion_kind, detect_indent_unit
from lsp_server.context.languages import detect_language, parse
from lsp_server.context.syntax_tree import (
    enclosing_function,
    enclosing_nodes,
    header_rows,
    import_nodes,
    render_signature,
    top_level_definitions,
)
from lsp_server.postprocess.syntax import block_close_stop, postprocess
from tests.helpers import count_words
from tests.languages.common import check_end_to_end, real_source, row_of
from tests.postprocess_cases import Lang, code, context

ONCE = real_source("zig", "once.zig")
GCD = real_source("zig", "gcd.zig")


def lines_of(text: str) -> list[str]:
    return text.split("\n")


# -- detection ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language_id", "path"),
    [
        ("zig", "file:///work/notes.txt"),
        (None, "file:///zig/lib/std/once.zig"),
        (None, "file:///proj/build.zig.zon"),
        (None, "C:\\proj\\src\\MAIN.ZIG"),
    ],
)
def test_detected_by_language_id_and_extension(language_id: str | None, path: str) -> None:
    assert detect_language(language_id, path) == "zig"


def test_real_sources_parse_without_errors() -> None:
    for text in (ONCE, GCD):
        assert not parse("zig", text).root_node.has_error


# -- context pieces -------------------------------------------------------------------------------


def test_import_nodes_are_the_at_import_declarations() -> None:
    tree = parse("zig", GCD)
    source = GCD.encode("utf-8")
    found = [source[n.start_byte : n.end_byte].decode() for n in import_nodes(tree.root_node, "zig", source)]
    assert found == ['const std = @import("std");']


def test_top_level_definitions_and_their_signatures() -> None:
    tree = parse("zig", ONCE)
    source = ONCE.encode("utf-8")
    sites = top_level_definitions(tree.root_node, "zig", source)
    assert [(site.name, site.kind) for site in sites] == [
        ("once", "function"),
        ("Once", "function"),
        ("incr", "function"),
    ]
    rendered = {site.name: render_signature(site, source, lines_of(ONCE), "zig") for site in sites}
    assert rendered["once"] == "pub fn once(comptime f: fn () void) Once(f) { ... }"
    # The one-line `///` doc above comes along.
    assert rendered["Once"] == (
        "/// An object that executes the function `f` just once.\n"
        "pub fn Once(comptime f: fn () void) type { ... }"
    )


# ziglang/zig lib/std/bit_set.zig (MIT): a type is a constant whose value is a struct.
BIT_SET_RANGE = code(
    'const std = @import("std");',
    "",
    "/// A range of indices within a bitset.",
    "pub const Range = struct {",
    "    /// The index of the first bit of interest.",
    "    start: usize,",
    "    /// The index immediately after the last bit of interest.",
    "    end: usize,",
    "};",
    "",
)


def test_container_constants_are_types() -> None:
    tree = parse("zig", BIT_SET_RANGE)
    source = BIT_SET_RANGE.encode("utf-8")
    sites = top_level_definitions(tree.root_node, "zig", source)
    assert [(site.name, site.kind) for site in sites] == [("Range", "type")]
    assert render_signature(sites[0], source, lines_of(BIT_SET_RANGE), "zig").split("\n")[:2] == [
        "/// A range of indices within a bitset.",
        "pub const Range = struct {",
    ]
    definition = find_definition(BIT_SET_RANGE, "zig", 5, 6)
    assert definition is not None
    assert (definition.name, definition.kind) == ("Range", "class")
    assert definition.existing_doc == (2, 3)


def test_enclosing_nodes_function_and_headers_in_a_method_of_a_returned_struct() -> None:
    lines = lines_of(ONCE)
    row = row_of(ONCE, "const T = self.mutex.acquire();")
    column = lines[row].index("self")
    tree = parse("zig", ONCE)
    chain = enclosing_nodes(tree, lines, "zig", row, column)
    kinds = [node.type for node in chain]
    assert kinds.index("block") < kinds.index("struct_declaration") < kinds.index("source_file")
    function = enclosing_function(chain, "zig", ONCE.encode("utf-8"))
    assert function is not None
    assert lines[function.start_point.row].strip() == "fn callSlow(self: *@This()) void {"
    headers = header_rows(chain, row, "zig", lines)
    assert [lines[start].strip() for start, _ in headers] == [
        "pub fn Once(comptime f: fn () void) type {",
        "return struct {",
        "fn callSlow(self: *@This()) void {",
    ]


def test_blank_line_in_a_block_belongs_to_that_block() -> None:
    # The user opened a line at the end of callSlow's `if` body.
    row = row_of(ONCE, "@atomicStore(bool, &self.done, true, .Release);") + 1
    lines = lines_of(ONCE)
    lines.insert(row, "                ")
    text = "\n".join(lines)
    chain = enclosing_nodes(parse("zig", text), lines, "zig", row, 16)
    assert chain[0].type == "block"
    assert lines[chain[0].start_point.row].strip() == "if (!self.done) {"


def test_assembled_outline_has_the_signatures_used_near_the_cursor() -> None:
    cursor = ONCE.index("var global_once = once(incr);\n") + len("var global_once = once(incr);\n")
    budget = ContextBudget(prefix_tokens=20, suffix_tokens=20, outline_tokens=400)
    context_ = assemble_file_context(ONCE, parse("zig", ONCE), "zig", cursor, count_words, budget)
    pieces = {piece.name: piece.text for piece in context_.pieces}
    assert pieces["prefix"] == "var global_once = once(incr);\n"
    signatures = pieces["signatures"].split("\n")
    assert "pub fn once(comptime f: fn () void) Once(f) { ... }" in signatures
    assert "fn incr() void { ... }" in signatures
    assert "// ..." in signatures


def test_assembled_outline_has_the_enclosing_headers() -> None:
    marker = "        fn callSlow(self: *@This()) void {\n            @setCold(true);\n"
    cursor = ONCE.index(marker) + len(marker)
    budget = ContextBudget(prefix_tokens=40, suffix_tokens=20, outline_tokens=400)
    context_ = assemble_file_context(ONCE, parse("zig", ONCE), "zig", cursor, count_words, budget)
    pieces = {piece.name: piece.text for piece in context_.pieces}
    assert pieces["enclosing"].endswith(
        "pub fn Once(comptime f: fn () void) type {\n    return struct {\n        // ...\n"
    )
    assert pieces["prefix"] == marker


# -- completion kind ------------------------------------------------------------------------------


def decide(text: str, row: int, column: int) -> CompletionKind:
    return decide_completion_kind(text, row, column, "zig").kind


def test_block_start_is_multi_line() -> None:
    # incr's body cut: the user starts writing it on an indented empty line.
    header = row_of(ONCE, "fn incr() void {")
    lines = lines_of(ONCE)
    lines[header + 1] = "    "
    text = "\n".join(lines)
    decision = decide_completion_kind(text, header + 1, 4, "zig")
    assert decision.kind is CompletionKind.MULTI_LINE
    assert decision.block_indent == 4


def test_switch_prong_block_start_is_multi_line() -> None:
    row = row_of(GCD, ".ComptimeInt => {")
    lines = lines_of(GCD)
    lines.insert(row + 1, "            ")
    assert decide("\n".join(lines), row + 1, 12) is CompletionKind.MULTI_LINE


def test_mid_line_is_single_line() -> None:
    row = row_of(GCD, "m = x % y;")
    lines = lines_of(GCD)
    lines[row] = "        m = x "
    assert decide("\n".join(lines), row, len(lines[row])) is CompletionKind.SINGLE_LINE


def test_blank_line_after_a_statement_is_single_line() -> None:
    row = row_of(GCD, "std.debug.assert(a != 0 or b != 0);")
    lines = lines_of(GCD)
    lines.insert(row + 1, "    ")
    assert decide("\n".join(lines), row + 1, 4) is CompletionKind.SINGLE_LINE


def test_indent_unit_is_four_spaces() -> None:
    assert detect_indent_unit(ONCE, "zig") == "    "


# -- post-processing ------------------------------------------------------------------------------

ZIG_KEPT = code(
    "var total: i32 = 0;",
    "    for (values) |v| {",
    "        total += v;",
    "    }",
    "    return total;",
)

POSTPROCESS = Lang(
    name="zig",
    block=code(
        'const std = @import("std");',
        "",
        "pub fn sum(values: []const i32) i32 {",
        "    █",
        "}",
        "",
        "pub fn mean(values: []const i32) i32 {",
        "    return @divTrunc(sum(values), @as(i32, @intCast(values.len)));",
        "}",
        "",
    ),
    runs_past=code(ZIG_KEPT, "}", "", "pub fn mean(values: []const i32) i32 {"),
    runs_past_kept=ZIG_KEPT,
    wrong_indent=code(
        "var total: i32 = 0;",
        "    for (values) |v| {",
        "      total += v;",
        "    }",
        "    return total;",
    ),
    wrong_indent_fixed=ZIG_KEPT,
    broken=code(
        "var total: i32 = 0;",
        "    for (values) |v| {",
        "        total += ;",
        "    }",
        "    return total;",
    ),
    broken_kept="var total: i32 = 0;",
    body=code("pub fn sum(values: []const i32) i32 {", "    █", "    return total;", "}", ""),
    repeats=ZIG_KEPT,
    repeats_kept=code(
        "var total: i32 = 0;",
        "    for (values) |v| {",
        "        total += v;",
        "    }",
    ),
    repeats_only="return total;",
    call=code("pub fn larger(a: i32, b: i32) i32 {", "    return @max(█);", "}", ""),
    call_closes_twice="a, b));",
    call_closes_twice_kept="a, b",
    call_unbalanced="a, @min(b, 0",
    call_unbalanced_kept="a, @min(b, 0)",
)


def test_brackets_in_multi_line_string_lines_and_char_literals_do_not_close() -> None:
    ctx = context("zig", "fn usage() void {\n    █\n}\n")
    rule = block_close_stop(ctx)
    # A `\\` line is string text up to its end: its `}` closes nothing.
    text = 'const help =\n        \\\\usage: zig {build,run} }\n    ;\n    std.debug.print("{s}", .{help});'
    assert rule.check(text) is None
    call = block_close_stop(context("zig", "fn f(c: u8) bool {\n    return eql(█);\n}\n"))
    assert call.check("c, ')'") is None
    assert call.check("c, ')')") == len("c, ')'")


def test_postprocess_keeps_a_multi_line_string_body() -> None:
    ctx = context("zig", "fn usage() void {\n    █\n}\n")
    text = 'const help =\n        \\\\usage: zig {build,run}\n    ;\n    std.debug.print("{s}", .{help});'
    assert postprocess(text + "\n}\n\nfn main() void {", ctx).text == text


# -- actions --------------------------------------------------------------------------------------


def test_find_definition_and_code_context_of_a_method() -> None:
    row = row_of(ONCE, "return self.callSlow();")
    definition = find_definition(ONCE, "zig", row, 14)
    assert definition is not None
    assert (definition.name, definition.kind) == ("call", "function")
    assert definition.signature == "pub fn call(self: *@This()) void"
    # Its four `///` lines are the existing doc.
    assert definition.existing_doc == (row_of(ONCE, "/// Call the function `f`."), definition.start_line)
    context_ = code_context(ONCE, "zig", definition)
    assert context_.callee_signatures == ("fn callSlow(self: *@This()) void",)
    assert [d.name for d in all_definitions(ONCE, "zig")] == [
        "once",
        "Once",
        "call",
        "callSlow",
        "incr",
        "thread_fn",
    ]


def test_no_definition_between_top_level_declarations() -> None:
    assert find_definition(ONCE, "zig", row_of(ONCE, "var global_number: i32 = 0;") - 1, 0) is None


def test_doc_comment_replaces_the_existing_one() -> None:
    definition = find_definition(GCD, "zig", row_of(GCD, "if (a == 0) return b;"), 4)
    assert definition is not None and definition.name == "gcd"
    edit = place_doc(GCD, definition, "Returns the greatest common divisor.\n\nBoth must not be zero.")
    assert not isinstance(edit, str)
    after = apply_line_edit(GCD, edit)
    assert after.split("\n")[3:8] == [
        "",
        "/// Returns the greatest common divisor.",
        "///",
        "/// Both must not be zero.",
        "pub fn gcd(a: anytype, b: anytype) @TypeOf(a, b) {",
    ]


def test_doc_comment_added_above_an_undocumented_function() -> None:
    row = row_of(ONCE, "fn incr() void {")
    definition = find_definition(ONCE, "zig", row + 1, 4)
    assert definition is not None and definition.existing_doc is None
    assert format_doc(["Adds one."], definition, "") == "/// Adds one.\n"
    edit = place_doc(ONCE, definition, "Adds one to the global number.")
    assert not isinstance(edit, str)
    after = lines_of(apply_line_edit(ONCE, edit))
    assert after[row : row + 2] == ["/// Adds one to the global number.", "fn incr() void {"]


def test_unit_test_file_name_and_framework() -> None:
    path = PurePosixPath("lib/std/math/gcd.zig")
    assert unit_test_file_name(path, "zig", "gcd") == "gcd_gcd_test.zig"
    assert unit_test_file_name(PurePosixPath("lib/std/once.zig"), "zig", "Once.call") == "once_call_test.zig"
    assert "test" in unit_test_framework("zig")


# -- end to end -----------------------------------------------------------------------------------


async def test_end_to_end_completion_and_explain(smollm2_path: Path, tmp_path: Path) -> None:
    lines = lines_of(GCD)
    # Block start: the body of gcd's Euclidean loop cut; the user starts writing it.
    header = row_of(GCD, "while (y != 0) {")
    assert lines[header + 1 : header + 5] == [
        "        m = x % y;",
        "        x = y;",
        "        y = m;",
        "    }",
    ]
    lines[header + 1 : header + 4] = ["        "]
    # Mid-line: the user is typing one of the test's checks.
    check = lines.index("    try expectEqual(gcd(77, 33), 11);")
    lines[check] = "    try expectEqual("
    text = "\n".join(lines)
    completions = await check_end_to_end(
        smollm2_path,
        tmp_path,
        file_name="gcd.zig",
        language_id="zig",
        text=text,
        positions={"block start": (header + 1, 8), "mid-line": (check, len(lines[check]))},
        function_at=(row_of(GCD, "if (a == 0) return b;"), 4),
        symbol="gcd",
    )
    assert set(completions) == {"block start", "mid-line"}
