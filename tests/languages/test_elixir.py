"""Elixir on real files: Agent.Server and an early Atom module (tests/languages/data/elixir/SOURCE.md)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from lsp_server.actions.definitions import Definition, find_definition
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

SERVER = real_source("elixir", "server.ex")
SERVER_LINES = SERVER.split("\n")
SERVER_SOURCE = SERVER.encode("utf-8")
ATOM = real_source("elixir", "atom.ex")


ELIXIR_KEPT = code(
    "count = length(values)",
    "    case count do",
    "      0 -> 0",
    "      _ -> Enum.sum(values) / count",
    "    end",
)

POSTPROCESS = Lang(
    name="elixir",
    block=code(
        "defmodule Stats do",
        "  def mean(values) do",
        "    █",
        "  end",
        "",
        "  def sum(values) do",
        "    Enum.sum(values)",
        "  end",
        "end",
        "",
    ),
    runs_past=code(ELIXIR_KEPT, "  end", "", "  def sum(values) do"),
    runs_past_kept=ELIXIR_KEPT,
    wrong_indent=code(
        "count = length(values)",
        "    case count do",
        "        0 -> 0",
        "        _ -> Enum.sum(values) / count",
        "    end",
    ),
    wrong_indent_fixed=ELIXIR_KEPT,
    broken=code(
        "count = length(values)",
        "    case count do",
        "      0 -> )",
        "      _ -> Enum.sum(values) / count",
        "    end",
    ),
    broken_kept="count = length(values)",
    body=code(
        "defmodule Stats do", "  def mean(values) do", "    █", "    total / count", "  end", "end", ""
    ),
    repeats=code("count = length(values)", "    total = Enum.sum(values)", "    total / count"),
    repeats_kept=code("count = length(values)", "    total = Enum.sum(values)"),
    repeats_only="total / count",
    call=code("defmodule Stats do", "  def larger(a, b) do", "    max(█)", "  end", "end", ""),
    call_closes_twice="a, b))",
    call_closes_twice_kept="a, b",
    call_unbalanced="a, abs(b",
    call_unbalanced_kept="a, abs(b)",
)


def kind_at(text: str, position: tuple[int, int]) -> CompletionKind:
    return decide_completion_kind(text, *position, "elixir").kind


# -- detection ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language_id", "path"),
    [
        ("elixir", "file:///w/lib/elixir/lib/agent/server.ex"),
        (None, "/w/lib/elixir/lib/agent/server.ex"),
        (None, "/w/test/agent_test.exs"),
        ("", "/w/mix.exs"),
    ],
)
def test_detected_by_language_id_and_extension(language_id: str | None, path: str) -> None:
    assert detect_language(language_id, path) == "elixir"


@pytest.mark.parametrize("text", [SERVER, ATOM], ids=["server.ex", "atom.ex"])
def test_real_files_parse_without_errors(text: str) -> None:
    assert not parse("elixir", text).root_node.has_error


# -- context pieces ----------------------------------------------------------------------------


def test_enclosing_nodes_and_headers_at_a_cursor() -> None:
    tree = parse("elixir", SERVER)
    row, column = position_after(SERVER, "{reply, state} -> ")
    chain = syntax_tree.enclosing_nodes(tree, SERVER_LINES, "elixir", row, column)
    assert [node.type for node in chain][-8:] == [
        "stab_clause",
        "do_block",
        "call",
        "do_block",
        "call",
        "do_block",
        "call",
        "source",
    ]
    headers = [
        SERVER_LINES[start].strip()
        for start, _ in syntax_tree.header_rows(chain, row, "elixir", SERVER_LINES)
    ]
    assert headers == [
        "defmodule Agent.Server do",
        "def handle_call({:get_and_update, fun}, _from, state) do",
        "case run(fun, [state]) do",
    ]


def test_enclosing_function_of_an_anonymous_function() -> None:
    text = SERVER.replace("{:ok, run(fun, [])}", "{:ok, Enum.map([fun], fn f -> run(f, []) end)}")
    lines = text.split("\n")
    row, column = position_after(text, "fn f -> ")
    chain = syntax_tree.enclosing_nodes(parse("elixir", text), lines, "elixir", row, column)
    function = syntax_tree.enclosing_function(chain, "elixir")
    assert function is not None and function.type == "anonymous_function"


def test_enclosing_function_is_the_def() -> None:
    tree = parse("elixir", SERVER)
    row, column = position_after(SERVER, "{reply, state} -> ")
    chain = syntax_tree.enclosing_nodes(tree, SERVER_LINES, "elixir", row, column)
    function = syntax_tree.enclosing_function(chain, "elixir", SERVER_SOURCE)
    assert function is not None
    assert SERVER_LINES[function.start_point.row].strip().startswith("def handle_call(")


def test_top_level_definition_is_the_module() -> None:
    root = parse("elixir", SERVER).root_node
    sites = syntax_tree.top_level_definitions(root, "elixir", SERVER_SOURCE)
    assert [(site.name, site.kind) for site in sites] == [("Agent.Server", "type")]


@pytest.mark.xfail(
    reason="`use`/`alias`/`import`/`require` are calls inside `defmodule`, not top-level import nodes",
    strict=True,
)
def test_imports_are_the_use_call() -> None:
    root = parse("elixir", SERVER).root_node
    imports = syntax_tree.import_nodes(root, "elixir", SERVER_SOURCE)
    assert [syntax_tree._text(node, SERVER_SOURCE) for node in imports] == ["use GenServer"]


def test_assembled_context_outline() -> None:
    cursor = SERVER.index("{reply, state} -> ") + len("{reply, state} -> ")
    budget = ContextBudget(prefix_tokens=12, suffix_tokens=20, outline_tokens=400)
    context_ = assemble_file_context(SERVER, parse("elixir", SERVER), "elixir", cursor, count_words, budget)
    pieces = {piece.name: piece.text for piece in context_.pieces}
    assert pieces["enclosing"].startswith("defmodule Agent.Server do\n")
    assert "  def handle_call({:get_and_update, fun}, _from, state) do\n" in pieces["enclosing"]
    assert context_.prefix.endswith("{reply, state} -> ")
    assert context_.suffix.startswith("{:reply, reply, state}")


# -- completion kind ---------------------------------------------------------------------------


def test_block_start_after_do_is_multi_line() -> None:
    text, position = cut_body(SERVER, "def init(fun) do", 2)
    assert kind_at(text, position) is CompletionKind.MULTI_LINE


def test_block_start_after_a_clause_arrow_is_multi_line() -> None:
    text = SERVER.replace("{reply, state} -> {:reply, reply, state}", "{reply, state} ->\n        ")
    row, _ = position_after(text, "{reply, state} ->")
    assert kind_at(text, (row + 1, 8)) is CompletionKind.MULTI_LINE


def test_after_a_do_keyword_one_liner_is_single_line() -> None:
    # `defp run(..., extra), do: apply(...)` is complete: a new line below it starts another clause.
    row, _ = position_after(SERVER, "defp run(fun, extra), do: apply(fun, extra)")
    lines = SERVER_LINES[:]
    lines.insert(row + 1, "  ")
    assert kind_at("\n".join(lines), (row + 1, 2)) is CompletionKind.SINGLE_LINE


def test_mid_line_is_single_line() -> None:
    text, position = cut_line(SERVER, "{:name, name} = Function.")
    assert kind_at(text, position) is CompletionKind.SINGLE_LINE


# -- post-processing on the real file ----------------------------------------------------------


def test_block_body_stops_at_the_functions_end() -> None:
    text, (row, column) = cut_body(SERVER, "def init(fun) do", 2)
    offset = offset_of(text, row, column)
    document = text[:offset] + CURSOR + text[offset:]
    completion = code(
        "_ = initial_call(fun)",
        "    {:ok, run(fun, [])}",
        "  end",
        "",
        "  def handle_call({:get, fun}, _from, state) do",
    )
    result = postprocess(completion, context("elixir", document))
    assert result.text == "_ = initial_call(fun)\n    {:ok, run(fun, [])}"


def test_do_keyword_and_atoms_open_no_block() -> None:
    document = code("defmodule Agent.Server do", "  def init(fun) do", "    █", "  end", "end", "")
    completion = "run(fun, [])\n  end\n\n  defp run(fun, extra), do: apply(fun, extra)"
    assert postprocess(completion, context("elixir", document)).text == "run(fun, [])"


# -- actions -----------------------------------------------------------------------------------


def test_find_definition_around_the_cursor() -> None:
    line, character = position_after(ATOM, ":erlang.atom_to_binary(")
    definition = find_definition(ATOM, "elixir", line, character)
    assert definition is not None
    # A function of a module is a method of its class, as a Java static method is.
    assert (definition.name, definition.kind) == ("to_string", "method")


def to_string_definition() -> Definition:
    """`Atom.to_string/1` as the definition finder would report it (it cannot yet: see above)."""
    lines = ATOM.split("\n")
    start = lines.index("  def to_string(atom) do")
    return Definition(
        name="to_string",
        kind="function",
        language="elixir",
        start_line=start,
        end_line=start + 2,
        anchor_line=start,
        text="\n".join(lines[start : start + 3]),
        signature="def to_string(atom)",
        body_line=start + 1,
    )


def test_doc_is_an_at_doc_heredoc_above_the_def() -> None:
    definition = to_string_definition()
    assert format_doc(["Converts an atom to string.", "", "Inlined by the compiler."], definition, "  ") == (
        '  @doc """\n  Converts an atom to string.\n\n  Inlined by the compiler.\n  """\n'
    )
    stripped = ATOM.replace(
        '  @doc """\n  Converts an atom to string.\n\n  Inlined by the compiler.\n  """\n', ""
    )
    stripped_definition = to_string_definition()
    row = stripped.split("\n").index("  def to_string(atom) do")
    stripped_definition = Definition(
        name="to_string",
        kind="function",
        language="elixir",
        start_line=row,
        end_line=row + 2,
        anchor_line=row,
        text=stripped_definition.text,
        signature=stripped_definition.signature,
        body_line=row + 1,
    )
    edit = place_doc(stripped, stripped_definition, "Converts an atom to string.")
    assert not isinstance(edit, str)
    placed = apply_line_edit(stripped, edit).split("\n")
    assert placed[row - 1 : row + 4] == [
        "  @spec to_string(atom) :: String.t",
        '  @doc """',
        "  Converts an atom to string.",
        '  """',
        "  def to_string(atom) do",
    ]


