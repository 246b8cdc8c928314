"""Kotlin on real code: the standard library's Preconditions.kt and Lazy.kt (see data/kotlin/SOURCE.md)."""

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
from lsp_server.postprocess.syntax import PostprocessContext, postprocess
from tests.helpers import count_words
from tests.languages.common import check_end_to_end, offset_of, position_after, real_source, row_of
from tests.postprocess_cases import Lang, code

PRECONDITIONS = real_source("kotlin", "Preconditions.kt")
LAZY = real_source("kotlin", "Lazy.kt")


# -- detection ------------------------------------------------------------------------------------


@pytest.mark.parametrize("language_id", ["kotlin", "Kotlin"])
def test_detect_by_language_id(language_id: str) -> None:
    assert detect_language(language_id, "file:///tmp/notes.txt") == "kotlin"


@pytest.mark.parametrize("path", ["file:///a/src/Lazy.kt", "file:///a/build.gradle.kts", "rel/Main.KT"])
def test_detect_by_extension(path: str) -> None:
    assert detect_language(None, path) == "kotlin"


@pytest.mark.parametrize("text", [PRECONDITIONS, LAZY])
def test_real_files_parse_without_errors(text: str) -> None:
    assert not parse("kotlin", text).root_node.has_error


# -- context pieces -------------------------------------------------------------------------------


def test_import_nodes_are_the_package_header_and_imports() -> None:
    root = parse("kotlin", LAZY).root_node
    found = [node.text.decode() for node in import_nodes(root, "kotlin", LAZY.encode()) if node.text]
    assert found == ["package kotlin", "import java.io.Serializable", "import kotlin.reflect.KProperty"]


def test_top_level_definitions() -> None:
    source = LAZY.encode()
    sites = top_level_definitions(parse("kotlin", LAZY).root_node, "kotlin", source)
    assert [(site.name, site.kind) for site in sites] == [
        ("Lazy", "type"),
        ("lazyOf", "function"),
        ("lazy", "function"),
        ("lazy", "function"),
        ("lazy", "function"),
        ("getValue", "function"),
        ("LazyThreadSafetyMode", "type"),
        ("UNINITIALIZED_VALUE", "type"),
        ("SynchronizedLazyImpl", "type"),
        ("UnsafeLazyImpl", "type"),
        ("InitializedLazyImpl", "type"),
        ("SafePublicationLazyImpl", "type"),
    ]
    lines = LAZY.split("\n")
    # One-line definitions (`= expr` bodies) are shown whole.
    assert render_signature(sites[1], source, lines, "kotlin") == (
        "public fun <T> lazyOf(value: T): Lazy<T> = InitializedLazyImpl(value)"
    )
    assert render_signature(sites[7], source, lines, "kotlin") == "private object UNINITIALIZED_VALUE"


def test_render_signature_elides_a_function_body() -> None:
    source = PRECONDITIONS.encode()
    lines = PRECONDITIONS.split("\n")
    sites = top_level_definitions(parse("kotlin", PRECONDITIONS).root_node, "kotlin", source)
    assert render_signature(sites[1], source, lines, "kotlin") == code(
        "@kotlin.internal.InlineOnly",
        "public inline fun require(value: Boolean, lazyMessage: () -> Any): Unit { ... }",
    )


def test_member_definitions_of_a_class() -> None:
    source = LAZY.encode()
    sites = top_level_definitions(parse("kotlin", LAZY).root_node, "kotlin", source)
    impl = next(site for site in sites if site.name == "UnsafeLazyImpl")
    members = member_definitions(impl.node, "kotlin", source)
    assert [site.name for site in members] == ["isInitialized", "toString", "writeReplace"]


def test_enclosing_nodes_function_and_headers_in_a_getter_lambda() -> None:
    lines = LAZY.split("\n")
    row = row_of(LAZY, "_v2 as T", 1)
    chain = enclosing_nodes(parse("kotlin", LAZY), lines, "kotlin", row, len(lines[row]))
    types = [node.type for node in chain]
    assert "lambda_literal" in types and types[-3:] == ["class_body", "class_declaration", "source_file"]
    function = enclosing_function(chain, "kotlin")
    assert function is not None and function.type == "getter"
    assert [lines[start] for start, _ in header_rows(chain, row, "kotlin", lines)] == [
        lines[row_of(LAZY, "private class SynchronizedLazyImpl", 1)],
        "    override val value: T",
        "        get() {",
        "            return synchronized(lock) {",
        "                if (_v2 !== UNINITIALIZED_VALUE) {",
    ]


