"""C# on real code: dotnet/runtime's KeyValuePair.cs (see data/csharp/SOURCE.md)."""

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
    member_definitions,
    render_signature,
    top_level_definitions,
)
from lsp_server.postprocess.syntax import PostprocessContext, make_parse_guard, parse_guard, postprocess
from tests.helpers import count_words
from tests.languages.common import check_end_to_end, offset_of, position_after, real_source
from tests.postprocess_cases import Lang, code

SOURCE = real_source("csharp", "KeyValuePair.cs")
LINES = SOURCE.split("\n")
BYTES = SOURCE.encode("utf-8")


def row_of(text: str) -> int:
    """The row of the line that contains ``text`` (once in the file)."""
    rows = [row for row, line in enumerate(LINES) if text in line]
    assert len(rows) == 1, (text, rows)
    return rows[0]


# -- detection ------------------------------------------------------------------------------------


@pytest.mark.parametrize("language_id", ["csharp", "cs", "CSharp"])
def test_detect_by_language_id(language_id: str) -> None:
    assert detect_language(language_id, "file:///tmp/notes.txt") == "csharp"


@pytest.mark.parametrize("path", ["file:///a/src/KeyValuePair.cs", "C:\\proj\\Program.CS", "rel/Queue.cs"])
def test_detect_by_extension(path: str) -> None:
    assert detect_language(None, path) == "csharp"


def test_real_file_parses_without_errors() -> None:
    assert not parse("csharp", SOURCE).root_node.has_error


# -- context pieces -------------------------------------------------------------------------------


def test_import_nodes_are_the_using_directives() -> None:
    root = parse("csharp", SOURCE).root_node
    assert [node.text.decode() for node in import_nodes(root, "csharp", BYTES) if node.text] == [
        "using System.ComponentModel;",
        "using System.Diagnostics;",
        "using System.Text;",
    ]


def test_top_level_definitions_look_through_the_namespace() -> None:
    root = parse("csharp", SOURCE).root_node
    sites = top_level_definitions(root, "csharp", BYTES)
    assert [(site.name, site.kind) for site in sites] == [("KeyValuePair", "type"), ("KeyValuePair", "type")]
    static_class, struct = sites
    assert render_signature(static_class, BYTES, LINES, "csharp") == code(
        "    // Provides the Create factory method for KeyValuePair<TKey, TValue>.",
        "    public static class KeyValuePair { ... }",
    )
    # The attributes belong to the struct: they come along with its header.
    assert render_signature(struct, BYTES, LINES, "csharp").endswith(
        code(
            "    [Serializable]",
            LINES[row_of("TypeForwardedFrom")],
            "    public readonly struct KeyValuePair<TKey, TValue> { ... }",
        )
    )


def test_members_and_their_signatures() -> None:
    root = parse("csharp", SOURCE).root_node
    struct = top_level_definitions(root, "csharp", BYTES)[1]
    members = member_definitions(struct.node, "csharp", BYTES)
    assert [(site.name, site.kind) for site in members] == [
        ("KeyValuePair", "method"),
        ("ToString", "method"),
        ("Deconstruct", "method"),
    ]
    assert render_signature(members[2], BYTES, LINES, "csharp") == code(
        "        [EditorBrowsable(EditorBrowsableState.Never)]",
        "        public void Deconstruct(out TKey key, out TValue value) { ... }",
    )


def test_enclosing_nodes_function_and_headers_at_a_cursor() -> None:
    tree = parse("csharp", SOURCE)
    row = row_of("s.Append(key.ToString());")
    chain = enclosing_nodes(tree, LINES, "csharp", row, len(LINES[row]))
    types = [node.type for node in chain]
    assert types[-4:] == [
        "class_declaration",
        "declaration_list",
        "namespace_declaration",
        "compilation_unit",
    ]
    assert "if_statement" in types and "method_declaration" in types
    function = enclosing_function(chain, "csharp")
    assert function is not None and function.type == "method_declaration"
    assert function.start_point.row == row_of("internal static string PairToString")
    headers = header_rows(chain, row, "csharp", LINES)
    assert [LINES[start] for start, _ in headers] == [
        "namespace System.Collections.Generic",
        "    public static class KeyValuePair",
        "        internal static string PairToString(object? key, object? value)",
        "            if (key is not null)",
    ]


