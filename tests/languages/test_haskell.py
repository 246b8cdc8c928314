"""Haskell on real code: haskell/containers' Data/Containers/ListUtils.hs and
Utils/Containers/Internal/State.hs (see data/haskell/SOURCE.md)."""

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

LIST_UTILS = real_source("haskell", "ListUtils.hs")
STATE = real_source("haskell", "State.hs")


def lines_of(text: str) -> list[str]:
    return text.split("\n")


# -- detection ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language_id", "path"),
    [
        ("haskell", "file:///work/notes.txt"),
        (None, "file:///containers/Data/Containers/ListUtils.hs"),
        (None, "C:\\proj\\src\\Main.HS"),
    ],
)
def test_detected_by_language_id_and_extension(language_id: str | None, path: str) -> None:
    assert detect_language(language_id, path) == "haskell"


def test_real_sources_parse_without_errors() -> None:
    for text in (LIST_UTILS, STATE):
        assert not parse("haskell", text).root_node.has_error


# -- context pieces -------------------------------------------------------------------------------


def test_import_nodes_through_cpp_conditionals() -> None:
    tree = parse("haskell", LIST_UTILS)
    source = LIST_UTILS.encode("utf-8")
    found = [
        source[n.start_byte : n.end_byte].decode() for n in import_nodes(tree.root_node, "haskell", source)
    ]
    assert found == [
        "import Data.Set (Set)",
        "import qualified Data.Set as Set",
        "import qualified Data.IntSet as IntSet",
        "import Data.IntSet (IntSet)",
        "import GHC.Exts ( build )",
    ]


def test_top_level_definitions_are_shown_by_their_type_signatures() -> None:
    tree = parse("haskell", LIST_UTILS)
    source = LIST_UTILS.encode("utf-8")
    sites = top_level_definitions(tree.root_node, "haskell", source)
    assert [site.name for site in sites] == [
        "nubOrd",
        "nubOrdOn",
        "nubOrdOnExcluding",
        "nubOrdOnFB",
        "constNubOn",
        "nubInt",
        "nubIntOn",
        "nubIntOnExcluding",
        "nubIntOnFB",
    ]
    rendered = {site.name: render_signature(site, source, lines_of(LIST_UTILS), "haskell") for site in sites}
    assert rendered["nubInt"] == "nubInt :: [Int] -> [Int]"
    # A signature wrapped over several lines is shown whole.
    assert rendered["nubIntOnFB"].split("\n") == [
        "nubIntOnFB :: (a -> Int)",
        "           -> (a -> r -> r)",
        "           -> a",
        "           -> (IntSet -> r)",
        "           -> IntSet",
        "           -> r",
    ]


def test_types_are_definitions_too() -> None:
    tree = parse("haskell", STATE)
    source = STATE.encode("utf-8")
    sites = top_level_definitions(tree.root_node, "haskell", source)
    assert [(site.name, site.kind) for site in sites] == [("State", "type"), ("execState", "function")]
    assert render_signature(sites[0], source, lines_of(STATE), "haskell") == (
        "newtype State s a = State {runState :: s -> (s, a)}"
    )


def test_enclosing_nodes_function_and_headers_in_a_where_block() -> None:
    lines = lines_of(LIST_UTILS)
    row = row_of(LIST_UTILS, "| fx `IntSet.member` s = go s xs")
    column = lines[row].index("go s xs")
    tree = parse("haskell", LIST_UTILS)
    chain = enclosing_nodes(tree, lines, "haskell", row, column)
    kinds = [node.type for node in chain]
    assert kinds.index("function") < kinds.index("local_binds") < kinds.index("declarations")
    function = enclosing_function(chain, "haskell")
    assert function is not None
    assert lines[function.start_point.row] == "    go s (x:xs)"
    headers = header_rows(chain, row, "haskell", lines)
    assert [lines[start] for start, _ in headers] == ["nubIntOnExcluding f = go", "    go s (x:xs)"]


def test_blank_line_in_a_where_block_is_picked_by_indentation() -> None:
    lines = lines_of(LIST_UTILS)
    row = row_of(LIST_UTILS, "| otherwise = x : go (IntSet.insert fx s) xs") + 2
    for width, expected in ((4, "local_binds"), (0, "declarations")):
        edited = [*lines[:row], " " * width, *lines[row:]]
        tree = parse("haskell", "\n".join(edited))
        chain = enclosing_nodes(tree, edited, "haskell", row, width)
        assert chain[0].type == expected


