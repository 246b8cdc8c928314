"""``qwen-lsp eval``: hole cutting and scoring (pure), and the command end to end with a real small model."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lsp_server.client.eval_holes import (
    SourceFile,
    candidates,
    cut_holes,
    edit_similarity,
    exact_match,
    levenshtein,
    sample_files,
    similarity,
)
from lsp_server.client.evaluate import (
    EvalError,
    Progress,
    copy_project,
    parse_styles,
    recommend,
    run_test_command,
    style_options,
)
from lsp_server.client.session import ServerOptions

REPO = Path(__file__).resolve().parent.parent

MODULE = (
    '''"""Small geometry helpers."""

import math

# A comment line: never a hole.
RATIO = 0.5  # a trailing comment: not a line hole either


def area_of_circle(radius):
    """The area of a circle."""
    squared = radius * radius
    return math.pi * squared


def perimeter_of_rectangle(width, height):
    total = width + height
    return 2 * total


def clamp(value, low, high):
    if value < low:
        return low
    if value > high:
        return high
    return value


def one_liner(x): return x


def long_function(values):
    result = []
'''
    + "".join(f"    result.append(values[{i}] * {i})\n" for i in range(16))
    + """    return result


class Counter:
    def __init__(self):
        self.count = 0
        self.history = []

    def increment(self, step=1):
        self.count += step
        self.history.append(self.count)
        return self.count
"""
)

TESTS = """import math
import unittest

from shapes import Counter, area_of_circle, clamp, perimeter_of_rectangle


class ShapesTest(unittest.TestCase):
    def test_area(self):
        self.assertAlmostEqual(area_of_circle(2), 4 * math.pi)

    def test_perimeter(self):
        self.assertEqual(perimeter_of_rectangle(2, 3), 10)

    def test_clamp(self):
        self.assertEqual(clamp(5, 0, 3), 3)
        self.assertEqual(clamp(-1, 0, 3), 0)
        self.assertEqual(clamp(2, 0, 3), 2)

    def test_counter(self):
        counter = Counter()
        counter.increment()
        counter.increment(2)
        self.assertEqual(counter.count, 3)
        self.assertEqual(counter.history, [1, 3])


if __name__ == "__main__":
    unittest.main()
"""

GO = """package shapes

// Area of a rectangle.
func Area(width int, height int) int {
\tproduct := width * height
\treturn product
}
"""


def python_source(text: str = MODULE, path: str = "shapes.py") -> SourceFile:
    return SourceFile(path, text, "python")


def code_rows(text: str) -> set[int]:
    """Rows that hold code: not blank, not comments, not the docstrings."""
    rows = set()
    for row, line in enumerate(text.split("\n")):
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and not stripped.startswith('"""'):
            rows.add(row)
    return rows


# --- hole cutting ---------------------------------------------------------------------------------------


def test_holes_are_deterministic_for_a_seed() -> None:
    sources = [python_source(), python_source(TESTS, "test_shapes.py")]
    first = cut_holes(sources, 10, seed=3)
    assert first == cut_holes(list(reversed(sources)), 10, seed=3)
    assert len(first) == 10
    assert {hole.kind for hole in first} == {"line", "block"}
    assert sum(hole.kind == "block" for hole in first) == 5
    others = [cut_holes(sources, 10, seed=seed) for seed in range(4, 8)]
    assert any(holes != first for holes in others)


def test_hole_text_round_trips() -> None:
    source = python_source()
    for hole in cut_holes([source], 12, seed=1):
        assert source.text[hole.start : hole.end] == hole.truth
        assert hole.filled(source.text, hole.truth) == source.text
        line = source.text.split("\n")[hole.line]
        assert source.text.split("\n")[hole.line][: hole.column] == line[: hole.column]
        assert hole.without(source.text).split("\n")[hole.line] == line[: hole.column] + (
            "" if hole.kind == "line" else source.text[hole.end :].split("\n")[0]
        )


def test_line_holes_cut_inside_names_and_at_tokens() -> None:
    source = python_source()
    holes = [hole for seed in range(6) for hole in cut_holes([source], 8, seed=seed) if hole.kind == "line"]
    cuts = {hole.cut for hole in holes}
    assert cuts == {"mid_identifier", "token"}
    for hole in holes:
        line = source.text.split("\n")[hole.line]
        assert hole.truth == line[hole.column :]  # the rest of the line
        assert len(hole.truth.replace(" ", "")) >= 4
        if hole.cut == "mid_identifier":
            before, after = line[hole.column - 1], line[hole.column]
            assert (before.isalnum() or before == "_") and (after.isalnum() or after == "_")


