"""Ruby on a real file: Bundler's mirror settings (tests/languages/data/ruby/SOURCE.md)."""

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
from lsp_server.postprocess.syntax import postprocess
from tests.helpers import count_words
from tests.languages.common import (
    check_end_to_end,
    cut_body,
    cut_line,
    offset_of,
    parse_guard_agrees,
    position_after,
    real_source,
)
from tests.postprocess_cases import CURSOR, Lang, code, context

MIRROR = real_source("ruby", "mirror.rb")
LINES = MIRROR.split("\n")
SOURCE = MIRROR.encode("utf-8")

RUBY_KEPT = code(
    "total = 0",
    "    values.each do |v|",
    "      total += v",
    "    end",
    "    total",
)

POSTPROCESS = Lang(
    name="ruby",
    block=code(
        'require "socket"',
        "",
        "class Stats",
        "  def sum(values)",
        "    █",
        "  end",
        "",
        "  def mean(values)",
        "    sum(values) / values.size",
        "  end",
        "end",
        "",
    ),
    runs_past=code(RUBY_KEPT, "  end", "", "  def mean(values)"),
    runs_past_kept=RUBY_KEPT,
    # A hash literal: the indentation rule reads `{`, not `do |v|` (see the report's proposed diff).
    wrong_indent=code(
        "stats = {",
        "        total: values.sum,",
        "        count: values.size,",
        "    }",
        "    stats[:total]",
    ),
    wrong_indent_fixed=code(
        "stats = {",
        "      total: values.sum,",
        "      count: values.size,",
        "    }",
        "    stats[:total]",
    ),
    broken=code(
        "total = 0",
        "    values.each do |v|",
        "      total +=",
        "    end",
        "    total",
    ),
    broken_kept="total = 0",
    body=code("class Stats", "  def sum(values)", "    █", "    total", "  end", "end", ""),
    repeats=code("total = 0", "    values.each { |v| total += v }", "    total"),
    repeats_kept=code("total = 0", "    values.each { |v| total += v }"),
    repeats_only="total",
    call=code("class Stats", "  def larger(a, b)", "    Math.hypot(█)", "  end", "end", ""),
    call_closes_twice="a, b))",
    call_closes_twice_kept="a, b",
    call_unbalanced="a, Integer.sqrt(b",
    call_unbalanced_kept="a, Integer.sqrt(b)",
)


# -- detection ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language_id", "path"),
    [
        ("ruby", "file:///w/lib/bundler/mirror.rb"),
        (None, "/w/lib/bundler/mirror.rb"),
        (None, "/w/lib/tasks/release.rake"),
        (None, "/w/bundler.gemspec"),
        (None, "/w/config.ru"),
        (None, "/w/Gemfile"),
        ("", "/w/Rakefile"),
    ],
)
def test_detected_by_language_id_extension_and_file_name(language_id: str | None, path: str) -> None:
    assert detect_language(language_id, path) == "ruby"


def test_real_file_parses_without_errors() -> None:
    assert not parse("ruby", MIRROR).root_node.has_error


# -- context pieces ----------------------------------------------------------------------------


def test_imports_are_the_require_calls() -> None:
    root = parse("ruby", MIRROR).root_node
    imports = syntax_tree.import_nodes(root, "ruby", SOURCE)
    assert [syntax_tree._text(node, SOURCE) for node in imports] == ['require "socket"']


def test_top_level_definition_is_the_module_with_an_elided_body() -> None:
    root = parse("ruby", MIRROR).root_node
    sites = syntax_tree.top_level_definitions(root, "ruby", SOURCE)
    assert [(site.name, site.kind) for site in sites] == [("Bundler", "type")]
    assert syntax_tree.render_signature(sites[0], SOURCE, LINES, "ruby") == "module Bundler\n  # ...\nend"


