"""Scala on real files: the 2.12 standard library's ``mutable.ListMap`` (braces) and Scala 3's
``scala.util.boundary`` (indentation syntax) (data/scala/SOURCE.md)."""

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

LIST_MAP = real_source("scala", "ListMap.scala")
BOUNDARY = real_source("scala", "boundary.scala")

SCALA_KEPT = code(
    "var total = 0.0",
    "    for (x <- xs) {",
    "      total += x",
    "    }",
    "    total / xs.size",
)

POSTPROCESS = Lang(
    name="scala",
    block=code(
        "import scala.collection.mutable",
        "",
        "object Stats {",
        "  def mean(xs: Seq[Double]): Double = {",
        "    █",
        "  }",
        "",
        "  def median(xs: Seq[Double]): Double =",
        "    xs.sorted.apply(xs.size / 2)",
        "}",
        "",
    ),
    runs_past=code(SCALA_KEPT, "  }", "", "  def median(xs: Seq[Double]): Double ="),
    runs_past_kept=SCALA_KEPT,
    wrong_indent=code(
        "var total = 0.0",
        "    for (x <- xs) {",
        "        total += x",
        "    }",
        "    total / xs.size",
    ),
    wrong_indent_fixed=SCALA_KEPT,
    broken=code(
        "var total = 0.0",
        "    val n = = xs.size",
        "    total / n",
    ),
    broken_kept="var total = 0.0",
    body=code(
        "object Stats {",
        "  def mean(xs: Seq[Double]): Double = {",
        "    █",
        "    total / xs.size",
        "  }",
        "}",
        "",
    ),
    repeats=SCALA_KEPT,
    repeats_kept=code(
        "var total = 0.0",
        "    for (x <- xs) {",
        "      total += x",
        "    }",
    ),
    repeats_only="total / xs.size",
    call=code(
        "object Stats {",
        "  def show(xs: Seq[Double]): String =",
        '    "%.2f".format(█)',
        "}",
        "",
    ),
    call_closes_twice="mean(xs))",
    call_closes_twice_kept="mean(xs)",
    call_unbalanced="mean(xs",
    call_unbalanced_kept="mean(xs)",
)


def lines_of(text: str) -> list[str]:
    return text.split("\n")


REMOVE_HEADER = "  private def remove(key: A, elems: List[(A, B)], acc: List[(A, B)]): List[(A, B)] = {"
REMOVE_BODY = (
    "    if (elems.isEmpty) acc\n"
    "    else if (elems.head._1 == key) { siz -= 1; acc ::: elems.tail }\n"
    "    else remove(key, elems.tail, elems.head :: acc)\n"
)


# -- detection ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language_id", "path"),
    [
        ("scala", "file:///a/notes.txt"),
        ("Scala", None),
        (None, "file:///a/src/library/scala/collection/mutable/ListMap.scala"),
        (None, "file:///a/build.sc"),
    ],
)
def test_detected_by_language_id_and_extension(language_id: str | None, path: str | None) -> None:
    assert detect_language(language_id, path) == "scala"


def test_real_files_parse_without_errors() -> None:
    assert not parse("scala", LIST_MAP).root_node.has_error
    assert not parse("scala", BOUNDARY).root_node.has_error


# -- context pieces --------------------------------------------------------------------------------


def test_package_clauses_and_imports() -> None:
    tree = parse("scala", LIST_MAP)
    source = LIST_MAP.encode("utf-8")
    imports = syntax_tree.import_nodes(tree.root_node, "scala", source)
    assert [source[n.start_byte : n.end_byte].decode() for n in imports] == [
        "package scala",
        "package collection",
        "package mutable",
        "import generic._",
        "import annotation.tailrec",
    ]


def test_top_level_definitions_and_signatures_with_braces() -> None:
    tree = parse("scala", LIST_MAP)
    source = LIST_MAP.encode("utf-8")
    lines = lines_of(LIST_MAP)
    sites = syntax_tree.top_level_definitions(tree.root_node, "scala", source)
    assert [(s.name, s.kind) for s in sites] == [("ListMap", "type"), ("ListMap", "type")]
    # The class's header runs over five lines (extends/with); its body is elided.
    assert syntax_tree.render_signature(sites[0], source, lines, "scala") == (
        "class ListMap[A, B]\nextends AbstractMap[A, B]\n   with Map[A, B]\n"
        "   with MapLike[A, B, ListMap[A, B]]\n   with Serializable { ... }"
    )
    # The companion object is short: shown whole.
    assert syntax_tree.render_signature(sites[1], source, lines, "scala").startswith(
        "object ListMap extends MutableMapFactory[ListMap] {\n  implicit def canBuildFrom"
    )
    members = syntax_tree.member_definitions(sites[0].node, "scala", source)
    assert [m.name for m in members] == ["empty", "get", "iterator", "+=", "-=", "remove", "clear", "size"]
    remove = members[5]
    assert syntax_tree.render_signature(remove, source, lines, "scala") == (
        "  @tailrec\n" + REMOVE_HEADER.removesuffix(" {") + " { ... }"
    )