def test_headers_of_an_annotated_function_and_an_expression_body() -> None:
    lines = PRECONDITIONS.split("\n")
    row = row_of(PRECONDITIONS, "throw IllegalArgumentException(message.toString())", 1)
    chain = enclosing_nodes(parse("kotlin", PRECONDITIONS), lines, "kotlin", row, 8)
    function = enclosing_function(chain, "kotlin")
    assert function is not None and function.start_point.row == row_of(PRECONDITIONS, "InlineOnly", 2)
    assert [
        lines[row] for rows in header_rows(chain, row, "kotlin", lines) for row in range(rows[0], rows[1] + 1)
    ] == [
        "@kotlin.internal.InlineOnly",
        "public inline fun require(value: Boolean, lazyMessage: () -> Any): Unit {",
        "    if (!value) {",
    ]
    lines = LAZY.split("\n")
    row = row_of(LAZY, "LazyThreadSafetyMode.NONE ->", 1)
    chain = enclosing_nodes(parse("kotlin", LAZY), lines, "kotlin", row, 12)
    assert [lines[a] for a, _ in header_rows(chain, row, "kotlin", lines)] == [
        "@kotlin.jvm.JvmVersion",
        "public fun <T> lazy(mode: LazyThreadSafetyMode, initializer: () -> T): Lazy<T> =",
        "        when (mode) {",
    ]


def test_assembled_context_outline() -> None:
    cursor = offset_of(LAZY, row_of(LAZY, "initializer = null", 2), 16)
    budget = ContextBudget(prefix_tokens=4, suffix_tokens=20, outline_tokens=400)
    context = assemble_file_context(LAZY, parse("kotlin", LAZY), "kotlin", cursor, count_words, budget)
    # The package and imports, the signature of a name used near the cursor, the headers around it.
    assert context.prefix == code(
        "package kotlin",
        "",
        "import java.io.Serializable",
        "import kotlin.reflect.KProperty",
        "// ...",
        "private object UNINITIALIZED_VALUE",
        "// ...",
        "internal class UnsafeLazyImpl<out T>(initializer: () -> T) : Lazy<T>(), Serializable {",
        "    // ...",
        "    override val value: T",
        "        get() {",
        "            if (_value === UNINITIALIZED_VALUE) {",
        "                // ...",
        "                ",
    )
    assert context.suffix.startswith("initializer = null\n            }\n")


# -- completion kind ------------------------------------------------------------------------------


def test_block_start_is_multi_line() -> None:
    lines = PRECONDITIONS.split("\n")
    header = row_of(PRECONDITIONS, "public inline fun check(value: Boolean, lazyMessage", 1)
    close = lines.index("}", header)
    text = "\n".join([*lines[: header + 1], "    ", *lines[close:]])
    decision = decide_completion_kind(text, header + 1, 4, "kotlin")
    assert decision.kind is CompletionKind.MULTI_LINE
    assert decision.indent_unit == "    " == detect_indent_unit(PRECONDITIONS, "kotlin")


def test_lambda_start_is_multi_line() -> None:
    lines = PRECONDITIONS.split("\n")
    row = row_of(PRECONDITIONS, "contract {", 1)
    text = "\n".join([*lines[: row + 1], "        ", *lines[row + 2 :]])
    assert decide_completion_kind(text, row + 1, 8, "kotlin").kind is CompletionKind.MULTI_LINE


def test_mid_line_is_single_line() -> None:
    line, character = position_after(PRECONDITIONS, "throw IllegalStateException(")
    offset = offset_of(PRECONDITIONS, line, character)
    text = PRECONDITIONS[:offset] + PRECONDITIONS[PRECONDITIONS.index("\n", offset) :]
    assert decide_completion_kind(text, line, character, "kotlin").kind is CompletionKind.SINGLE_LINE


# -- post-processing ------------------------------------------------------------------------------