def test_class_members_and_method_signature() -> None:
    root = parse("ruby", MIRROR).root_node
    bundler = syntax_tree.top_level_definitions(root, "ruby", SOURCE)[0].node
    settings = syntax_tree.member_definitions(bundler, "ruby", SOURCE)[0]
    assert settings.name == "Settings"
    mirror = next(
        s for s in syntax_tree.member_definitions(settings.node, "ruby", SOURCE) if s.name == "Mirror"
    )
    methods = [site.name for site in syntax_tree.member_definitions(mirror.node, "ruby", SOURCE)]
    assert methods == ["initialize", "uri=", "fallback_timeout=", "==", "valid?", "validate!"]
    site = next(
        s for s in syntax_tree.member_definitions(mirror.node, "ruby", SOURCE) if s.name == "validate!"
    )
    assert site.kind == "method"
    assert syntax_tree.render_signature(site, SOURCE, LINES, "ruby") == (
        "      def validate!(probe = nil)\n        # ...\n      end"
    )


def test_enclosing_nodes_function_and_headers_at_a_cursor() -> None:
    tree = parse("ruby", MIRROR)
    row, column = position_after(MIRROR, "yield k, ")  # inside `each`'s do block
    chain = syntax_tree.enclosing_nodes(tree, LINES, "ruby", row, column)
    assert [node.type for node in chain][-6:] == [
        "class",
        "body_statement",
        "class",
        "body_statement",
        "module",
        "program",
    ]
    assert "do_block" in [node.type for node in chain]
    function = syntax_tree.enclosing_function(chain, "ruby")
    assert function is not None and function.type == "method"
    assert syntax_tree._text(function.child_by_field_name("name"), SOURCE) == "each"
    headers = [LINES[start].strip() for start, _ in syntax_tree.header_rows(chain, row, "ruby", LINES)]
    assert headers == [
        "module Bundler",
        "class Settings",
        "class Mirrors",
        "def each",
        "@mirrors.each do |k, v|",
    ]


def test_assembled_context_outline() -> None:
    cursor = MIRROR.index("socket.setsockopt(") + len("socket.setsockopt(")
    budget = ContextBudget(prefix_tokens=60, suffix_tokens=40, outline_tokens=400)
    context = assemble_file_context(MIRROR, parse("ruby", MIRROR), "ruby", cursor, count_words, budget)
    pieces = {piece.name: piece.text for piece in context.pieces}
    assert pieces["imports"] == 'require "socket"\n'
    assert pieces["enclosing"] == "\nmodule Bundler\n  # ...\n  class MirrorSockets\n    # ...\n"
    assert pieces["prefix"].startswith("    def any?\n")
    assert context.prefix.endswith("socket.setsockopt(")
    assert context.suffix.startswith("Socket::IPPROTO_TCP")


# -- completion kind ---------------------------------------------------------------------------


def kind_at(text: str, position: tuple[int, int]) -> CompletionKind:
    return decide_completion_kind(text, *position, "ruby").kind


def test_block_start_of_a_method_is_multi_line() -> None:
    text, position = cut_body(MIRROR, "def for(uri)", 5)
    assert kind_at(text, position) is CompletionKind.MULTI_LINE


def test_block_start_after_a_do_with_block_parameters_is_multi_line() -> None:
    text, position = cut_body(MIRROR, "@mirrors.each do |k, v|", 1)
    assert kind_at(text, position) is CompletionKind.MULTI_LINE


def test_block_start_of_a_method_without_parameters_is_multi_line() -> None:
    text, position = cut_body(MIRROR, "def valid?", 3)
    assert kind_at(text, position) is CompletionKind.MULTI_LINE


def test_block_start_after_else_and_rescue_is_multi_line() -> None:
    text, position = cut_body(MIRROR, "rescue Errno::EINPROGRESS", 1)
    assert kind_at(text, position) is CompletionKind.MULTI_LINE
    text, position = cut_body(MIRROR, "else", 1)
    assert kind_at(text, position) is CompletionKind.MULTI_LINE


def test_block_start_after_an_assigned_if_is_multi_line() -> None:
    text, position = cut_body(MIRROR, "mirror = if config.all?", 1)
    assert kind_at(text, position) is CompletionKind.MULTI_LINE


