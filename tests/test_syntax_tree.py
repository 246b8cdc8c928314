"""Incremental parse trees: every update gives the same tree a full parse of the new text would."""

from __future__ import annotations

import random
import time

import pytest
import tree_sitter

from lsp_server import document as document_module
from lsp_server.context.languages import parse
from lsp_server.context.syntax_tree import SyntaxTrees, diff_edit, top_level_definitions
from lsp_server.document import lines_of
from tests.test_context_assemble import SAMPLES, split_cursor


def shape(tree: tree_sitter.Tree) -> list[tuple[str, int, int, tuple[int, int], tuple[int, int]]]:
    """Every node with its byte range and points: the s-expression alone does not show positions."""
    found = []
    cursor = tree.walk()
    visited_children = False
    while True:
        if not visited_children:
            node = cursor.node
            assert node is not None
            found.append(
                (node.type, node.start_byte, node.end_byte, tuple(node.start_point), tuple(node.end_point))
            )
            if cursor.goto_first_child():
                continue
        if cursor.goto_next_sibling():
            visited_children = False
        elif cursor.goto_parent():
            visited_children = True
        else:
            return found


def assert_same_as_full_parse(trees: SyntaxTrees, uri: str, language: str, text: str) -> None:
    document = trees.get(uri, text)
    assert document is not None
    fresh = parse(language, text)
    assert str(document.tree.root_node) == str(fresh.root_node)
    assert shape(document.tree) == shape(fresh)
    assert document.source == text.encode("utf-8")


def edit_at(text: str, start: int, end: int, replacement: str) -> str:
    return text[:start] + replacement + text[end:]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("abc", "abXc"),
        ("abc", "ac"),
        ("hello world", "hello brave new world"),
        ("x = 'é'\n", "x = 'è'\n"),  # same lead byte: the edit must not start inside the character
        ("a😀b", "a😁b"),
        ("中文\n代码\n", "中文\n新的\n代码\n"),
        ("line1\nline2\nline3\n", "line1\nline3\n"),
        ("", "def f():\n    pass\n"),
        ("def f():\n    pass\n", ""),
        ("aaaa", "aaaaaa"),  # ambiguous repeats: any consistent split will do
    ],
)
def test_diff_edit_describes_the_change(old: str, new: str) -> None:
    old_bytes, new_bytes = old.encode("utf-8"), new.encode("utf-8")
    edit = diff_edit(old_bytes, new_bytes)
    assert edit is not None
    start, old_end, new_end = edit.start_byte, edit.old_end_byte, edit.new_end_byte
    assert old_bytes[:start] + new_bytes[start:new_end] + old_bytes[old_end:] == new_bytes
    # Offsets fall on character boundaries.
    old_bytes[:start].decode("utf-8")
    old_bytes[old_end:].decode("utf-8")
    new_bytes[start:new_end].decode("utf-8")

    def point(source: bytes, offset: int) -> tuple[int, int]:
        head = source[:offset]
        return head.count(b"\n"), len(head) - (head.rfind(b"\n") + 1)

    assert edit.start_point == point(new_bytes, start)
    assert edit.old_end_point == point(old_bytes, old_end)
    assert edit.new_end_point == point(new_bytes, new_end)
    assert diff_edit(new_bytes, new_bytes) is None


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_typing_and_multi_line_edits_match_a_full_parse(language: str) -> None:
    text, cursor = split_cursor(SAMPLES[language])
    trees = SyntaxTrees()
    uri = f"file:///project/sample.{language}"
    trees.update(uri, language, text, 1)
    assert trees.full_parses == 1
    version = 1
    # Type a call character by character at the cursor (non-ASCII included).
    for ch in 'total("é😀中")':
        text = edit_at(text, cursor, cursor, ch)
        cursor += 1
        version += 1
        trees.update(uri, language, text, version)
        assert_same_as_full_parse(trees, uri, language, text)
    # Insert a multi-line block, then delete it again, then delete two whole lines near the top.
    block = "\n# 注释 ünïcødé 😀\nvalue = compute(1,\n    2)\n"
    text = edit_at(text, cursor, cursor, block)
    trees.update(uri, language, text, version + 1)
    assert_same_as_full_parse(trees, uri, language, text)
    text = edit_at(text, cursor, cursor + len(block), "")
    trees.update(uri, language, text, version + 2)
    assert_same_as_full_parse(trees, uri, language, text)
    second_line = text.index("\n") + 1
    fourth_line = text.index("\n", text.index("\n", second_line) + 1) + 1
    text = edit_at(text, second_line, fourth_line, "")
    trees.update(uri, language, text, version + 3)
    assert_same_as_full_parse(trees, uri, language, text)
    assert trees.full_parses == 1
    assert trees.incremental_parses == len('total("é😀中")') + 3
    document = trees.get(uri, text)
    assert document is not None and document.version == version + 3 and document.language == language