KOTLIN_KEPT = code(
    "if (value == null) {",
    "        val message = lazyMessage()",
    "        throw IllegalArgumentException(message.toString())",
    "    }",
    "    return value",
)

POSTPROCESS = Lang(
    name="kotlin",
    block=code(
        "package kotlin",
        "",
        "import kotlin.contracts.contract",
        "",
        "public inline fun <T : Any> requireNotNull(value: T?, lazyMessage: () -> Any): T {",
        "    █",
        "}",
        "",
        "public inline fun check(value: Boolean): Unit {",
        '    check(value) { "Check failed." }',
        "}",
        "",
    ),
    runs_past=code(KOTLIN_KEPT, "}", "", "public inline fun check(value: Boolean): Unit {"),
    runs_past_kept=KOTLIN_KEPT,
    wrong_indent=code(
        "if (value == null) {",
        "      val message = lazyMessage()",
        "      throw IllegalArgumentException(message.toString())",
        "    }",
        "    return value",
    ),
    wrong_indent_fixed=KOTLIN_KEPT,
    broken=code(
        "val message = lazyMessage()",
        "    if (value == null) {",
        "        throw IllegalArgumentException(message.toString() message)",
        "    }",
        "    return value",
    ),
    broken_kept="val message = lazyMessage()",
    body=code(
        "public inline fun <T : Any> requireNotNull(value: T?, lazyMessage: () -> Any): T {",
        "    █",
        "    return value",
        "}",
        "",
    ),
    repeats=code(
        "if (value == null) throw IllegalArgumentException(lazyMessage().toString())",
        "    return value",
    ),
    repeats_kept="if (value == null) throw IllegalArgumentException(lazyMessage().toString())",
    repeats_only="return value",
    call=code(
        "public inline fun check(value: Boolean, lazyMessage: () -> Any): Unit {",
        "    if (!value) {",
        "        val message = lazyMessage()",
        "        throw IllegalStateException(█)",
        "    }",
        "}",
        "",
    ),
    call_closes_twice="message.toString()))",
    call_closes_twice_kept="message.toString()",
    call_unbalanced="message.toString(",
    call_unbalanced_kept="message.toString()",
)


@pytest.mark.parametrize(
    "literal",
    [
        '"}"',
        "'}'",
        '"${value} }"',
        '"""\n        } raw \\ {\n        """',
    ],
)
def test_strings_hide_brackets_from_the_block_close_stop(literal: str) -> None:
    prefix = "public fun f(value: Any): String {\n    "
    completion = f"val s = {literal}\n    return s\n}}\n\npublic fun g() {{"
    context = PostprocessContext(
        language="kotlin", prefix=prefix, suffix="\n}\n", multi_line=True, indent_unit="    "
    )
    assert postprocess(completion, context).text == f"val s = {literal}\n    return s"


# -- actions --------------------------------------------------------------------------------------


def test_find_definition_and_its_kdoc() -> None:
    row = row_of(PRECONDITIONS, "throw IllegalArgumentException(message.toString())", 1)
    definition = find_definition(PRECONDITIONS, "kotlin", row, 8)
    assert definition is not None
    assert (definition.name, definition.kind) == ("require", "function")
    # The annotation is part of the declaration: the doc goes above it.
    assert definition.anchor_line == row_of(PRECONDITIONS, "InlineOnly", 2)
    assert definition.existing_doc == (row_of(PRECONDITIONS, "/**", 2), definition.anchor_line)
    context = code_context(PRECONDITIONS, "kotlin", definition)
    assert context.imports == ("package kotlin", "import kotlin.contracts.contract")
    assert context.enclosing_class is None


def test_methods_and_classes_in_a_file() -> None:
    found = [(d.name, d.kind) for d in all_definitions(LAZY, "kotlin")]
    assert found[:3] == [("Lazy", "class"), ("isInitialized", "method"), ("lazyOf", "function")]
    assert ("SafePublicationLazyImpl", "class") in found
    row = row_of(LAZY, "override fun toString(): String = value.toString()", 1)
    definition = find_definition(LAZY, "kotlin", row, 10)
    assert definition is not None and (definition.name, definition.kind) == ("toString", "method")
    context = code_context(LAZY, "kotlin", definition)
    assert context.enclosing_class is not None and context.enclosing_class.name == "InitializedLazyImpl"