def test_after_a_modifier_if_is_single_line() -> None:
    # `return false if @uri.nil?` opens nothing: a new line below it is one more statement.
    line, _ = position_after(MIRROR, "return false if @uri.nil?")
    lines = LINES[:]
    lines.insert(line + 1, "        ")
    assert kind_at("\n".join(lines), (line + 1, 8)) is CompletionKind.SINGLE_LINE


def test_mid_line_is_single_line() -> None:
    text, position = cut_line(MIRROR, "downcased = uri.to_s.")
    assert kind_at(text, position) is CompletionKind.SINGLE_LINE


# -- post-processing on the real file ----------------------------------------------------------


def test_block_body_stops_at_the_methods_end() -> None:
    text, (row, column) = cut_body(MIRROR, "def valid?", 3)
    offset = offset_of(text, row, column)
    document = text[:offset] + CURSOR + text[offset:]
    completion = "return false if @uri.nil?\n        @valid\n      end\n\n      def validate!(probe = nil)"
    result = postprocess(completion, context("ruby", document))
    assert result.text == "return false if @uri.nil?\n        @valid"


# -- actions -----------------------------------------------------------------------------------


def test_find_definition_with_its_yard_comment() -> None:
    line, character = position_after(MIRROR, "fetch_valid_mirror_for(Settings")
    definition = find_definition(MIRROR, "ruby", line, character)
    assert definition is not None
    assert (definition.name, definition.kind, definition.signature) == ("for", "method", "def for(uri)")
    assert definition.existing_doc == (17, 21)
    assert LINES[17].strip() == "# Returns a mirror for the given uri."


def test_code_context_has_the_class_and_the_imports() -> None:
    line, character = position_after(MIRROR, "socket.setsockopt(")
    definition = find_definition(MIRROR, "ruby", line, character)
    assert definition is not None and definition.name == "any?"
    found = code_context(MIRROR, "ruby", definition)
    assert found.enclosing_class is not None and found.enclosing_class.name == "MirrorSockets"
    assert found.enclosing_class.existing_doc == (180, 186)
    assert found.imports == ('require "socket"',)


def test_doc_comment_is_written_as_hash_lines_above() -> None:
    line, character = position_after(MIRROR, "socket.setsockopt(")
    definition = find_definition(MIRROR, "ruby", line, character)
    assert definition is not None
    assert format_doc(["Yields each socket.", "", "@return [Boolean]"], definition, "    ") == (
        "    # Yields each socket.\n    #\n    # @return [Boolean]\n"
    )
    edit = place_doc(MIRROR, definition, "Yields each socket.\n\n@return [Boolean]")
    assert not isinstance(edit, str)
    placed = apply_line_edit(MIRROR, edit).split("\n")
    assert placed[definition.anchor_line : definition.anchor_line + 4] == [
        "    # Yields each socket.",
        "    #",
        "    # @return [Boolean]",
        "    def any?",
    ]


def test_unit_test_file_name_and_framework() -> None:
    path = PurePosixPath("lib/bundler/mirror.rb")
    assert unit_test_file_name(path, "ruby", "validate!") == "mirror_validate_spec.rb"
    assert unit_test_framework("ruby") == "RSpec"


# -- end to end --------------------------------------------------------------------------------


async def test_end_to_end_completions_and_explain(smollm2_path: Path, tmp_path: Path) -> None:
    # The user types a line in `fetch_valid_mirror_for` and starts the body of `validate!` (further down,
    # so the first cut's position stays put).
    text, mid_line = cut_line(MIRROR, "downcased = uri.to_s.")
    text, block_start = cut_body(text, "def validate!(probe = nil)", 5)
    assert kind_at(text, block_start) is CompletionKind.MULTI_LINE
    assert kind_at(text, mid_line) is CompletionKind.SINGLE_LINE
    completions = await check_end_to_end(
        smollm2_path,
        tmp_path,
        file_name="mirror.rb",
        language_id="ruby",
        text=text,
        positions={"block start": block_start, "mid-line": mid_line},
        function_at=position_after(text, "Socket.pack_sockaddr_in("),
        symbol="to_socket_address",
    )
    assert "\n" not in completions["mid-line"]
    assert parse_guard_agrees("ruby", text, *block_start, completions["block start"])