def test_top_level_definitions_with_indentation_syntax() -> None:
    tree = parse("scala", BOUNDARY)
    source = BOUNDARY.encode("utf-8")
    lines = lines_of(BOUNDARY)
    sites = syntax_tree.top_level_definitions(tree.root_node, "scala", source)
    assert [(s.name, s.kind) for s in sites] == [("boundary", "type")]
    # `object boundary:` has an indented body: no braces to write, the body is elided as `...`.
    assert syntax_tree.render_signature(sites[0], source, lines, "scala") == "object boundary ..."
    members = syntax_tree.member_definitions(sites[0].node, "scala", source)
    assert [(m.name, m.kind) for m in members] == [
        ("Break", "type"),
        ("Break", "type"),
        ("Label", "type"),
        ("break", "method"),
        ("break", "method"),
        ("apply", "method"),
    ]
    assert syntax_tree.render_signature(members[-1], source, lines, "scala") == (
        "  inline def apply[T](inline body: Label[T] ?=> T): T = ..."
    )


def test_enclosing_nodes_function_and_headers_in_braces() -> None:
    tree = parse("scala", LIST_MAP)
    lines = lines_of(LIST_MAP)
    line, character = position_after(LIST_MAP, "    else remove(key, ")
    chain = syntax_tree.enclosing_nodes(tree, lines, "scala", line, character)
    kinds = [node.type for node in chain]
    assert kinds[-4:] == ["function_definition", "template_body", "class_definition", "compilation_unit"]
    function = syntax_tree.enclosing_function(chain, "scala")
    assert function is not None and lines[function.start_point.row] == "  @tailrec"
    headers = [lines[a : b + 1] for a, b in syntax_tree.header_rows(chain, line, "scala", lines)]
    assert headers[0][0] == "class ListMap[A, B]" and headers[0][-1] == "   with Serializable {"
    assert headers[1] == ["  @tailrec", REMOVE_HEADER]


def test_enclosing_nodes_function_and_headers_in_indented_blocks() -> None:
    tree = parse("scala", BOUNDARY)
    lines = lines_of(BOUNDARY)
    line, character = position_after(BOUNDARY, "      if ex.isSameLabelAs(")
    chain = syntax_tree.enclosing_nodes(tree, lines, "scala", line, character)
    assert "indented_block" in [node.type for node in chain]
    function = syntax_tree.enclosing_function(chain, "scala")
    assert function is not None
    assert lines[function.start_point.row] == "  inline def apply[T](inline body: Label[T] ?=> T): T ="
    headers = [lines[a : b + 1] for a, b in syntax_tree.header_rows(chain, line, "scala", lines)]
    assert headers == [
        ["object boundary:"],
        ["  inline def apply[T](inline body: Label[T] ?=> T): T ="],
        ["    try body(using local)"],
        ["    catch case ex: Break[T] @unchecked =>"],
    ]


def test_blank_line_after_the_last_statement_of_an_indented_body() -> None:
    text = BOUNDARY.replace("    throw Break(label, ())\n", "    throw Break(label, ())\n    \n")
    line, _ = position_after(text, "    throw Break(label, ())\n")
    lines = lines_of(text)
    chain = syntax_tree.enclosing_nodes(parse("scala", text), lines, "scala", line, 4)
    assert [node.type for node in chain][:2] == ["indented_block", "function_definition"]
    function = syntax_tree.enclosing_function(chain, "scala")
    assert function is not None
    assert lines[function.start_point.row] == "  def break()(using label: Label[Unit]): Nothing ="
    assert decide_completion_kind(text, line, 4, "scala").kind is CompletionKind.SINGLE_LINE


