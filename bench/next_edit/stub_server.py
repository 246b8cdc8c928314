"""A model-free stand-in for ``qwen-lsp serve``: the LSP check behind ``run.py --dry-run repeat``.

A pygls server with incremental sync (pygls's own document store applies the ``didChange`` ranges, not
the runner's code). Its ``textDocument/copilotInlineEdit`` repeats the user's last edit: the text that edit
replaced, found again after the cursor, is replaced by the text the edit put in. It also answers
``qwenLsp/stats`` (always ready, never busy) so the runner drives it exactly as it drives the real server.
Its scores are a floor that a next-edit model should beat, and, being exact only when its idea of the
document agrees with the runner's, a check that the replayed ranges and versions are sent right.
"""

from __future__ import annotations

import re
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

server = LanguageServer("next-edit-stub", "0", text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
last_edit: dict[str, tuple[str, str]] = {}  # uri -> (text replaced, text inserted) of the last change
snapshots: dict[str, str] = {}  # uri -> the document before the next change


def _position(text: str, offset: int) -> dict[str, int]:
    line = text.count("\n", 0, offset)
    start = text.rfind("\n", 0, offset) + 1
    return {"line": line, "character": len(text[start:offset].encode("utf-16-le")) // 2}


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(params: types.DidOpenTextDocumentParams) -> None:
    uri = params.text_document.uri
    snapshots[uri] = server.workspace.get_text_document(uri).source
    last_edit.pop(uri, None)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(params: types.DidChangeTextDocumentParams) -> None:
    uri = params.text_document.uri
    before = snapshots.get(uri, "")
    for change in params.content_changes:
        if isinstance(change, types.TextDocumentContentChangePartial):
            old = TextDocument(uri, source=before)
            start = old.offset_at_position(change.range.start)
            end = old.offset_at_position(change.range.end)
            last_edit[uri] = (before[start:end], change.text)
            before = before[:start] + change.text + before[end:]
    snapshots[uri] = server.workspace.get_text_document(uri).source


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(params: types.DidCloseTextDocumentParams) -> None:
    snapshots.pop(params.text_document.uri, None)
    last_edit.pop(params.text_document.uri, None)


@server.feature("qwenLsp/stats")
def stats(_params: Any) -> dict[str, Any]:
    return {"state": "ready", "busy": False}


@server.feature("textDocument/copilotInlineEdit")
def inline_edit(params: Any) -> dict[str, Any]:
    uri = params.textDocument.uri
    document = server.workspace.get_text_document(uri)
    edits: list[dict[str, Any]] = []
    replaced, inserted = last_edit.get(uri, ("", ""))
    if replaced.strip():
        text = document.source
        cursor = document.offset_at_position(
            types.Position(line=params.position.line, character=params.position.character)
        )
        pattern = re.escape(replaced)
        if re.fullmatch(r"\w+", replaced):
            pattern = rf"(?<!\w){pattern}(?!\w)"
        found = re.compile(pattern).search(text, cursor)
        if found:
            edits.append(
                {
                    "range": {"start": _position(text, found.start()), "end": _position(text, found.end())},
                    "text": inserted,
                    "textDocument": {"uri": uri, "version": document.version},
                    "command": None,
                }
            )
    return {"edits": edits}


if __name__ == "__main__":
    server.start_io()