def test_nothing_is_cut_from_comments_blank_lines_or_docstrings() -> None:
    source = python_source()
    rows = code_rows(MODULE)
    rows.discard(MODULE.split("\n").index("RATIO = 0.5  # a trailing comment: not a line hole either"))
    spots, _blocks = candidates(source)
    assert spots
    assert {spot.row for spot in spots} <= rows
    for seed in range(10):
        for hole in cut_holes([source], 10, seed=seed):
            if hole.kind == "line":
                assert hole.line in rows


def test_block_holes_are_whole_bodies_of_2_to_15_lines() -> None:
    source = python_source()
    _spots, blocks = candidates(source)
    bodies = {hole.truth.split("\n")[0]: hole for hole in blocks}
    # area_of_circle's body starts with its docstring; one_liner (one line) and long_function (18) are out.
    assert set(bodies) == {
        '"""The area of a circle."""',
        "total = width + height",
        "if value < low:",
        "self.count = 0",
        "self.count += step",
    }
    clamp = bodies["if value < low:"]
    assert clamp.truth == (
        "if value < low:\n        return low\n    if value > high:\n        return high\n    return value"
    )
    assert clamp.column == 4
    assert clamp.cut == "body"
    assert MODULE.split("\n")[clamp.line] == "    if value < low:"
    assert exact_match("block", clamp.truth, clamp.truth + "\n\n")


def test_other_languages_and_non_code_files() -> None:
    spots, blocks = candidates(SourceFile("area.go", GO, "go"))
    assert [hole.truth for hole in blocks] == ["product := width * height\n\treturn product"]
    assert 2 not in {spot.row for spot in spots}  # the comment line
    # A file with nothing but comments and a docstring gives no holes at all.
    quiet = SourceFile("notes.py", '"""Only a docstring."""\n# and a comment\n\n', "python")
    assert cut_holes([quiet], 5, seed=0) == []


def test_hole_positions_count_utf16() -> None:
    text = 'def greet(name):\n    label = "héllo 😀" + name\n    return label.upper()\n'
    source = python_source(text)
    for hole in cut_holes([source], 6, seed=2):
        line = text.split("\n")[hole.line]
        assert hole.utf16_character(text) == len(line[: hole.column].encode("utf-16-le")) // 2


def test_sample_files_is_seeded_and_bounded() -> None:
    paths = [f"pkg/module_{index}.py" for index in range(50)]
    assert sample_files(paths, seed=1) == sorted(paths)
    picked = sample_files(paths, seed=1, limit=10)
    assert len(picked) == 10 and picked == sorted(picked)
    assert picked == sample_files(reversed(paths), seed=1, limit=10)


# --- scoring --------------------------------------------------------------------------------------------


def test_exact_match_rules() -> None:
    assert exact_match("line", "total)  ", "total)\n    more")  # a line: the first line, rstripped
    assert not exact_match("line", "total)", "total")
    assert not exact_match("line", "total)", "")
    truth = "x = 1\n    return x"
    assert exact_match("block", truth, "x = 1   \n    return x\n\n")
    assert not exact_match("block", truth, "x = 1\n    return x\n    extra")
    assert not exact_match("block", truth, "x = 1\n\n    return x")


def test_similarity() -> None:
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein("", "abc") == 3
    assert levenshtein("flaw", "lawn") == 2
    assert similarity("abc", "abc") == 1.0
    assert similarity("", "") == 1.0
    assert similarity("abc", "") == 0.0
    assert similarity("kitten", "sitting") == pytest.approx(1 - 3 / 7)
    assert edit_similarity("line", "total)", "total)\nnext") == 1.0
    assert edit_similarity("block", "a\n  b", "a  \n  b\n") == 1.0
    assert 0.0 < edit_similarity("block", "x = 1\n    return x", "x = 2\n    return x") < 1.0


def test_recommendation_prefers_tests_then_exact_then_similarity_then_speed() -> None:
    def summary(exact: int, similarity: float, passed: int | None, ms: float) -> dict[str, object]:
        return {
            "holes": 4,
            "exact": exact,
            "similarity": similarity,
            "testsPassed": passed,
            "medianLatencyMs": ms,
        }

    best, why = recommend({"fim": summary(1, 0.5, 3, 100), "chat": summary(3, 0.9, 2, 50)}, tested=True)
    assert best == "fim" and "tests passed 3/4" in why
    best, why = recommend(
        {"fim": summary(1, 0.5, None, 100), "chat": summary(3, 0.9, None, 50)}, tested=False
    )
    assert best == "chat" and "exact matches 3/4" in why
    best, why = recommend(
        {"fim": summary(2, 0.5, None, 100), "chat": summary(2, 0.7, None, 500)}, tested=False
    )
    assert best == "chat" and "similarity" in why
    best, why = recommend(
        {"fim": summary(2, 0.7, None, 400), "prefix": summary(2, 0.7, None, 90)}, tested=False
    )
    assert best == "prefix" and "faster" in why