def test_enclosing_nodes_on_a_blank_line_of_a_block() -> None:
    tree = parse("csharp", SOURCE)
    row = row_of("var s = new ValueStringBuilder") + 1
    assert LINES[row] == ""
    chain = enclosing_nodes(tree, LINES, "csharp", row, 12)
    assert chain[0].type == "block" and chain[1].type == "method_declaration"


def test_assembled_context_outline() -> None:
    cursor = offset_of(SOURCE, row_of("this.value = value;"), 12)
    tree = parse("csharp", SOURCE)
    budget = ContextBudget(prefix_tokens=4, suffix_tokens=20, outline_tokens=400)
    context = assemble_file_context(SOURCE, tree, "csharp", cursor, count_words, budget)
    assert [piece.name for piece in context.pieces] == [
        "imports",
        "enclosing",
        "signatures",
        "prefix",
        "suffix",
    ]
    # Imports, the other class as a signature, and the headers around the cursor (attributes included).
    assert context.prefix == code(
        "using System.ComponentModel;",
        "using System.Diagnostics;",
        "using System.Text;",
        "",
        "namespace System.Collections.Generic",
        "{",
        "    // ...",
        "    // Provides the Create factory method for KeyValuePair<TKey, TValue>.",
        "    public static class KeyValuePair { ... }",
        "    // ...",
        "    [Serializable]",
        LINES[row_of("TypeForwardedFrom")],
        "    public readonly struct KeyValuePair<TKey, TValue>",
        "    {",
        "        // ...",
        "        public KeyValuePair(TKey key, TValue value)",
        "        {",
        "            // ...",
        "            ",
    )
    assert context.suffix == "this.value = value;\n        }\n"


# -- completion kind ------------------------------------------------------------------------------


def test_block_start_is_multi_line() -> None:
    row = row_of("public void Deconstruct(") + 1
    assert LINES[row].strip() == "{"
    text = "\n".join([*LINES[: row + 1], "            ", *LINES[row + 3 :]])
    decision = decide_completion_kind(text, row + 1, 12, "csharp")
    assert decision.kind is CompletionKind.MULTI_LINE
    assert decision.indent_unit == "    " == detect_indent_unit(SOURCE, "csharp")


def test_mid_line_is_single_line() -> None:
    # The user is typing `return KeyValuePair.PairToString(Key, Value);`: nothing after the cursor yet.
    line, character = position_after(SOURCE, "return KeyValuePair.PairToString(")
    offset = offset_of(SOURCE, line, character)
    text = SOURCE[:offset] + SOURCE[SOURCE.index("\n", offset) :]
    assert decide_completion_kind(text, line, character, "csharp").kind is CompletionKind.SINGLE_LINE
    # With the rest of the line still there (code after the cursor) nothing is offered.
    assert decide_completion_kind(SOURCE, line, character, "csharp").kind is CompletionKind.NONE


# -- post-processing ------------------------------------------------------------------------------

CSHARP_KEPT = code(
    "var s = new ValueStringBuilder(stackalloc char[64]);",
    "            if (key is not null)",
    "            {",
    "                s.Append(key.ToString());",
    "            }",
    "            return s.ToString();",
)