@pytest.mark.parametrize("language", ["python", "rust", "tsx"])
def test_random_edits_with_non_ascii_text_match_a_full_parse(language: str) -> None:
    rng = random.Random(language)
    text, _ = split_cursor(SAMPLES[language])
    trees = SyntaxTrees()
    uri = "file:///project/fuzz"
    trees.update(uri, language, text, 0)
    pieces = ["é", "😀", "中文", "\n", "\n    ", "(", ")", "{", "}", "x", " = ", '"', "# ü\n", "// ß\n", "\t"]
    for step in range(60):
        start = rng.randrange(len(text) + 1)
        end = min(len(text), start + rng.choice([0, 0, 1, 3, 12, 40]))
        replacement = "".join(rng.choice(pieces) for _ in range(rng.choice([0, 1, 2, 5])))
        text = edit_at(text, start, end, replacement)
        trees.update(uri, language, text, step + 1)
        assert_same_as_full_parse(trees, uri, language, text)
    assert trees.full_parses == 1


@pytest.mark.parametrize("ascii_only", [True, False])
def test_a_keystroke_derives_the_line_split_from_the_previous_text(ascii_only: bool) -> None:
    # A request splits the text into lines; after the next edit the new text's lines are put together
    # from those and the edited rows (no whole split), and must equal a fresh split. ASCII text takes
    # the rows' offsets from the edit's byte offsets.
    rng = random.Random(7)
    text = "\n".join(f"line {row} = compute({row})" for row in range(400)) + "\n"
    trees = SyntaxTrees(sync_bytes=0)
    uri = "file:///project/lines.py"
    trees.update(uri, "python", text, 0)
    pieces = ["\n", "\r\n", "\n\n    ", "x", "", "\r"] + ([] if ascii_only else ["é", "😀"])
    for step in range(80):
        lines_of(text)  # the request at the previous keystroke
        start = rng.randrange(len(text) + 1)
        end = min(len(text), start + rng.choice([0, 0, 1, 5, 30, 200]))
        edited = edit_at(text, start, end, "".join(rng.choice(pieces) for _ in range(rng.choice([0, 1, 3]))))
        if edited == text:
            continue
        text = edited
        trees.update(uri, "python", text, step + 1)
        derived = document_module._last_split
        assert derived[0] is text, "the split was not derived from the previous one"
        assert derived[1] == text.split("\n")
    assert lines_of(text) == text.split("\n")


def test_earlier_trees_keep_describing_their_own_text() -> None:
    text, cursor = split_cursor(SAMPLES["python"])
    trees = SyntaxTrees()
    trees.update("file:///a.py", "python", text, 1)
    first = trees.get("file:///a.py", text)
    assert first is not None
    changed = edit_at(text, cursor, cursor, "if ready:\n                break\n")
    trees.update("file:///a.py", "python", changed, 2)
    assert shape(first.tree) == shape(parse("python", text))  # not edited in place
    second = trees.get("file:///a.py", changed)
    assert second is not None and second is not first


def test_languages_unknown_files_and_closing() -> None:
    trees = SyntaxTrees()
    assert trees.get("file:///notes.txt", "hello") is None
    trees.update("file:///notes.txt", None, "hello", 1)
    assert trees.get("file:///notes.txt", "hello") is None
    # The language comes from the languageId, else from the extension.
    trees.update("file:///a.tsx", "typescriptreact", "const a = <div />;\n", 1)
    document = trees.get("file:///a.tsx", "const a = <div />;\n")
    assert document is not None and document.language == "tsx"
    found = trees.get("file:///b.go", "package b\n")
    assert found is not None and found.language == "go" and found.version is None
    # A language change parses from scratch.
    full = trees.full_parses
    trees.update("file:///a.tsx", "typescript", "const a = 1;\n", 2)
    assert trees.full_parses == full + 1
    # The same text again costs nothing; a new version number is recorded.
    incremental = trees.incremental_parses
    trees.update("file:///a.tsx", "typescript", "const a = 1;\n", 3)
    assert trees.incremental_parses == incremental and trees.full_parses == full + 1
    again = trees.get("file:///a.tsx", "const a = 1;\n")
    assert again is not None and again.version == 3
    trees.close("file:///a.tsx")
    full = trees.full_parses
    assert trees.get("file:///a.tsx", "const a = 1;\n") is not None
    assert trees.full_parses == full + 1