def test_assembled_context_outline_with_braces() -> None:
    line, character = position_after(LIST_MAP, "    else remove(key, ")
    budget = ContextBudget(prefix_tokens=30, suffix_tokens=20, outline_tokens=400)
    tree = parse("scala", LIST_MAP)
    context = assemble_file_context(
        LIST_MAP, tree, "scala", offset_of(LIST_MAP, line, character), count_words, budget
    )
    window = next(p.text for p in context.pieces if p.name == "prefix")
    outline = context.prefix[: len(context.prefix) - len(window)]
    assert outline.startswith(
        "package scala\npackage collection\npackage mutable\n\nimport generic._\nimport annotation.tailrec\n"
    )
    assert "   with Serializable {\n  // ...\n  @tailrec\n" + REMOVE_HEADER + "\n" in outline
    assert window == "    else remove(key, "


def test_assembled_context_outline_with_indentation_syntax() -> None:
    line, character = position_after(BOUNDARY, "      if ex.isSameLabelAs(")
    budget = ContextBudget(prefix_tokens=30, suffix_tokens=20, outline_tokens=400)
    tree = parse("scala", BOUNDARY)
    context = assemble_file_context(
        BOUNDARY, tree, "scala", offset_of(BOUNDARY, line, character), count_words, budget
    )
    window = next(p.text for p in context.pieces if p.name == "prefix")
    outline = context.prefix[: len(context.prefix) - len(window)]
    assert outline.startswith(
        "package scala.util\n\nimport language.experimental.captureChecking\n"
        "import scala.annotation.implicitNotFound\n"
    )
    # The method it calls (`isSameLabelAs`) comes along as a signature, then the enclosing headers.
    assert "    def isSameLabelAs(other: Label[T]) = label eq other\n" in outline
    assert outline.endswith(
        "  inline def apply[T](inline body: Label[T] ?=> T): T =\n    // ...\n"
        "    try body(using local)\n    catch case ex: Break[T] @unchecked =>\n"
    )
    assert window == "      if ex.isSameLabelAs("


# -- completion kind ---------------------------------------------------------------------------------


def test_brace_block_start_is_multi_line() -> None:
    text, line, character = body_cut(LIST_MAP, REMOVE_HEADER, REMOVE_BODY)
    decision = decide_completion_kind(text, line, character, "scala")
    assert decision.kind is CompletionKind.MULTI_LINE
    assert (decision.block_indent, decision.indent_unit) == (4, "  ")


@pytest.mark.parametrize(
    ("header", "body", "indent"),
    [
        ("  def break()(using label: Label[Unit]): Nothing =", "    throw Break(label, ())\n", 4),
        ("  object Break:", "    import caps.unsafe.unsafeAssumePure\n", 4),
        (
            "    catch case ex: Break[T] @unchecked =>",
            "      if ex.isSameLabelAs(local) then ex.value\n      else throw ex\n",
            6,
        ),
    ],
)
def test_indented_block_start_is_multi_line(header: str, body: str, indent: int) -> None:
    text, line, character = body_cut(BOUNDARY, header, body)
    decision = decide_completion_kind(text, line, character, "scala")
    assert decision.kind is CompletionKind.MULTI_LINE
    assert decision.block_indent == indent


def test_mid_line_is_single_line() -> None:
    text = LIST_MAP.replace("    else remove(key, elems.tail, elems.head :: acc)", "    else remove(key, ")
    line, character = position_after(text, "    else remove(key, ")
    assert decide_completion_kind(text, line, character, "scala").kind is CompletionKind.SINGLE_LINE
    line, character = position_after(LIST_MAP, "    else remove(key, ")
    assert decide_completion_kind(LIST_MAP, line, character, "scala").kind is CompletionKind.NONE


def test_an_indented_body_ends_where_the_completion_dedents() -> None:
    text, line, character = body_cut(
        BOUNDARY, "  def break()(using label: Label[Unit]): Nothing =", "    throw Break(label, ())\n"
    )
    offset = offset_of(text, line, character)
    ctx = context("scala", text[:offset] + "█" + text[offset:])
    generated = "throw Break(label, ())\n\n  /** Run `body`. */\n  inline def apply"
    assert postprocess(generated, ctx).text == "throw Break(label, ())"


def test_strings_and_char_literals_hide_brackets_from_the_stop() -> None:
    rule = block_close_stop(context("scala", "object A {\n  def f(s: String) = println(█)\n}\n"))
    assert rule.check('"a) }", s') is None
    assert rule.check("')', s") is None
    assert rule.check("'\\'', s") is None
    assert rule.check("s)") == 1
    multi = block_close_stop(context("scala", "object A {\n  def f(s: String): String = {\n    █\n  }\n}\n"))
    assert multi.check('val t = """\n) }\n"""\n    t') is None
    assert multi.check("s\n  }") == len("s")


