"""End to end: ``qwen-lsp serve`` in a subprocess, a pytest-lsp client on its stdio, real GGUF models."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from tests.conftest import (
    inline_completion,
    insert_text,
    items_of,
    lsp_session,
    open_document,
    stats,
)

PYTHON_SOURCE = '''import os


def read_config(path):
    """Read a configuration file and return its lines."""
    with open(path) as handle:
        return handle.read().splitlines()


def list_python_files(folder):
    names = os.listdir(folder)
    result = [name for name in names if name.endswith(
'''

JS_SOURCE = """const fs = require('fs');

function readLines(path) {
  const text = fs.readFileSync(path, 'utf8');
  return text.split(
"""


async def test_capability_and_python_completion_prefix_only(smollm2_path: Path) -> None:
    async with lsp_session(smollm2_path) as (client, result):
        caps = result.capabilities
        assert caps.inline_completion_provider is not None
        assert caps.completion_provider is not None
        sync = caps.text_document_sync
        assert isinstance(sync, types.TextDocumentSyncOptions)
        assert sync.change == types.TextDocumentSyncKind.Incremental

        uri = "file:///tmp/qwen_lsp_example.py"
        open_document(client, uri, "python", PYTHON_SOURCE)
        last = PYTHON_SOURCE.splitlines()[-1]
        items = items_of(await inline_completion(client, uri, 11, len(last)))
        assert len(items) == 1
        text = items[0].insert_text
        assert isinstance(text, str)
        assert text.strip()
        assert "\n" not in text  # single-line completion
        info = await stats(client)
        assert info["model"]["architecture"] == "llama"
        assert info["model"]["fim"] is False
        # The user is told once why quality is lower without FIM tokens.
        notes = [m for m in client.messages if "fill-in-the-middle" in m.message]
        assert len(notes) == 1
        assert notes[0].type == types.MessageType.Warning
        # Model loading reported $/progress from begin to end.
        kinds = [type(value).__name__ for reports in client.progress_reports.values() for value in reports]
        assert "WorkDoneProgressBegin" in kinds and "WorkDoneProgressEnd" in kinds


async def test_javascript_completion(smollm2_path: Path) -> None:
    async with lsp_session(smollm2_path) as (client, _):
        uri = "file:///tmp/qwen_lsp_example.js"
        open_document(client, uri, "javascript", JS_SOURCE)
        last = JS_SOURCE.splitlines()[-1]
        items = items_of(await inline_completion(client, uri, 4, len(last)))
        assert len(items) == 1
        assert items[0].insert_text and "\n" not in str(items[0].insert_text)


async def test_qwen35_hybrid_fim_completion(qwen35_path: Path) -> None:
    async with lsp_session(qwen35_path) as (client, _):
        uri = "file:///tmp/qwen_lsp_fim.py"
        text = "def add(a, b):\n    return \n\n\nprint(add(1, 2))\n"
        open_document(client, uri, "python", text)
        items = items_of(await inline_completion(client, uri, 1, 11))
        info = await stats(client)
        assert info["model"]["architecture"] == "qwen35"
        assert info["model"]["fim"] is True
        assert info["model"]["hybrid"] is True
        assert info["completed"] >= 1
        assert info["promptTokensEvaluated"] > 0
        # Random weights write random text: the syntax guard may rightly drop it, but never two lines.
        assert len(items) <= 1
        assert all("\n" not in str(item.insert_text) for item in items)
        assert not [m for m in client.messages if m.type == types.MessageType.Error]


async def test_multi_line_completion_on_block_opening(smollm2_path: Path) -> None:
    source = "def fibonacci(n):\n    \n"
    async with lsp_session(smollm2_path) as (client, _):
        uri = "file:///tmp/qwen_lsp_multi.py"
        open_document(client, uri, "python", source)
        items = items_of(await inline_completion(client, uri, 1, 4))
        assert len(items) == 1
        text = str(items[0].insert_text)
        # The body may span lines, but never continues past the end of the function's block.
        for later in text.split("\n")[1:]:
            assert not later.strip() or later.startswith("    ")


async def test_completion_item_fallback_without_inline_support(smollm2_path: Path) -> None:
    async with lsp_session(smollm2_path, inline=False) as (client, _):
        uri = "file:///tmp/qwen_lsp_fallback.py"
        open_document(client, uri, "python", PYTHON_SOURCE)
        last = PYTHON_SOURCE.splitlines()[-1]
        result = await client.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=11, character=len(last)),
            )
        )
        assert isinstance(result, types.CompletionList)
        assert len(result.items) == 1
        edit = result.items[0].text_edit
        assert isinstance(edit, types.TextEdit) and edit.new_text.strip()


async def test_request_during_load_waits_and_incremental_sync(smollm2_path: Path) -> None:
    async with lsp_session(smollm2_path) as (client, _):
        uri = "file:///tmp/qwen_lsp_sync.py"
        # Sent right after initialized, while the model is still loading: the request waits.
        open_document(client, uri, "python", "import os\n\nprint(os.getcwd())\n")
        added = "folder = os.path.join("
        insert_text(client, uri, 2, 3, 0, added)
        # Line 3 only exists after the incremental edit was applied.
        items = items_of(await inline_completion(client, uri, 3, len(added)))
        assert len(items) == 1
        info = await stats(client)
        assert info["state"] == "ready"
        assert info["queuedWhileLoading"] >= 1
