"""End to end over stdio: next-edit suggestions with a real model (Qwen2.5-Coder-0.5B-Instruct).

The user renames a parameter on the ``def`` line (one incremental ``didChange``, as an editor sends a
rename typed or pasted); the server is asked for the next edit as an inline completion at the next
usage and as Copilot's ``textDocument/copilotInlineEdit`` request.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled

from tests.conftest import inline_completion, items_of, lsp_session, open_document, plain, stats
from tests.next_edit_sample import SOURCE

URI = "file:///tmp/qwen_lsp_next_edit/shapes.py"
DEF_ROW = 3
OPTIONS = {"model": {"nThreads": 2}, "nextEdit": {"maxTokens": 160, "debounceMs": 100}}
MODEL_ONLY = {**OPTIONS, "nextEdit": {"maxTokens": 160, "debounceMs": 100, "repeat": False}}
"""The model predicts every edit (no repeat of the user's last one without it)."""
BOTH = pytest.mark.parametrize("options", [OPTIONS, MODEL_ONLY], ids=["repeat", "model"])
INLINE_EDIT = "textDocument/copilotInlineEdit"


def replace(client: Any, version: int, line: int, start: int, end: int, text: str) -> None:
    """One incremental didChange replacing (line, start)-(line, end) with ``text``."""
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=types.Position(line=line, character=start),
                        end=types.Position(line=line, character=end),
                    ),
                    text=text,
                )
            ],
        )
    )


def rename_parameter(client: Any) -> int:
    """``scale`` -> ``factor`` in the def line; the column just after the new name."""
    column = SOURCE.split("\n")[DEF_ROW].index("scale")
    replace(client, 2, DEF_ROW, column, column + len("scale"), "factor")
    return column + len("factor")


def inline_edit_params(line: int, character: int, version: int = 2) -> dict[str, Any]:
    return {
        "textDocument": {"uri": URI, "version": version},
        "position": {"line": line, "character": character},
    }


@BOTH
async def test_after_a_rename_the_next_usage_is_offered_as_a_replacement(
    coder_05b_path: Path, options: dict[str, Any]
) -> None:
    async with lsp_session(coder_05b_path, options=options) as (client, _):
        open_document(client, URI, "python", SOURCE)
        rename_parameter(client)
        usage_row = DEF_ROW + 1
        usage = SOURCE.split("\n")[usage_row].index("scale")
        # The user moves to the next usage: an ordinary completion has nothing to add mid-line there.
        items = items_of(await inline_completion(client, URI, usage_row, usage))
        assert items, "no next-edit suggestion at the next usage"
        item = items[0]
        assert item.range is not None
        assert item.range.start == types.Position(line=usage_row, character=usage)
        assert item.range.end.line == usage_row and item.range.end.character >= usage + len("scale")
        text = item.insert_text if isinstance(item.insert_text, str) else item.insert_text.value
        assert text.startswith("factor"), text
        assert item.command is not None and item.command.arguments
        provenance = plain(item.command.arguments[1])
        assert provenance["kind"] == "nextEdit"
        assert provenance["sources"][0] == ("model" if options is MODEL_ONLY else "repeat")


@BOTH
async def test_copilot_inline_edit_returns_an_edit_on_a_later_line(
    coder_05b_path: Path, options: dict[str, Any]
) -> None:
    async with lsp_session(coder_05b_path, options=options) as (client, _):
        open_document(client, URI, "python", SOURCE)
        column = rename_parameter(client)
        result = plain(
            await client.protocol.send_request_async(INLINE_EDIT, inline_edit_params(DEF_ROW, column))
        )
        edits = result["edits"]
        assert edits, result
        lines = SOURCE.replace("def describe(shape, scale)", "def describe(shape, factor)").split("\n")
        first = edits[0]
        start, end = first["range"]["start"], first["range"]["end"]
        assert start["line"] > DEF_ROW
        assert lines[start["line"]][start["character"] : end["character"]] == "scale"
        assert first["text"] == "factor"
        assert first["textDocument"] == {"uri": URI, "version": 2}
        assert all(edit["textDocument"]["version"] == 2 for edit in edits)
        sources = first["command"]["arguments"][1]["sources"]
        assert sources[0] == ("model" if options is MODEL_ONLY else "repeat")


async def test_cancel_stops_a_next_edit_prediction(coder_05b_path: Path) -> None:
    options = {**OPTIONS, "nextEdit": {"maxTokens": 400, "debounceMs": 0, "repeat": False}}
    async with lsp_session(coder_05b_path, options=options) as (client, _):
        open_document(client, URI, "python", SOURCE)
        column = rename_parameter(client)
        future = client.protocol.send_request(INLINE_EDIT, inline_edit_params(DEF_ROW, column), msg_id="ne")
        latest: dict[str, Any] = {}
        deadline = asyncio.get_running_loop().time() + 300
        while True:
            latest = await stats(client)
            if latest["busy"] and latest["currentLabel"] == "next edit":
                break
            assert asyncio.get_running_loop().time() < deadline, latest
            await asyncio.sleep(0.01)
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="ne"))
        with pytest.raises(JsonRpcRequestCancelled):
            await asyncio.wrap_future(future)
        while (latest := await stats(client))["busy"]:
            await asyncio.sleep(0.01)
        assert latest["cancelled"] == 1
        decoded = latest["decodedTokens"]
        await asyncio.sleep(0.3)
        assert (await stats(client))["decodedTokens"] == decoded  # nothing goes on in the background


async def test_no_edit_for_a_history_that_only_undoes_itself(coder_05b_path: Path) -> None:
    async with lsp_session(coder_05b_path, options=OPTIONS) as (client, _):
        open_document(client, URI, "python", SOURCE)
        column = SOURCE.split("\n")[DEF_ROW].index("scale")
        replace(client, 2, DEF_ROW, column, column + len("scale"), "factor")
        replace(client, 3, DEF_ROW, column, column + len("factor"), "scale")  # and back
        result = plain(
            await client.protocol.send_request_async(INLINE_EDIT, inline_edit_params(DEF_ROW, column + 5, 3))
        )
        assert result == {"edits": []}
        usage_row = DEF_ROW + 1
        usage = SOURCE.split("\n")[usage_row].index("scale")
        assert items_of(await inline_completion(client, URI, usage_row, usage)) == []
        assert (await stats(client))["requests"] == 0  # the model was never asked