def test_unit_test_file_name_and_framework() -> None:
    path = PurePosixPath("lib/elixir/lib/agent/server.ex")
    assert unit_test_file_name(path, "elixir", "handle_call") == "server_handle_call_test.exs"
    assert unit_test_framework("elixir") == "ExUnit"


# -- end to end --------------------------------------------------------------------------------


async def test_end_to_end_completions_and_explain(smollm2_path: Path, tmp_path: Path) -> None:
    # The user starts the body of `code_change` and types a line in `get_initial_call` further down (the
    # one-line body is cut to one line: rows do not move).
    text, block_start = cut_body(SERVER, "def code_change(_old, state, fun) do", 1)
    text, mid_line = cut_line(text, "{:name, name} = Function.")
    assert kind_at(text, block_start) is CompletionKind.MULTI_LINE
    assert kind_at(text, mid_line) is CompletionKind.SINGLE_LINE
    completions = await check_end_to_end(
        smollm2_path,
        tmp_path,
        file_name="server.ex",
        language_id="elixir",
        text=text,
        positions={"block start": block_start, "mid-line": mid_line},
        function_at=position_after(text, "Process.put("),
        symbol="initial_call",
    )
    assert "\n" not in completions["mid-line"]
    assert parse_guard_agrees("elixir", text, *block_start, completions["block start"])