POSTPROCESS = Lang(
    name="csharp",
    block=code(
        "using System.Text;",
        "",
        "namespace System.Collections.Generic",
        "{",
        "    public static class KeyValuePair",
        "    {",
        "        internal static string PairToString(object? key, object? value)",
        "        {",
        "            █",
        "        }",
        "",
        "        public static KeyValuePair<TKey, TValue> Create<TKey, TValue>(TKey key, TValue value)",
        "        {",
        "            return new KeyValuePair<TKey, TValue>(key, value);",
        "        }",
        "    }",
        "}",
        "",
    ),
    runs_past=code(
        CSHARP_KEPT, "        }", "", "        public static KeyValuePair<TKey, TValue> Create<TKey, TValue>("
    ),
    runs_past_kept=CSHARP_KEPT,
    wrong_indent=code(
        "var s = new ValueStringBuilder(stackalloc char[64]);",
        "            if (key is not null)",
        "            {",
        "              s.Append(key.ToString());",
        "            }",
        "            return s.ToString();",
    ),
    wrong_indent_fixed=CSHARP_KEPT,
    broken=code(
        "var s = new ValueStringBuilder(stackalloc char[64]);",
        "            if (key is not null)",
        "            {",
        "                s.Append(key.ToString() value);",
        "            }",
        "            return s.ToString();",
    ),
    broken_kept="var s = new ValueStringBuilder(stackalloc char[64]);",
    body=code(
        "public static class KeyValuePair",
        "{",
        "    internal static string PairToString(object? key, object? value)",
        "    {",
        "        █",
        "        return s.ToString();",
        "    }",
        "}",
        "",
    ),
    repeats=code(
        "var s = new ValueStringBuilder(stackalloc char[64]);",
        "        if (key is not null) s.Append(key.ToString());",
        "        return s.ToString();",
    ),
    repeats_kept=code(
        "var s = new ValueStringBuilder(stackalloc char[64]);",
        "        if (key is not null) s.Append(key.ToString());",
    ),
    repeats_only="return s.ToString();",
    call=code(
        "public readonly struct KeyValuePair<TKey, TValue>",
        "{",
        "    public override string ToString()",
        "    {",
        "        return KeyValuePair.PairToString(█);",
        "    }",
        "}",
        "",
    ),
    call_closes_twice="Key, Value));",
    call_closes_twice_kept="Key, Value",
    call_unbalanced="Key, Value.ToString(",
    call_unbalanced_kept="Key, Value.ToString()",
)


def _context(prefix: str, suffix: str, multi_line: bool) -> PostprocessContext:
    return PostprocessContext(
        language="csharp", prefix=prefix, suffix=suffix, multi_line=multi_line, indent_unit="    "
    )


@pytest.mark.parametrize(
    "literal",
    [
        '@"C:\\temp\\"',  # verbatim: a backslash before the quote does not escape it
        '@"{ ""quoted"" }"',
        '$"{key}: {{value}}"',
        '"""\n            } raw {\n            """',
    ],
)
def test_strings_hide_brackets_from_the_block_close_stop(literal: str) -> None:
    prefix = "class A\n{\n    string M(string key)\n    {\n        "
    completion = f"var s = {literal};\n        return s;\n    }}\n\n    void N()"
    result = postprocess(completion, _context(prefix, "\n    }\n}\n", True))
    assert result.text == f"var s = {literal};\n        return s;"


def test_parse_guard_cuts_a_broken_line_in_the_real_file() -> None:
    line, character = position_after(SOURCE, "var s = ")
    offset = offset_of(SOURCE, line, character)
    rest = SOURCE.index("\n", offset)
    guard = make_parse_guard(_context(SOURCE[:offset], SOURCE[rest:], False))
    assert guard is not None
    assert parse_guard("new ValueStringBuilder(stackalloc char[64]);", guard) == (
        "new ValueStringBuilder(stackalloc char[64]);"
    )
    assert parse_guard("new ValueStringBuilder(stackalloc char[64]) +;", guard) != (
        "new ValueStringBuilder(stackalloc char[64]) +;"
    )


# -- actions --------------------------------------------------------------------------------------