def test_styles_flag_and_settings() -> None:
    assert parse_styles("fim, Chat,prefix") == ("fim", "chat", "prefix")
    for bad in ("", "fim,fim", "fim,magic"):
        with pytest.raises(EvalError):
            parse_styles(bad)
    options = ServerOptions(settings={"completion": {"maxTokensSingleLine": 8}, "model": {"seed": 1}})
    merged = style_options(options, "chat").initialization_options()
    assert merged["completion"] == {"maxTokensSingleLine": 8, "promptStyle": "chat"}
    assert merged["model"] == {"seed": 1}
    assert options.settings["completion"] == {"maxTokensSingleLine": 8}  # not changed in place


def test_copy_leaves_out_environments_and_hidden_folders(tmp_path: Path) -> None:
    project = tmp_path / "project"
    for name in ("src/app.py", ".git/config", ".venv/lib/x.py", "node_modules/m.js", "pkg/__pycache__/a.pyc"):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text("x = 1\n")
    (project / ".coveragerc").write_text("[run]\n")
    copy = tmp_path / "copy" / "project"
    copy_project(project, copy)
    copied = sorted(path.relative_to(copy).as_posix() for path in copy.rglob("*") if path.is_file())
    assert copied == [".coveragerc", "src/app.py"]


def test_progress_without_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(stream, every=2)
    for done in range(6):
        progress.update("fim: holes", done, 5)
    assert stream.getvalue().splitlines() == [
        "qwen-lsp eval: fim: holes 2/5",
        "qwen-lsp eval: fim: holes 4/5",
        "qwen-lsp eval: fim: holes 5/5",
    ]


def test_test_command_passes_fails_and_times_out(tmp_path: Path) -> None:
    assert run_test_command("exit 0", tmp_path) == (True, "")
    passed, output = run_test_command("echo broken; exit 3", tmp_path)
    assert not passed and output == "broken"
    passed, output = run_test_command("sleep 30 & wait", tmp_path, timeout=0.5)
    assert not passed and "timed out" in output


# --- the command ----------------------------------------------------------------------------------------


def run_cli(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "lsp_server", *(str(arg) for arg in args)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        command, capture_output=True, text=True, cwd=REPO, env=env, timeout=timeout, check=False
    )


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "geometry"
    root.mkdir()
    (root / "shapes.py").write_text(MODULE, encoding="utf-8")
    (root / "test_shapes.py").write_text(TESTS, encoding="utf-8")
    return root


def test_eval_end_to_end(project: Path, smollm2_path: Path) -> None:
    before = tree_hashes(project)
    test_cmd = f"{sys.executable} -m unittest -q"
    result = run_cli(
        "eval", project, "--model", smollm2_path, "--styles", "prefix,chat", "--holes", "4",
        "--test-cmd", test_cmd, "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert len(data["holes"]) == 4
    assert {hole["kind"] for hole in data["holes"]} == {"line", "block"}
    for hole in data["holes"]:
        assert hole["file"] in ("shapes.py", "test_shapes.py")
        assert hole["line"] >= 1 and hole["column"] >= 1 and hole["truth"]
    assert set(data["styles"]) == {"prefix", "chat"}
    for style in data["styles"].values():
        assert style["holes"] == 4 and len(style["results"]) == 4
        assert 0 <= style["exact"] <= 4 and 0.0 <= style["similarity"] <= 1.0
        assert data["tested"] and style["testsPassed"] is not None
        for answer in style["results"]:
            assert isinstance(answer["completion"], str) and isinstance(answer["passed"], bool)
            assert answer["latencyMs"] > 0 and answer["reportedStyle"]
    assert data["recommended"] in ("prefix", "chat")
    assert data["seed"] == 0
    assert tree_hashes(project) == before  # nothing written to the user's tree (no __pycache__ either)


def test_eval_usage_errors(project: Path, tmp_path: Path) -> None:
    missing = run_cli("eval", tmp_path / "nowhere", "--model", tmp_path / "none.gguf")
    assert missing.returncode == 2
    bad_style = run_cli("eval", project, "--styles", "fim,magic")
    assert bad_style.returncode == 2 and "magic" in bad_style.stderr
    no_holes = run_cli("eval", project, "--holes", "0")
    assert no_holes.returncode == 2
    not_a_folder = run_cli("eval", project / "shapes.py")
    assert not_a_folder.returncode == 2 and "not a directory" in not_a_folder.stderr