# -- actions -------------------------------------------------------------------------------------------


def test_find_definition_and_code_context_in_braces() -> None:
    line, character = position_after(LIST_MAP, "    else remove(key, ")
    definition = find_definition(LIST_MAP, "scala", line, character)
    assert definition is not None
    assert (definition.name, definition.kind) == ("remove", "method")
    assert definition.signature == "@tailrec " + REMOVE_HEADER.strip().removesuffix(" = {")
    assert LIST_MAP.split("\n")[definition.anchor_line] == "  @tailrec"
    assert definition.existing_doc is None
    context = code_context(LIST_MAP, "scala", definition)
    assert context.enclosing_class is not None and context.enclosing_class.name == "ListMap"
    assert context.imports[-2:] == ("import generic._", "import annotation.tailrec")


def test_code_context_lists_the_called_method() -> None:
    line, character = position_after(BOUNDARY, "      if ex.isSameLabelAs(")
    definition = find_definition(BOUNDARY, "scala", line, character)
    assert definition is not None and (definition.name, definition.kind) == ("apply", "method")
    context = code_context(BOUNDARY, "scala", definition)
    assert context.enclosing_class is not None and context.enclosing_class.name == "boundary"
    assert context.callee_signatures == ("def isSameLabelAs(other: Label[T]) =",)


def test_existing_scaladoc_is_recognized() -> None:
    line, character = position_after(BOUNDARY, "    throw Break(label, value)")
    definition = find_definition(BOUNDARY, "scala", line, character - 4)
    assert definition is not None and definition.name == "break"
    assert definition.existing_doc is not None
    start, end = definition.existing_doc
    lines = lines_of(BOUNDARY)
    assert lines[start] == "  /** Abort current computation and instead return `value` as the value of"
    assert lines[end] == "  def break[T](value: T)(using label: Label[T]): Nothing ="


ANSWER = "Returns the size.\n\nCounts the items."


def test_format_and_place_a_scaladoc_comment() -> None:
    line, character = position_after(LIST_MAP, "    else remove(key, ")
    definition = find_definition(LIST_MAP, "scala", line, character)
    assert definition is not None
    assert format_doc(["Returns the size.", "", "Counts the items."], definition, "  ") == (
        "  /**\n   * Returns the size.\n   *\n   * Counts the items.\n   */\n"
    )
    edit = place_doc(LIST_MAP, definition, ANSWER)
    assert not isinstance(edit, str)
    expected = LIST_MAP.replace(
        "  @tailrec\n",
        "  /**\n   * Returns the size.\n   *\n   * Counts the items.\n   */\n  @tailrec\n",
    )
    assert apply_line_edit(LIST_MAP, edit) == expected


def test_unit_test_file_name_and_framework() -> None:
    path = PurePosixPath("src/library/scala/collection/mutable/ListMap.scala")
    assert unit_test_file_name(path, "scala", "remove") == "RemoveTest.scala"
    assert unit_test_file_name(PurePosixPath("build.sc"), "scala", "ListMap.get") == "GetTest.scala"
    assert unit_test_framework("scala") == "MUnit or ScalaTest"


# -- end to end --------------------------------------------------------------------------------------


async def test_end_to_end_on_the_real_source(smollm2_path: Path, tmp_path: Path) -> None:
    # Scala 3 indentation syntax: the body after `=` is what the user writes next.
    text, block_line, block_character = body_cut(
        BOUNDARY, "  def break()(using label: Label[Unit]): Nothing =", "    throw Break(label, ())\n"
    )
    typed = "    throw Break(label, value)"
    cut_at = "    throw Break("
    text = text.replace(typed, cut_at, 1)
    mid_line, mid_character = position_after(text, cut_at)
    assert text.split("\n")[mid_line] == cut_at
    completions = await check_end_to_end(
        smollm2_path,
        tmp_path,
        file_name="boundary.scala",
        language_id="scala",
        text=text,
        positions={"block": (block_line, block_character), "mid_line": (mid_line, mid_character)},
        function_at=position_after(text, "def isSameLabelAs(other: Label[T]) = label"),
        symbol="isSameLabelAs",
    )
    assert completions["block"].strip() and completions["mid_line"].strip()