def test_definition_signature_is_the_fun_header() -> None:
    row = row_of(PRECONDITIONS, "throw IllegalArgumentException(message.toString())", 1)
    definition = find_definition(PRECONDITIONS, "kotlin", row, 8)
    assert definition is not None
    assert definition.signature == (
        "@kotlin.internal.InlineOnly public inline fun require(value: Boolean, lazyMessage: () -> Any): Unit"
    )


def test_code_context_has_callee_signatures() -> None:
    row = row_of(LAZY, "override fun toString(): String = if (isInitialized())", 1)
    definition = find_definition(LAZY, "kotlin", row, 10)
    assert definition is not None and definition.name == "toString"
    context = code_context(LAZY, "kotlin", definition)
    assert "public abstract fun isInitialized(): Boolean" in context.callee_signatures


def test_kdoc_block_is_written_above_the_annotation() -> None:
    row = row_of(LAZY, "private class SafePublicationLazyImpl", 1)
    definition = find_definition(LAZY, "kotlin", row, 20)
    assert definition is not None and definition.name == "SafePublicationLazyImpl"
    assert definition.anchor_line == row - 1 and definition.existing_doc is None
    assert format_doc(["Publishes safely.", "", "Uses a CAS."], definition, "") == code(
        "/**", " * Publishes safely.", " *", " * Uses a CAS.", " */", ""
    )
    edit = place_doc(LAZY, definition, "Publishes safely.\n\nUses a CAS.")
    assert not isinstance(edit, str)
    after = apply_line_edit(LAZY, edit).split("\n")
    assert after[row - 1 : row + 6] == [
        "/**",
        " * Publishes safely.",
        " *",
        " * Uses a CAS.",
        " */",
        "@kotlin.jvm.JvmVersion",
        "private class SafePublicationLazyImpl<out T>(initializer: () -> T) : Lazy<T>(), Serializable {",
    ]


def test_existing_kdoc_is_replaced_and_indented_in_a_class() -> None:
    row = row_of(LAZY, "public abstract fun isInitialized(): Boolean", 1)
    definition = find_definition(LAZY, "kotlin", row, 20)
    assert definition is not None and definition.kind == "method"
    assert definition.existing_doc == (row - 3, row)
    edit = place_doc(LAZY, definition, "Whether the value is initialized.")
    assert not isinstance(edit, str)
    after = apply_line_edit(LAZY, edit).split("\n")
    assert after[row - 3 : row + 1] == [
        "    /**",
        "     * Whether the value is initialized.",
        "     */",
        "    public abstract fun isInitialized(): Boolean",
    ]


def test_unit_test_file_name_and_framework() -> None:
    path = PurePosixPath("libraries/stdlib/src/kotlin/util/Lazy.kt")
    assert unit_test_file_name(path, "kotlin", "lazyOf") == "LazyOfTest.kt"
    assert unit_test_framework("kotlin") == "JUnit 5 with kotlin.test"


# -- end to end -----------------------------------------------------------------------------------


async def test_end_to_end_completion_and_explain(smollm2_path: Path, tmp_path: Path) -> None:
    lines = PRECONDITIONS.split("\n")
    # Block start: the user starts writing the first require's body (header, an indented empty line, `}`).
    header = row_of(PRECONDITIONS, "public inline fun require(value: Boolean): Unit {", 1)
    close = lines.index("}", header)
    lines = [*lines[: header + 1], "    ", *lines[close:]]
    # Mid-line: the user is typing `throw IllegalArgumentException(message.toString())` in the second one.
    throw = lines.index("        throw IllegalArgumentException(message.toString())")
    throw_column = lines[throw].index("(") + 1
    lines[throw] = lines[throw][:throw_column]
    text = "\n".join(lines)
    completions = await check_end_to_end(
        smollm2_path,
        tmp_path,
        file_name="Preconditions.kt",
        language_id="kotlin",
        text=text,
        positions={"block start": (header + 1, 4), "mid-line": (throw, throw_column)},
        function_at=(row_of(text, "returns() implies (value != null)", 2), 12),
        symbol="requireNotNull",
    )
    assert set(completions) == {"block start", "mid-line"}