def test_assembled_outline_has_imports_and_signatures() -> None:
    marker = "nubIntOn f = \\xs -> "
    cursor = LIST_UTILS.index(marker) + len(marker)
    budget = ContextBudget(prefix_tokens=40, suffix_tokens=20, outline_tokens=400)
    tree = parse("haskell", LIST_UTILS)
    context_ = assemble_file_context(LIST_UTILS, tree, "haskell", cursor, count_words, budget)
    pieces = {piece.name: piece.text for piece in context_.pieces}
    assert pieces["prefix"] == marker
    assert pieces["imports"].split("\n")[:4] == [
        "import Data.Set (Set)",
        "import qualified Data.Set as Set",
        "import qualified Data.IntSet as IntSet",
        "import Data.IntSet (IntSet)",
    ]
    assert "nubIntOnExcluding :: (a -> Int) -> IntSet -> [a] -> [a]" in pieces["signatures"].split("\n")
    assert "-- ..." in pieces["signatures"].split("\n")


def test_assembled_outline_has_the_enclosing_headers() -> None:
    marker = "      | otherwise = x : go (IntSet.insert fx s) xs"
    cursor = LIST_UTILS.index(marker) + len("      | otherwise = ")
    budget = ContextBudget(prefix_tokens=40, suffix_tokens=20, outline_tokens=400)
    tree = parse("haskell", LIST_UTILS)
    context_ = assemble_file_context(LIST_UTILS, tree, "haskell", cursor, count_words, budget)
    pieces = {piece.name: piece.text for piece in context_.pieces}
    assert pieces["enclosing"].split("\n") == [
        "-- ...",
        "nubIntOnExcluding f = go",
        "  where",
        "    -- ...",
        "",
    ]
    assert pieces["prefix"].split("\n") == [
        "    go s (x:xs)",
        "      | fx `IntSet.member` s = go s xs",
        "      | otherwise = ",
    ]


# -- completion kind ------------------------------------------------------------------------------


def with_blank_line(text: str, after: str, width: int) -> tuple[str, int]:
    """``text`` with a blank line of ``width`` spaces below the line containing ``after``."""
    row = row_of(text, after) + 1
    lines = lines_of(text)
    return "\n".join([*lines[:row], " " * width, *lines[row:]]), row


@pytest.mark.parametrize(
    ("text", "after", "width", "block_indent"),
    [
        (LIST_UTILS, "nubIntOnExcluding f = go", 0, None),  # `where` comes next: no block opened
        (STATE, "instance Functor (State s) where", 4, 4),
        (STATE, "m >>= k = State $ \\ s -> case runState m s of", 8, 8),
    ],
)
def test_block_starts_after_where_and_of(text: str, after: str, width: int, block_indent: int | None) -> None:
    edited, row = with_blank_line(text, after, width)
    decision = decide_completion_kind(edited, row, width, "haskell")
    expected = CompletionKind.SINGLE_LINE if block_indent is None else CompletionKind.MULTI_LINE
    assert decision.kind is expected, decision.reason
    assert decision.block_indent == block_indent


def test_where_of_a_cut_function_body_is_multi_line() -> None:
    # nubIntOnExcluding with its `where` bindings cut: the user starts writing them.
    lines = lines_of(LIST_UTILS)
    row = lines.index("nubIntOnExcluding f = go") + 2
    edited = [*lines[:row], "    ", *lines[row + 5 :]]
    decision = decide_completion_kind("\n".join(edited), row, 4, "haskell")
    assert decision.kind is CompletionKind.MULTI_LINE
    assert decision.block_indent == 4


@pytest.mark.parametrize(
    ("source", "block_indent"),
    [
        ("main :: IO ()\nmain = do\n  <|>\n", 2),  # do
        ("execState :: State s a -> s -> a\nexecState m x =\n  <|>\n", 2),  # a body on the next line
        ("nubIntOnFB f c x r s\n  | fx `IntSet.member` s =\n    <|>\n", 4),  # a guard
        ("main = do\n  let\n    <|>\n  pure ()\n", 4),  # let
        ("f x = case x of\n  (s', x) ->\n    <|>\n", 4),  # a case alternative's body
    ],
)
def test_layout_openers_are_multi_line(source: str, block_indent: int) -> None:
    text = source.replace("<|>", "")
    before = source[: source.index("<|>")]
    row = before.count("\n")
    decision = decide_completion_kind(text, row, len(before) - before.rfind("\n") - 1, "haskell")
    assert decision.kind is CompletionKind.MULTI_LINE, decision.reason
    assert decision.block_indent == block_indent


