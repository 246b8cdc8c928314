"""The headless CLI (``complete``, ``explain``, ``replay``, ``doctor``) as subprocesses, with real models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lsp_server.client.commands import parse_settings
from lsp_server.client.locations import LocationError, locate, locate_file
from lsp_server.client.session import ServerOptions
from lsp_server.context.languages import SUPPORTED_LANGUAGES

REPO = Path(__file__).resolve().parent.parent

SOURCE = '''import os


def read_config(path):
    """Read a configuration file and return its lines."""
    with open(path) as handle:
        return handle.read().splitlines()


def list_python_files(folder):
    names = os.listdir(folder)
    result = [name for name in names if name.endswith(
'''
LAST_LINE = SOURCE.splitlines()[-1]
END_OF_LAST_LINE = f"12:{len(LAST_LINE) + 1}"  # 1-based: the column after the last character


def run_cli(*args: str | Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "lsp_server", *(str(arg) for arg in args)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        command, capture_output=True, text=True, cwd=REPO, env=env, timeout=timeout, check=False
    )


@pytest.fixture
def source_file(tmp_path: Path) -> Path:
    path = tmp_path / "example.py"
    path.write_text(SOURCE, encoding="utf-8")
    return path


# --- complete ------------------------------------------------------------------------------------


def test_complete_prints_completion_and_is_deterministic(source_file: Path, smollm2_path: Path) -> None:
    flags = ["--model", smollm2_path, "--temperature", "0", "--seed", "1"]
    first = run_cli("complete", f"{source_file}:{END_OF_LAST_LINE}", *flags)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip()
    assert first.stdout.count("\n") == 1  # a single-line completion, newline-terminated
    second = run_cli("complete", f"{source_file}:{END_OF_LAST_LINE}", *flags)
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout


def test_complete_json(source_file: Path, smollm2_path: Path) -> None:
    result = run_cli("complete", f"{source_file}:{END_OF_LAST_LINE}", "--model", smollm2_path, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["completion"].strip()
    assert data["languageId"] == "python"
    assert (data["line"], data["column"]) == (12, len(LAST_LINE) + 1)
    assert data["model"]["architecture"] == "llama"
    assert data["latencyMs"] > 0 and data["loadMs"] > 0


def test_complete_inside_identifier_is_no_result(source_file: Path, smollm2_path: Path) -> None:
    # Line 4 is "def read_config(path):"; column 8 is inside "read_config".
    result = run_cli("complete", f"{source_file}:4:8", "--model", smollm2_path, "--json")
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["completion"] is None
    plain = run_cli("complete", f"{source_file}:4:8", "--model", smollm2_path)
    assert plain.returncode == 1 and plain.stdout == ""


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("{file}", "is not FILE:LINE:COL"),
        ("{file}:3", "is not FILE:LINE:COL"),
        ("{file}:0:1", "line 0 is outside the file"),
        ("{file}:99:1", "line 99 is outside the file"),
        ("{file}:4:99", "column 99 is outside line 4"),
        ("{dir}/missing.py:1:1", "no such file"),
    ],
)
def test_complete_bad_location_is_a_usage_error(source_file: Path, location: str, message: str) -> None:
    spec = location.format(file=source_file, dir=source_file.parent)
    result = run_cli("complete", spec, "--model", source_file)  # fails before any model is loaded
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_complete_missing_model_file(source_file: Path, tmp_path: Path) -> None:
    result = run_cli("complete", f"{source_file}:{END_OF_LAST_LINE}", "--model", tmp_path / "nope.gguf")
    assert result.returncode == 2
    assert "does not exist" in result.stderr


def test_complete_model_that_fails_to_load(source_file: Path, tmp_path: Path) -> None:
    not_gguf = tmp_path / "x.gguf"
    not_gguf.write_text("this is a text file, not a model\n")
    result = run_cli("complete", f"{source_file}:{END_OF_LAST_LINE}", "--model", not_gguf, "--timeout", "120")
    assert result.returncode == 2
    assert "not a GGUF file" in result.stderr
    assert result.stdout == ""


def test_usage_errors_exit_2(source_file: Path) -> None:
    assert run_cli("complete").returncode == 2  # argparse: missing FILE:LINE:COL
    negative = run_cli("complete", f"{source_file}:1:1", "--temperature", "-1")
    assert negative.returncode == 2 and "--temperature" in negative.stderr


# --- replay --------------------------------------------------------------------------------------


def _inline_request(msg_id: int, uri: str, line: int, character: int, delay_ms: int = 0) -> dict[str, object]:
    return {
        "jsonrpc": "2.0",
        "id": msg_id,
        "method": "textDocument/inlineCompletion",
        "params": {
            "textDocument": {"uri": uri},
            "position": {"line": line, "character": character},
            "context": {"triggerKind": 2},
        },
        "delayMs": delay_ms,
    }


def _write_session(path: Path, messages: list[dict[str, object]]) -> Path:
    path.write_text("// recorded from an editor\n" + "\n".join(json.dumps(m) for m in messages) + "\n")
    return path


def test_replay_reports_results_and_latencies(tmp_path: Path, smollm2_path: Path) -> None:
    uri = (tmp_path / "recorded.py").as_uri()
    session = _write_session(
        tmp_path / "session.jsonl",
        [
            {
                "method": "textDocument/didOpen",
                "params": {
                    "textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": SOURCE}
                },
            },
            _inline_request(1, uri, 11, len(LAST_LINE), delay_ms=20),
            _inline_request(2, uri, 3, 7),  # inside an identifier: an empty list
            {"id": 3, "method": "qwenLsp/stats"},
            {"method": "shutdown", "id": 4},  # the replay ends the session itself
        ],
    )
    result = run_cli("replay", session, "--model", smollm2_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    assert "textDocument/inlineCompletion" in lines[0] and " ms " in lines[0]
    assert "(no items)" in lines[1]
    assert lines[-1].startswith("3 requests, median")

    data = json.loads(run_cli("replay", session, "--model", smollm2_path, "--json").stdout)
    requests = data["requests"]
    assert [r["id"] for r in requests] == [1, 2, 3]
    assert all(r["latencyMs"] is not None and r["latencyMs"] >= 0 for r in requests)
    assert requests[0]["result"]["items"][0]["insertText"].strip()
    assert requests[1]["result"]["items"] == []
    assert requests[2]["result"]["state"] == "ready"
    assert data["loadMs"] > 0


def test_replay_recorded_initialize_and_cancel(tmp_path: Path, smollm2_path: Path) -> None:
    uri = (tmp_path / "recorded.py").as_uri()
    initialize = {
        "id": 0,
        "method": "initialize",
        "params": {
            "processId": None,
            "rootUri": None,
            "capabilities": {"textDocument": {"inlineCompletion": {}}},
            "initializationOptions": {"completion": {"maxTokensSingleLine": 8}},
        },
    }
    session = _write_session(
        tmp_path / "session.jsonl",
        [
            initialize,
            {"method": "initialized", "params": {}},
            {
                "method": "textDocument/didOpen",
                "params": {
                    "textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": SOURCE}
                },
            },
            _inline_request(1, uri, 11, len(LAST_LINE)),
            {"method": "$/cancelRequest", "params": {"id": 1}},
            _inline_request(2, uri, 11, len(LAST_LINE), delay_ms=10),
        ],
    )
    result = run_cli("replay", session, "--model", smollm2_path, "--json", "--temperature", "0")
    assert result.returncode == 0, result.stderr
    first, second = json.loads(result.stdout)["requests"]
    # The cancelled request ends with an error or an empty/partial answer, never hangs.
    assert first["latencyMs"] is not None
    assert second["result"]["items"][0]["insertText"].strip()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json\n", "not JSON"),
        ('{"method": "initialized", "params": {}}\n', "no requests"),
        ('{"id": 1, "method": "qwenLsp/stats", "delayMs": -5}\n', "delayMs"),
    ],
)
def test_replay_bad_recording_is_an_error(tmp_path: Path, content: str, message: str) -> None:
    session = tmp_path / "bad.jsonl"
    session.write_text(content)
    result = run_cli("replay", session)
    assert result.returncode == 2
    assert message in result.stderr


def test_replay_missing_file(tmp_path: Path) -> None:
    result = run_cli("replay", tmp_path / "none.jsonl")
    assert result.returncode == 2 and "no such file" in result.stderr


# --- doctor --------------------------------------------------------------------------------------


def test_doctor_with_valid_model(smollm2_path: Path) -> None:
    result = run_cli("doctor", "--model", smollm2_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "llama" in result.stdout and "Q4_1" in result.stdout
    assert "no fill-in-the-middle tokens" in result.stdout  # SmolLM2 has none: a warning, not a failure
    data = json.loads(run_cli("doctor", "--model", smollm2_path, "--json").stdout)
    checks = {check["name"]: check for check in data["checks"]}
    assert data["ok"] is True
    assert checks["model"]["facts"]["architecture"] == "llama"
    assert checks["model"]["facts"]["quantization"] == "Q4_1"
    assert checks["tokenizer"]["facts"]["fim"] is False
    assert checks["llama.cpp"]["facts"]["version"]
    assert isinstance(checks["llama.cpp"]["facts"]["gpuOffload"], bool)
    assert checks["grammars"]["facts"]["loaded"] == list(SUPPORTED_LANGUAGES)  # every profile's grammar
    assert checks["settings"]["status"] == "ok"


def test_doctor_reports_fim_tokens(qwen35_path: Path) -> None:
    data = json.loads(run_cli("doctor", "--model", qwen35_path, "--json").stdout)
    checks = {check["name"]: check for check in data["checks"]}
    assert checks["model"]["facts"]["architecture"] == "qwen35"
    assert checks["tokenizer"]["status"] == "ok" and checks["tokenizer"]["facts"]["fim"] is True


def test_doctor_with_missing_model_and_bad_settings(tmp_path: Path) -> None:
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"completion": {"temperature": "hot", "nosuch": 1}}))
    result = run_cli("doctor", "--model", tmp_path / "missing.gguf", "--settings", settings)
    assert result.returncode == 1
    assert "[FAIL] model" in result.stdout and "does not exist" in result.stdout
    assert "[FAIL] settings" in result.stdout and "completion.nosuch" in result.stdout


# --- explain -------------------------------------------------------------------------------------

# SmolLM2 writes until the token limit; a short limit keeps the explain tests quick.
SHORT_ACTIONS = ("--setting", "actions.maxTokens=12")


def test_explain_line(source_file: Path, smollm2_path: Path) -> None:
    # Line 4 is "def read_config(path):": the first name on it is read_config.
    flags = ["--model", smollm2_path, "--temperature", "0", *SHORT_ACTIONS]
    result = run_cli("explain", f"{source_file}:4", *flags, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["symbol"] == "read_config"
    assert "read_config" in data["markdown"]
    assert (data["line"], data["column"]) == (4, 5)
    plain = run_cli("explain", f"{source_file}:4", *flags)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.rstrip("\n") == data["markdown"].rstrip("\n")


def test_explain_symbol(source_file: Path, smollm2_path: Path) -> None:
    result = run_cli(
        "explain", source_file, "--symbol", "list_python_files", "--model", smollm2_path, *SHORT_ACTIONS
    )
    assert result.returncode == 0, result.stderr
    assert "list_python_files" in result.stdout


def test_explain_nothing_to_explain(source_file: Path, smollm2_path: Path) -> None:
    result = run_cli("explain", f"{source_file}:2", "--model", smollm2_path, "--json")  # a blank line
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["markdown"] is None and data["error"]
    unknown = run_cli("explain", source_file, "--symbol", "nosuch", "--model", smollm2_path)
    assert unknown.returncode == 1 and "no definition named 'nosuch'" in unknown.stderr


def test_explain_bad_location_and_setting(source_file: Path) -> None:
    result = run_cli("explain", f"{source_file}:40")
    assert result.returncode == 2 and "outside the file" in result.stderr
    bad = run_cli("explain", f"{source_file}:4", "--setting", "actions.maxTokens")
    assert bad.returncode == 2 and "is not KEY=VALUE" in bad.stderr


# --- locations (pure) ----------------------------------------------------------------------------


def test_locate_counts_characters_and_sends_utf16(tmp_path: Path) -> None:
    path = tmp_path / "a:b.py"  # a colon in the file name
    path.write_text("s = '😀é' + x\n", encoding="utf-8")
    location = locate(f"{path}:1:12")
    assert location.path == path
    assert (location.line, location.column) == (0, 12)
    assert location.character == 12  # the emoji is two UTF-16 units
    assert location.language_id == "python"


def test_locate_line_only_picks_first_name(tmp_path: Path) -> None:
    path = tmp_path / "m.ts"
    path.write_text("export function total(xs: number[]) {\n\n}\n", encoding="utf-8")
    assert locate(f"{path}:1", column_required=False).column == len("export function ") + 1
    assert locate(f"{path}:2", column_required=False).column == 1
    assert locate_file(f"{path}:1").language_id == "typescript"
    with pytest.raises(LocationError, match="not FILE:LINE:COL"):
        locate(f"{path}:1")


def test_settings_flags_become_initialization_options() -> None:
    settings = parse_settings(["actions.maxTokens=64", "model.nCtx=2048", "model.path=/m/x.gguf"])
    assert settings == {"actions": {"maxTokens": 64}, "model": {"nCtx": 2048, "path": "/m/x.gguf"}}
    options = ServerOptions(temperature=0.5, seed=3, settings=settings).initialization_options()
    assert options["completion"] == {"temperature": 0.5}
    assert options["actions"] == {"maxTokens": 64, "temperature": 0.5}
    assert options["model"] == {"nCtx": 2048, "path": "/m/x.gguf", "seed": 3}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_settings(["=1"])
