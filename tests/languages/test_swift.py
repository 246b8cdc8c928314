"""Swift on real files: swift-algorithms' ``cycled()`` and its XCTest tests (data/swift/SOURCE.md)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from lsp_server.actions.definitions import code_context, find_definition
from lsp_server.actions.docstring import apply_line_edit, format_doc, place_doc
from lsp_server.actions.tasks import unit_test_file_name, unit_test_framework
from lsp_server.context import syntax_tree
from lsp_server.context.assemble import ContextBudget, assemble_file_context
from lsp_server.context.completion_kind import CompletionKind, decide_completion_kind
from lsp_server.context.languages import detect_language, parse
from lsp_server.postprocess.syntax import block_close_stop, postprocess
from tests.helpers import count_words
from tests.languages.common import body_cut, check_end_to_end, offset_of, position_after, real_source
from tests.postprocess_cases import Lang, code, context

CYCLE = real_source("swift", "Cycle.swift")
TESTS = real_source("swift", "CycleTests.swift")

SWIFT_KEPT = code(
    "var total = 0.0",
    "    for value in values {",
    "        total += value",
    "    }",
    "    return total / Double(values.count)",
)

POSTPROCESS = Lang(
    name="swift",
    block=code(
        "import Foundation",
        "",
        "func average(_ values: [Double]) -> Double {",
        "    █",
        "}",
        "",
        "func median(_ values: [Double]) -> Double {",
        "    return values.sorted()[values.count / 2]",
        "}",
        "",
    ),
    runs_past=code(SWIFT_KEPT, "}", "", "func median(_ values: [Double]) -> Double {"),
    runs_past_kept=SWIFT_KEPT,
    wrong_indent=code(
        "var total = 0.0",
        "    for value in values {",
        "      total += value",
        "    }",
        "    return total / Double(values.count)",
    ),
    wrong_indent_fixed=SWIFT_KEPT,
    broken=code(
        "var total = 0.0",
        "    let count = = values.count",
        "    return total / Double(count)",
    ),
    broken_kept="var total = 0.0",
    body=code(
        "func average(_ values: [Double]) -> Double {",
        "    █",
        "    return total / Double(values.count)",
        "}",
        "",
    ),
    repeats=SWIFT_KEPT,
    repeats_kept=code(
        "var total = 0.0",
        "    for value in values {",
        "        total += value",
        "    }",
    ),
    repeats_only="return total / Double(values.count)",
    call=code(
        "func describe(_ values: [Double]) -> String {",
        '    return String(format: "%.2f", █)',
        "}",
        "",
    ),
    call_closes_twice="average(values))",
    call_closes_twice_kept="average(values)",
    call_unbalanced="average(values",
    call_unbalanced_kept="average(values)",
)


def lines_of(text: str) -> list[str]:
    return text.split("\n")


# -- detection ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language_id", "path"),
    [("swift", "file:///a/notes.txt"), ("Swift", None), (None, "file:///a/Sources/Algorithms/Cycle.swift")],
)
def test_detected_by_language_id_and_extension(language_id: str | None, path: str | None) -> None:
    assert detect_language(language_id, path) == "swift"


def test_real_files_parse_without_errors() -> None:
    assert not parse("swift", CYCLE).root_node.has_error
    assert not parse("swift", TESTS).root_node.has_error


# -- context pieces --------------------------------------------------------------------------------


def test_imports_and_top_level_definitions_of_the_test_file() -> None:
    tree = parse("swift", TESTS)
    source = TESTS.encode("utf-8")
    imports = syntax_tree.import_nodes(tree.root_node, "swift", source)
    assert [source[n.start_byte : n.end_byte].decode() for n in imports] == [
        "import Algorithms",
        "import XCTest",
    ]
    sites = syntax_tree.top_level_definitions(tree.root_node, "swift", source)
    assert [(s.name, s.kind) for s in sites] == [("CycleTests", "type")]
    lines = lines_of(TESTS)
    signature = syntax_tree.render_signature(sites[0], source, lines, "swift")
    assert signature == "final class CycleTests: XCTestCase { ... }"
    members = syntax_tree.member_definitions(sites[0].node, "swift", source)
    assert [m.name for m in members][:3] == ["testCycle", "testCycleClosedRangePrefix", "testEmptyCycle"]
    assert all(m.kind == "method" for m in members) and len(members) == 11


def test_structs_and_extensions_are_types_with_their_doc_line() -> None:
    tree = parse("swift", CYCLE)
    source = CYCLE.encode("utf-8")
    lines = lines_of(CYCLE)
    sites = syntax_tree.top_level_definitions(tree.root_node, "swift", source)
    assert [s.name for s in sites] == [
        "CycledSequence",
        "CycledSequence",
        "CycledSequence",
        "CycledTimesCollection",
        "CycledTimesCollection",
        "CycledTimesCollection",
        "CycledTimesCollection",
        "CycledTimesCollection",
        "Collection",
    ]
    assert {s.kind for s in sites} == {"type"}
    rendered = [syntax_tree.render_signature(s, source, lines, "swift") for s in sites]
    # A short struct is shown whole with the `///` line above it; a long extension loses its body.
    assert rendered[0].startswith(
        "/// A collection wrapper that repeats the elements of a base collection.\n"
    )
    assert rendered[0].endswith("    self.base = base\n  }\n}")
    assert rendered[1] == "extension CycledSequence: Sequence { ... }"
    assert rendered[-1] == "extension Collection { ... }"
    # A generic where clause on its own line stays part of the header.
    assert rendered[5].startswith("extension CycledTimesCollection: BidirectionalCollection\n")


def test_enclosing_nodes_function_and_headers_mid_line() -> None:
    tree = parse("swift", CYCLE)
    lines = lines_of(CYCLE)
    line, character = position_after(CYCLE, "let productIndex = product.index(before:")
    chain = syntax_tree.enclosing_nodes(tree, lines, "swift", line, character)
    kinds = [node.type for node in chain]
    assert kinds[-6:] == [
        "statements",
        "function_body",
        "function_declaration",
        "class_body",
        "class_declaration",
        "source_file",
    ]
    function = syntax_tree.enclosing_function(chain, "swift")
    assert function is not None and lines[function.start_point.row] == "  @inlinable"
    headers = syntax_tree.header_rows(chain, line, "swift", lines)
    assert [lines[a : b + 1] for a, b in headers] == [
        [
            "extension CycledTimesCollection: BidirectionalCollection",
            "where Base: BidirectionalCollection {",
        ],
        ["  @inlinable", "  public func index(before i: Index) -> Index {"],
    ]


def test_blank_first_line_of_a_closure_opens_a_block() -> None:
    text = TESTS.replace(
        '    let empty = Array("".cycled())\n',
        "    let empty = (1...3).map { value in\n      \n    }\n",
    )
    lines = lines_of(text)
    line, _ = position_after(text, "map { value in\n")
    chain = syntax_tree.enclosing_nodes(parse("swift", text), lines, "swift", line, 6)
    function = syntax_tree.enclosing_function(chain, "swift")
    assert function is not None and lines[function.start_point.row] == "  func testEmptyCycle() {"
    decision = decide_completion_kind(text, line, 6, "swift")
    assert decision.kind is CompletionKind.MULTI_LINE
    assert decision.block_indent == 6


def test_assembled_context_outline_of_the_test_file() -> None:
    line, character = position_after(TESTS, "    XCTAssertEqual(cycle.count")
    budget = ContextBudget(prefix_tokens=30, suffix_tokens=20, outline_tokens=400)
    tree = parse("swift", TESTS)
    context = assemble_file_context(
        TESTS, tree, "swift", offset_of(TESTS, line, character), count_words, budget
    )
    window = next(p.text for p in context.pieces if p.name == "prefix")
    outline = context.prefix[: len(context.prefix) - len(window)]
    assert outline == (
        "import Algorithms\nimport XCTest\n\n"
        "final class CycleTests: XCTestCase {\n  // ...\n  func testRepeatedCount() {\n"
    )
    assert window == "    let cycle = (1..<5).cycled(times: 2)\n    XCTAssertEqual(cycle.count"
    assert {p.name for p in context.pieces} == {"imports", "enclosing", "prefix", "suffix"}


def test_assembled_context_outline_shows_signatures_and_headers() -> None:
    line, character = position_after(CYCLE, "    CycledTimesCollection(base: self, ")
    budget = ContextBudget(prefix_tokens=20, suffix_tokens=20, outline_tokens=400)
    tree = parse("swift", CYCLE)
    context = assemble_file_context(
        CYCLE, tree, "swift", offset_of(CYCLE, line, character), count_words, budget
    )
    window = next(p.text for p in context.pieces if p.name == "prefix")
    outline = context.prefix[: len(context.prefix) - len(window)]
    assert window == "    CycledTimesCollection(base: self, "
    # Short types whole (with their `///` line), long extensions as `{ ... }`, then the enclosing headers.
    assert outline.startswith(
        "/// finite number of times.\npublic struct CycledTimesCollection<Base: Collection> {"
    )
    assert "\nextension CycledTimesCollection: Collection { ... }\n" in outline
    assert "  public func cycled() -> CycledSequence<Self> { ... }\n" in outline
    assert outline.endswith(
        "extension Collection {\n  // ...\n  /// - Complexity: O(1)\n  @inlinable\n"
        "  public func cycled() -> CycledSequence<Self> { ... }\n  // ...\n  @inlinable\n"
        "  public func cycled(times: Int) -> CycledTimesCollection<Self> {\n"
    )


# -- completion kind ---------------------------------------------------------------------------------


EMPTY_CYCLE_BODY = '    let empty = Array("".cycled())\n    XCTAssert(empty.isEmpty)\n'


def test_block_start_is_multi_line() -> None:
    text, line, character = body_cut(TESTS, "  func testEmptyCycle() {", EMPTY_CYCLE_BODY)
    decision = decide_completion_kind(text, line, character, "swift")
    assert decision.kind is CompletionKind.MULTI_LINE
    assert decision.block_indent == 4
    assert decision.indent_unit == "  "


def test_switch_case_label_opens_a_block() -> None:
    text = "switch side {\ncase .left:\n    \ndefault:\n    break\n}\n"
    decision = decide_completion_kind(text, 2, 4, "swift")
    assert decision.kind is CompletionKind.MULTI_LINE


def test_mid_line_is_single_line() -> None:
    line, character = position_after(TESTS, "XCTAssertEqual(cycle.count, ")
    decision = decide_completion_kind(TESTS, line, character, "swift")
    # `8)` follows the cursor: code after the cursor on the line.
    assert decision.kind is CompletionKind.NONE
    text = TESTS.replace("XCTAssertEqual(cycle.count, 8)", "XCTAssertEqual(cycle.count, ")
    line, character = position_after(text, "XCTAssertEqual(cycle.count, ")
    assert decide_completion_kind(text, line, character, "swift").kind is CompletionKind.SINGLE_LINE


def test_raw_and_multi_line_strings_hide_brackets_from_the_stop() -> None:
    rule = block_close_stop(context("swift", "func f(_ s: String) {\n    print(█)\n}\n"))
    assert rule.check('#"a) "quoted" }"#, s') is None
    assert rule.check('"\\(s))", s') is None
    assert rule.check("s)") == 1
    multi = block_close_stop(context("swift", "func f(_ s: String) -> String {\n    █\n}\n"))
    assert multi.check('let text = """\n) }\n"""\n    return text') is None
    assert multi.check("return s\n}") == len("return s")


def test_postprocess_keeps_a_closure_body() -> None:
    ctx = context("swift", "func names(_ xs: [Int]) -> [String] {\n    █\n}\n")
    text = "return xs.map { x in\n        String(x)\n    }\n}\n\nfunc other() {"
    assert postprocess(text, ctx).text == "return xs.map { x in\n        String(x)\n    }"


# -- actions -------------------------------------------------------------------------------------------


def test_find_definition_of_a_method_in_an_extension() -> None:
    line, _ = position_after(CYCLE, "Iterator(base: base)")
    definition = find_definition(CYCLE, "swift", line, 4)
    assert definition is not None
    assert (definition.name, definition.kind) == ("makeIterator", "method")
    assert definition.signature == "@inlinable public func makeIterator() -> Iterator"
    assert CYCLE.split("\n")[definition.anchor_line] == "  @inlinable"
    assert definition.existing_doc is None


def test_existing_triple_slash_doc_is_recognized() -> None:
    line, _ = position_after(CYCLE, "CycledSequence(base: self)")
    definition = find_definition(CYCLE, "swift", line, 4)
    assert definition is not None and definition.name == "cycled"
    assert definition.existing_doc is not None
    start, end = definition.existing_doc
    lines = lines_of(CYCLE)
    assert lines[start] == "  /// Returns a sequence that repeats the elements of this collection forever."
    assert lines[end - 1] == "  /// - Complexity: O(1)"
    assert lines[end] == "  @inlinable"


def test_code_context_has_the_enclosing_extension_and_imports() -> None:
    line, _ = position_after(TESTS, 'let empty = Array("".cycled())')
    definition = find_definition(TESTS, "swift", line, 4)
    assert definition is not None and (definition.name, definition.kind) == ("testEmptyCycle", "method")
    context = code_context(TESTS, "swift", definition)
    assert context.enclosing_class is not None and context.enclosing_class.name == "CycleTests"
    assert context.imports == ("import Algorithms", "import XCTest")


def test_code_context_lists_called_definitions() -> None:
    line, _ = position_after(CYCLE, "let productIndex = product.index(before:")
    definition = find_definition(CYCLE, "swift", line, 4)
    assert definition is not None
    context = code_context(CYCLE, "swift", definition)
    assert "public struct Index: Comparable" in context.callee_signatures


ANSWER = "Returns the size.\n\nCounts the items."


def test_format_and_place_a_doc_comment() -> None:
    line, _ = position_after(CYCLE, "Iterator(base: base)")
    definition = find_definition(CYCLE, "swift", line, 4)
    assert definition is not None
    assert format_doc(["Returns the size.", "", "Counts the items."], definition, "  ") == (
        "  /// Returns the size.\n  ///\n  /// Counts the items.\n"
    )
    edit = place_doc(CYCLE, definition, ANSWER)
    assert not isinstance(edit, str)
    expected = CYCLE.replace(
        "  @inlinable\n  public func makeIterator()",
        "  /// Returns the size.\n  ///\n  /// Counts the items.\n  @inlinable\n  public func makeIterator()",
    )
    assert apply_line_edit(CYCLE, edit) == expected


def test_unit_test_file_name_and_framework() -> None:
    path = PurePosixPath("Sources/Algorithms/Cycle.swift")
    assert unit_test_file_name(path, "swift", "cycled") == "CycledTests.swift"
    assert unit_test_file_name(path, "swift", "CycledTimesCollection.index") == "IndexTests.swift"
    assert unit_test_framework("swift") == "XCTest"


# -- end to end --------------------------------------------------------------------------------------


async def test_end_to_end_on_the_real_source(smollm2_path: Path, tmp_path: Path) -> None:
    text, block_line, block_character = body_cut(
        CYCLE,
        "  public func index(after i: Index) -> Index {",
        "    let productIndex = product.index(after: i.productIndex)\n    return Index(productIndex)\n",
    )
    typed = "    product.distance(from: start.productIndex, to: end.productIndex)"
    cut_at = "    product.distance(from: "
    text = text.replace(typed, cut_at, 1)
    mid_line, mid_character = position_after(text, cut_at)
    assert text.split("\n")[mid_line] == cut_at
    completions = await check_end_to_end(
        smollm2_path,
        tmp_path,
        file_name="Cycle.swift",
        language_id="swift",
        text=text,
        positions={"block": (block_line, block_character), "mid_line": (mid_line, mid_character)},
        function_at=position_after(text, "Iterator(base: base)"),
        symbol="makeIterator",
    )
    assert completions["block"].strip() and completions["mid_line"].strip()