def test_update_on_a_large_file_is_incremental_and_fast() -> None:
    text, _ = split_cursor(SAMPLES["python"])
    body = text[text.index("log = logging") :]
    big = text + "".join(body.replace("Inventory", f"Inventory{i}") for i in range(47))
    assert big.count("\n") >= 5000
    trees = SyntaxTrees(budget_ms=None)  # every re-parse on the caller's thread: counted one by one
    trees.update("file:///big.py", "python", big, 1)
    middle = big.index("class Inventory20")
    started = time.perf_counter()
    rounds = 20
    for step in range(rounds):
        big = edit_at(big, middle, middle, "x")
        trees.update("file:///big.py", "python", big, step + 2)
    per_update = (time.perf_counter() - started) / rounds * 1000
    source_old, source_new = big.encode(), edit_at(big, middle, middle, "y").encode()
    started = time.perf_counter()
    for _ in range(rounds):
        diff_edit(source_old, source_new)
    per_diff = (time.perf_counter() - started) / rounds * 1000
    lines = big.count("\n")
    print(f"\n{lines} lines: {per_update:.2f} ms per keystroke update, {per_diff:.3f} ms diffing")  # noqa: T201
    assert trees.incremental_parses == rounds
    assert_same_as_full_parse(trees, "file:///big.py", "python", big)


def _big_python() -> str:
    text, _ = split_cursor(SAMPLES["python"])
    body = text[text.index("log = logging") :]
    return text + "".join(body.replace("Inventory", f"Inventory{i}") for i in range(47))


def test_a_slow_reparse_leaves_the_edited_older_tree_until_it_lands() -> None:
    big = _big_python()
    trees = SyntaxTrees(budget_ms=0.0)  # never wait: the request path gets whatever tree is ready
    uri = "file:///big.py"
    trees.update(uri, "python", big, 1)
    assert trees.full_parses == 1
    # An opened triple quote turns the rest of the file into a string: a re-parse of ~all of it.
    where = big.index("    def ", big.index("class Inventory20")) + len("    def ")
    where = big.index("\n", where) + 1
    edited = edit_at(big, where, where, '        """Begin a docstring\n')
    trees.update(uri, "python", edited, 2)
    stale = trees.get(uri, edited)
    assert stale is not None and not stale.current and stale.version == 2
    assert trees.late_parses == 1
    # The older tree's ranges were moved to the new text: the definitions after the edit are found one
    # row further down, with their names read from the new source.
    after = [
        (site.name, site.start_row)
        for site in top_level_definitions(stale.tree.root_node, "python", stale.source)
    ]
    row = big.count("\n", 0, where)
    before = top_level_definitions(parse("python", big).root_node, "python", big.encode())
    expected = [(site.name, site.start_row + (site.start_row >= row)) for site in before]
    assert after == expected and any(name == "Inventory46" for name, _ in after)
    # When the user pauses, the re-parse runs to the end: the tree is a parse of its own text.
    assert trees.behind
    assert not trees.catch_up() and not trees.behind
    landed = trees.get(uri, edited)
    assert landed is not None and landed.current and landed.version == 2
    assert_same_as_full_parse(trees, uri, "python", edited)
    # Typing on: each update edits the newest finished parse; the last one lands, older ones may be
    # skipped (a newer text replaces a job that has not started).
    text = edited
    for step, ch in enumerate(" and more"):
        text = edit_at(text, where + 1, where + 1, ch)
        trees.update(uri, "python", text, 3 + step)
    trees.settle()
    assert_same_as_full_parse(trees, uri, "python", text)
    document = trees.get(uri, text)
    assert document is not None and document.version == 3 + len(" and more") - 1
    trees.close(uri)
    assert trees.get(uri, "x = 1\n") is not None