def test_mid_line_is_single_line() -> None:
    row = row_of(STATE, "execState m x = snd (runState m x)")
    lines = lines_of(STATE)
    lines[row] = "execState m x = "
    decision = decide_completion_kind("\n".join(lines), row, len(lines[row]), "haskell")
    assert decision.kind is CompletionKind.SINGLE_LINE


def test_cursor_inside_a_primed_name_is_no_completion() -> None:
    row = row_of(STATE, "(s', x) -> runState (k x) s'")
    lines = lines_of(STATE)
    column = lines[row].index("s', x)") + 1  # between `s` and `'`
    assert decide_completion_kind(STATE, row, column, "haskell").kind is CompletionKind.NONE


def test_indent_units() -> None:
    assert detect_indent_unit(LIST_UTILS, "haskell") == "  "
    assert detect_indent_unit(STATE, "haskell") == "    "


# -- post-processing ------------------------------------------------------------------------------

HASKELL_KEPT = code(
    "args <- getArgs",
    "  forM_ args $ \\arg -> do",
    "    putStrLn (map toUpper arg)",
    '  putStrLn "done"',
)

POSTPROCESS = Lang(
    name="haskell",
    block=code(
        "module Main (main) where",
        "",
        "import Control.Monad (forM_)",
        "import Data.Char (toUpper)",
        "import System.Environment (getArgs)",
        "",
        "main :: IO ()",
        "main = do",
        "  █",
        "",
        "double :: Int -> Int",
        "double x = 2 * x",
        "",
    ),
    runs_past=code(HASKELL_KEPT, "", "double :: Int -> Int", "double x = 2 * x"),
    runs_past_kept=HASKELL_KEPT,
    wrong_indent=code(
        "args <- getArgs",
        "  forM_ args $ \\arg -> do",
        "      putStrLn (map toUpper arg)",
        '  putStrLn "done"',
    ),
    wrong_indent_fixed=HASKELL_KEPT,
    broken=code(
        "args <- getArgs",
        "  forM_ args $ \\arg -> do",
        "    putStrLn = = arg",
        '  putStrLn "done"',
    ),
    broken_kept="args <- getArgs",
    body=code("main :: IO ()", "main = do", "  █", '  putStrLn "done"', ""),
    repeats=HASKELL_KEPT,
    repeats_kept=code(
        "args <- getArgs",
        "  forM_ args $ \\arg -> do",
        "    putStrLn (map toUpper arg)",
    ),
    repeats_only='putStrLn "done"',
    call=code("larger :: Int -> Int -> Int", "larger a b = maximum (█)", ""),
    call_closes_twice="map abs [a, b]))",
    call_closes_twice_kept="map abs [a, b]",
    call_unbalanced="map abs [a, negate b",
    call_unbalanced_kept="map abs [a, negate b]",
)


def test_where_block_stops_at_the_next_top_level_declaration() -> None:
    ctx = context("haskell", "nubIntOnExcluding f = go\n  where\n    █\n\nnubIntOnFB :: (a -> Int)\n")
    kept = "go _ [] = []\n    go s (x:xs)\n      | fx `IntSet.member` s = go s xs\n      where !fx = f x"
    assert postprocess(kept + "\n\nnubIntOnFB :: (a -> Int)", ctx).text == kept


def test_primes_chars_comments_and_pragmas_do_not_close() -> None:
    rule = block_close_stop(context("haskell", "execState m x = snd (█)\n"))
    assert rule.check("runState m x'") is None  # a primed name opens no character literal
    assert rule.check("runState m ')'") is None  # a character literal
    assert rule.check("runState m {- ) -} x") is None  # a block comment
    assert rule.check("runState m x -- )") is None  # a line comment
    assert rule.check("runState m x')") == len("runState m x'")


# -- actions --------------------------------------------------------------------------------------