def test_find_definition_and_code_context() -> None:
    row = row_of("s.Append(key.ToString());")
    definition = find_definition(SOURCE, "csharp", row, 20)
    assert definition is not None
    assert (definition.name, definition.kind) == ("PairToString", "method")
    assert definition.signature == "internal static string PairToString(object? key, object? value)"
    # The XML doc above is the definition's existing doc (three `///` lines).
    assert definition.existing_doc == (row_of("/// <summary>"), definition.anchor_line)
    assert definition.existing_doc[0] == definition.anchor_line - 3
    context = code_context(SOURCE, "csharp", definition)
    assert context.enclosing_class is not None
    assert context.enclosing_class.signature == "public static class KeyValuePair"
    assert context.imports == (
        "using System.ComponentModel;",
        "using System.Diagnostics;",
        "using System.Text;",
    )
    caller = find_definition(SOURCE, "csharp", row_of("return KeyValuePair.PairToString(Key, Value);"), 20)
    assert caller is not None and caller.name == "ToString"
    callees = code_context(SOURCE, "csharp", caller).callee_signatures
    assert "internal static string PairToString(object? key, object? value)" in callees


def test_definitions_in_the_file() -> None:
    found = [(d.name, d.kind) for d in all_definitions(SOURCE, "csharp")]
    assert found == [
        ("KeyValuePair", "class"),
        ("Create", "method"),
        ("PairToString", "method"),
        ("KeyValuePair", "class"),
        ("KeyValuePair", "method"),
        ("ToString", "method"),
        ("Deconstruct", "method"),
    ]


def test_doc_is_written_as_xml_doc_lines_above_the_attributes() -> None:
    row = row_of("public void Deconstruct(")
    definition = find_definition(SOURCE, "csharp", row + 2, 12)
    assert definition is not None and definition.name == "Deconstruct"
    assert definition.anchor_line == row - 1  # the [EditorBrowsable] attribute line
    assert definition.existing_doc is None
    text = format_doc(["<summary>", "Deconstructs the pair.", "</summary>"], definition, "        ")
    assert text == code(
        "        /// <summary>",
        "        /// Deconstructs the pair.",
        "        /// </summary>",
        "",
    )
    edit = place_doc(SOURCE, definition, "<summary>\nDeconstructs the pair.\n</summary>")
    assert not isinstance(edit, str)
    after = apply_line_edit(SOURCE, edit).split("\n")
    assert after[row - 1 : row + 3] == [
        "        /// <summary>",
        "        /// Deconstructs the pair.",
        "        /// </summary>",
        "        [EditorBrowsable(EditorBrowsableState.Never)]",
    ]


def test_existing_xml_doc_is_replaced() -> None:
    definition = find_definition(SOURCE, "csharp", row_of("internal static string PairToString"), 30)
    assert definition is not None
    edit = place_doc(SOURCE, definition, "Formats a key and a value as [key, value].")
    assert not isinstance(edit, str)
    after = apply_line_edit(SOURCE, edit)
    assert "/// Used by KeyValuePair.ToString" not in after
    assert "        /// Formats a key and a value as [key, value].\n        internal static string" in after


def test_unit_test_file_name_and_framework() -> None:
    path = PurePosixPath("src/System/Collections/Generic/KeyValuePair.cs")
    assert unit_test_file_name(path, "csharp", "pairToString") == "PairToStringTests.cs"
    assert unit_test_framework("csharp") == "xUnit"


# -- end to end -----------------------------------------------------------------------------------


async def test_end_to_end_completion_and_explain(smollm2_path: Path, tmp_path: Path) -> None:
    lines = list(LINES)
    # Mid-line: the user is typing `return new KeyValuePair<TKey, TValue>(key, value);` in Create.
    create = row_of("return new KeyValuePair<TKey, TValue>(key, value);")
    create_column = LINES[create].index("(") + 1
    lines[create] = LINES[create][:create_column]
    # Block start: the user starts writing ToString's body (its header and `{`, an indented empty line).
    header = row_of("public override string ToString()")
    body_start = header + 2
    assert lines[header + 1] == "        {" and lines[body_start + 1] == "        }"
    lines[body_start] = "            "
    text = "\n".join(lines)
    completions = await check_end_to_end(
        smollm2_path,
        tmp_path,
        file_name="KeyValuePair.cs",
        language_id="csharp",
        text=text,
        positions={"block start": (body_start, 12), "mid-line": (create, create_column)},
        function_at=(row_of("s.Append(']');"), 14),
        symbol="PairToString",
    )
    assert set(completions) == {"block start", "mid-line"}