def test_typing_on_after_a_late_reparse_does_not_start_another_on_that_row() -> None:
    big = _big_python()
    trees = SyntaxTrees(budget_ms=0.001)  # a re-lex of the rest of the file always goes over
    uri = "file:///big.py"
    trees.update(uri, "python", big, 1)
    where = big.index("\n", big.index("    def ", big.index("class Inventory20"))) + 1
    text = edit_at(big, where, where, "        x = 1\n")
    trees.update(uri, "python", text, 2)
    trees.settle()
    late = trees.late_parses

    def counts() -> tuple[int, int]:
        return trees.late_parses - late, trees.skipped_parses

    # On that row, an opened triple quote turns the rest of the file into a string: over budget.
    text = edit_at(text, where + len("        x = "), where + len("        x = 1"), '"""open')
    trees.update(uri, "python", text, 2)
    assert counts() == (1, 0)
    # More keystrokes on that row: each would re-lex the same rest of the file, so none is started.
    cursor = where + len('        x = """open')
    for step, ch in enumerate("ing"):
        text = edit_at(text, cursor + step, cursor + step, ch)
        trees.update(uri, "python", text, 3 + step)
        document = trees.get(uri, text)
        assert document is not None and not document.current and document.text == text
    assert counts() == (4, 3)
    # An edit on another row is tried again (here it goes over too).
    text = edit_at(text, where - 1, where - 1, "  # note")
    trees.update(uri, "python", text, 6)
    assert counts() == (5, 3)
    # The pause re-parses; after it, a keystroke on the row is tried again.
    trees.settle()
    assert_same_as_full_parse(trees, uri, "python", text)
    text = edit_at(text, cursor, cursor, "!")
    trees.update(uri, "python", text, 7)
    assert trees.skipped_parses == 3


def test_an_edit_spanning_many_rows_is_parsed_to_the_end() -> None:
    # A whole-document sync that changed two far-apart places is one edit over all the rows between
    # them: the edited older tree would have no statements there (the context around the second place
    # would be empty), so that re-parse runs to the end whatever the budget.
    big = _big_python()
    trees = SyntaxTrees(budget_ms=0.0)
    uri = "file:///big.py"
    trees.update(uri, "python", big, 1)
    first = big.index("class Inventory3")
    second = big.index("class Inventory40")
    text = big[:first] + "# edited\n" + big[first:second] + '"""open\n' + big[second:]
    trees.update(uri, "python", text, 2)
    document = trees.get(uri, text)
    assert document is not None and document.current and trees.late_parses == 0
    assert_same_as_full_parse(trees, uri, "python", text)
    # A keystroke near the second place is local again: it may wait for the pause.
    text = edit_at(text, second + 20, second + 20, "x")
    trees.update(uri, "python", text, 3)
    assert trees.late_parses == 1


def test_small_documents_are_always_parsed_on_the_spot() -> None:
    text, cursor = split_cursor(SAMPLES["python"])
    trees = SyntaxTrees(budget_ms=0.0)
    trees.update("file:///a.py", "python", text, 1)
    changed = edit_at(text, cursor, cursor, '"""open')
    trees.update("file:///a.py", "python", changed, 2)
    document = trees.get("file:///a.py", changed)
    assert document is not None and document.current and trees.late_parses == 0


def test_a_block_header_typed_while_the_reparse_waits_still_gets_a_body() -> None:
    from lsp_server.completion import CompletionPlan
    from lsp_server.context.completion_kind import CompletionKind
    from lsp_server.document import DocumentSnapshot
    from lsp_server.settings import CompletionSettings
    from lsp_server.workspace import WorkspaceContext

    big = _big_python()
    workspace = WorkspaceContext()
    workspace.trees.budget_ms = 0.0  # every re-parse waits for a pause in typing
    uri = "file:///big.py"
    workspace.opened(DocumentSnapshot(uri, "python", 1, big))
    where = big.index("class Inventory20")
    typed = edit_at(big, where, where, "def helper(items):\n    \n\n\n")
    snapshot = DocumentSnapshot(uri, "python", 2, typed)
    workspace.changed(snapshot)
    document = workspace.trees.get(uri, typed)
    assert document is not None and not document.current
    row = typed.count("\n", 0, where) + 1
    plan = workspace.plan(snapshot, row, 4, CompletionSettings())
    assert isinstance(plan, CompletionPlan), plan
    assert plan.decision.kind is CompletionKind.MULTI_LINE, plan.decision