def test_find_definition_includes_the_type_signature_above() -> None:
    row = row_of(LIST_UTILS, "nubIntOnExcluding f = go")
    definition = find_definition(LIST_UTILS, "haskell", row, 3)
    assert definition is not None
    assert (definition.name, definition.kind) == ("nubIntOnExcluding", "function")
    assert definition.anchor_line == row - 1
    assert definition.text.split("\n")[:2] == [
        "nubIntOnExcluding :: (a -> Int) -> IntSet -> [a] -> [a]",
        "nubIntOnExcluding f = go",
    ]
    # Inside the `where` block the innermost equation is the definition.
    inner = find_definition(LIST_UTILS, "haskell", row + 3, 8)
    assert inner is not None and inner.name == "go"


def test_instance_methods_are_methods() -> None:
    row = row_of(STATE, "fmap = liftA")
    definition = find_definition(STATE, "haskell", row, 6)
    assert definition is not None
    assert (definition.name, definition.kind) == ("fmap", "method")
    names = [(d.name, d.kind) for d in all_definitions(STATE, "haskell")]
    assert ("Functor", "class") in names and ("execState", "function") in names


def test_code_context_has_callee_signatures() -> None:
    row = row_of(LIST_UTILS, "nubIntOn f = \\xs -> nubIntOnExcluding f IntSet.empty xs")
    definition = find_definition(LIST_UTILS, "haskell", row, 3)
    assert definition is not None and definition.name == "nubIntOn"
    context_ = code_context(LIST_UTILS, "haskell", definition)
    assert "nubIntOnExcluding f = go" in context_.callee_signatures


def test_code_context_has_the_imports() -> None:
    row = row_of(STATE, "execState m x = snd (runState m x)")
    definition = find_definition(STATE, "haskell", row, 20)
    assert definition is not None
    context_ = code_context(STATE, "haskell", definition)
    assert context_.imports == ("import Control.Monad (ap)", "import Control.Applicative (liftA)")


def test_haddock_added_above_the_type_signature() -> None:
    row = row_of(LIST_UTILS, "nubIntOnExcluding f = go")
    definition = find_definition(LIST_UTILS, "haskell", row, 3)
    assert definition is not None and definition.existing_doc is None
    assert format_doc(["Removes duplicates.", "", "Keeps the first."], definition, "") == (
        "-- | Removes duplicates.\n--\n-- Keeps the first.\n"
    )
    edit = place_doc(LIST_UTILS, definition, "Removes duplicates.\n\nKeeps the first.")
    assert not isinstance(edit, str)
    after = lines_of(apply_line_edit(LIST_UTILS, edit))
    assert after[row - 1 : row + 4] == [
        "-- | Removes duplicates.",
        "--",
        "-- Keeps the first.",
        "nubIntOnExcluding :: (a -> Int) -> IntSet -> [a] -> [a]",
        "nubIntOnExcluding f = go",
    ]


def test_existing_haddock_is_replaced() -> None:
    row = row_of(LIST_UTILS, "nubInt = nubIntOn id")
    definition = find_definition(LIST_UTILS, "haskell", row, 3)
    assert definition is not None and definition.name == "nubInt"
    assert definition.existing_doc == (row_of(LIST_UTILS, "-- | \\( O(n \\min(n,W)) \\)."), row - 1)


def test_unit_test_file_name_and_framework() -> None:
    path = PurePosixPath("Data/Containers/ListUtils.hs")
    assert unit_test_file_name(path, "haskell", "nubOrd") == "NubOrdSpec.hs"
    assert unit_test_framework("haskell") == "Hspec"


# -- end to end -----------------------------------------------------------------------------------


async def test_end_to_end_completion_and_explain(smollm2_path: Path, tmp_path: Path) -> None:
    lines = lines_of(LIST_UTILS)
    # Block start: nubIntOnExcluding's `where` bindings cut; the user starts writing them.
    header = lines.index("nubIntOnExcluding f = go")
    assert lines[header + 1] == "  where" and lines[header + 7] == ""
    lines[header + 2 : header + 7] = ["    "]
    # Mid-line: the user is typing nubIntOn's equation.
    equation = lines.index("nubIntOn f = \\xs -> nubIntOnExcluding f IntSet.empty xs")
    lines[equation] = "nubIntOn f = \\xs -> "
    text = "\n".join(lines)
    completions = await check_end_to_end(
        smollm2_path,
        tmp_path,
        file_name="ListUtils.hs",
        language_id="haskell",
        text=text,
        positions={"block start": (header + 2, 4), "mid-line": (equation, len(lines[equation]))},
        function_at=(lines.index("nubOrdOnExcluding f = go"), 3),
        symbol="nubOrdOnExcluding",
    )
    assert set(completions) == {"block start", "mid-line"}
