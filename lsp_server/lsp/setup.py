"""Feature wiring: the only module that registers LSP handlers. Each handler is a few lines.

What the user sees: inline completions (ghost text) where the client supports them, a one-item completion
list otherwise, and a ``qwenLsp/stats`` request that reports what the engine did.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from lsp_server.completion import Skip
from lsp_server.document import DocumentSnapshot, locate, offset_of, position_at
from lsp_server.lsp import actions, configuration
from lsp_server.lsp.server import QwenLanguageServer
from lsp_server.next_edit.service import Prediction
from lsp_server.settings import Settings

INLINE_EDIT_METHOD = "textDocument/copilotInlineEdit"
NEAR_CURSOR_ROWS = 5
"""A next edit this many lines from the cursor or fewer is also offered as an inline completion."""
STATS_METHOD = "qwenLsp/stats"
MEMORY_METHOD = "qwenLsp/memory"
ACCEPTED_COMMAND = "qwenLsp.accepted"


def _range_at(position: types.Position) -> types.Range:
    return types.Range(start=position, end=position)


def _position(snapshot: DocumentSnapshot, offset: int, encoding: str) -> types.Position:
    line, character = position_at(snapshot.text, offset, encoding)
    return types.Position(line=line, character=character)


def _next_edit_item(
    ls: QwenLanguageServer, uri: str, cursor: types.Position, found: tuple[Prediction, DocumentSnapshot]
) -> types.InlineCompletionItem | None:
    """The first predicted edit near the cursor, as an inline completion that replaces text."""
    prediction, snapshot = found
    cursor_at = locate(snapshot.text, cursor.line, cursor.character, ls.position_encoding())
    if not prediction.edits or cursor_at is None:
        return None
    edit = prediction.edits[0]
    offset = offset_of(snapshot.text, cursor_at)
    if abs(snapshot.text.count("\n", 0, edit.start) - cursor.line) > NEAR_CURSOR_ROWS:
        return None
    # The item's range must hold the cursor: it runs from the cursor to the edit (or the other way).
    start, end = min(offset, edit.start), max(offset, edit.end)
    text = snapshot.text[start : edit.start] + edit.new_text + snapshot.text[edit.end : end]
    encoding = ls.position_encoding()
    return types.InlineCompletionItem(
        insert_text=text,
        range=types.Range(start=_position(snapshot, start, encoding), end=_position(snapshot, end, encoding)),
        command=types.Command(
            title="Accepted", command=ACCEPTED_COMMAND, arguments=[uri, prediction.provenance]
        ),
    )


def _register_action(server: QwenLanguageServer, command: str) -> None:
    """One code-action command (explain, docstring, fix, tests): all run through ``actions.run_command``."""

    @server.command(command)
    async def run(ls: QwenLanguageServer, *args: Any) -> dict[str, Any]:
        return await actions.run_command(ls, command, args)


def create_server(settings: Settings | None = None) -> QwenLanguageServer:
    """Build a server with every feature registered."""
    server = QwenLanguageServer(settings)

    @server.feature(types.INITIALIZE)
    def initialize(ls: QwenLanguageServer, params: types.InitializeParams) -> None:
        ls.apply_initialization_options(params)

    @server.feature(types.INITIALIZED)
    def initialized(ls: QwenLanguageServer, params: types.InitializedParams) -> None:
        ls.start_engine()
        ls.run_task(configuration.initialized(ls))

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: QwenLanguageServer, params: None) -> None:
        ls.stop_engine()

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        ls: QwenLanguageServer, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList:
        outcome = await ls.complete(params.text_document.uri, params.position)
        if outcome is None:
            return types.InlineCompletionList(items=[])
        if isinstance(outcome, Skip):
            uri = params.text_document.uri
            if not ls.next_edit_inline(uri, params.position):
                return types.InlineCompletionList(items=[])
            found = await ls.next_edit(uri, params.position)
            near = None if found is None else _next_edit_item(ls, uri, params.position, found)
            return types.InlineCompletionList(items=[] if near is None else [near])
        completion, _plan = outcome
        # InlineCompletionItem has no `data`: how the suggestion was made rides in the accept command.
        item = types.InlineCompletionItem(
            insert_text=completion.text,
            range=_range_at(params.position),
            command=types.Command(
                title="Accepted",
                command=ACCEPTED_COMMAND,
                arguments=[params.text_document.uri, completion.provenance],
            ),
        )
        return types.InlineCompletionList(items=[item])

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[".", "("]))
    async def completion(ls: QwenLanguageServer, params: types.CompletionParams) -> types.CompletionList:
        # Clients that show ghost text get it from inlineCompletion; a popup item would repeat it.
        if ls.client_has_inline_completion:
            return types.CompletionList(is_incomplete=True, items=[])
        outcome = await ls.complete(params.text_document.uri, params.position)
        if outcome is None or isinstance(outcome, Skip):
            return types.CompletionList(is_incomplete=True, items=[])
        completion, _plan = outcome
        text = completion.text
        label = text.strip().splitlines()[0][:60]
        item = types.CompletionItem(
            label=label,
            kind=types.CompletionItemKind.Snippet,
            detail="qwen-lsp",
            text_edit=types.TextEdit(range=_range_at(params.position), new_text=text),
            insert_text_format=types.InsertTextFormat.PlainText,
            sort_text="0",
            data=completion.provenance,
        )
        return types.CompletionList(is_incomplete=True, items=[item])

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: QwenLanguageServer, params: types.DidChangeConfigurationParams
    ) -> None:
        await configuration.did_change_configuration(ls, params)

    @server.feature(configuration.CONFIG_METHOD)
    def config(ls: QwenLanguageServer, params: Any) -> dict[str, Any]:
        return configuration.effective(ls)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=list(actions.CODE_ACTION_KINDS)),
    )
    def code_action(ls: QwenLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return actions.code_actions(ls, params)

    for command in actions.commands():
        _register_action(server, command)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: QwenLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.document_opened(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: QwenLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.document_changed(params.text_document.uri, params.content_changes)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: QwenLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.document_closed(params.text_document.uri)

    @server.command(ACCEPTED_COMMAND)
    def accepted(ls: QwenLanguageServer, *args: Any) -> None:
        uri = args[0] if args and isinstance(args[0], str) else ""
        ls.completions.accepted(uri)

    @server.feature(INLINE_EDIT_METHOD)
    async def inline_edit(ls: QwenLanguageServer, params: Any) -> dict[str, Any]:
        # Copilot's next-edit request: {textDocument: {uri, version}, position} -> {edits: [...]}
        uri = str(params.textDocument.uri)
        position = types.Position(line=int(params.position.line), character=int(params.position.character))
        found = await ls.next_edit(uri, position)
        if found is None:
            return {"edits": []}
        prediction, snapshot = found
        encoding = ls.position_encoding()
        document = {"uri": uri, "version": snapshot.version}
        edits = []
        for edit in prediction.edits:
            start = _position(snapshot, edit.start, encoding)
            end = _position(snapshot, edit.end, encoding)
            edits.append(
                {
                    "range": {
                        "start": {"line": start.line, "character": start.character},
                        "end": {"line": end.line, "character": end.character},
                    },
                    "text": edit.new_text,
                    "textDocument": document,
                    "command": {
                        "title": "Accepted",
                        "command": ACCEPTED_COMMAND,
                        "arguments": [uri, prediction.provenance],
                    },
                }
            )
        return {"edits": edits}

    @server.feature(STATS_METHOD)
    def stats(ls: QwenLanguageServer, params: Any) -> dict[str, Any]:
        return ls.stats()

    @server.feature(MEMORY_METHOD)
    def memory(ls: QwenLanguageServer, params: Any) -> dict[str, Any]:
        action = getattr(params, "action", None) or "top"
        limit = getattr(params, "limit", None) or 15
        return ls.memory_sites(str(action), int(limit))

    return server
