"""Feature wiring: the only module that registers LSP handlers. Each handler is a few lines.

What the user sees: inline completions (ghost text) where the client supports them, a one-item completion
list otherwise, and a ``qwenLsp/stats`` request that reports what the engine did.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from lsp_server.lsp import actions, configuration
from lsp_server.lsp.server import QwenLanguageServer
from lsp_server.settings import Settings

STATS_METHOD = "qwenLsp/stats"
MEMORY_METHOD = "qwenLsp/memory"
ACCEPTED_COMMAND = "qwenLsp.accepted"


def _range_at(position: types.Position) -> types.Range:
    return types.Range(start=position, end=position)


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
        if outcome is None:
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

    @server.feature(STATS_METHOD)
    def stats(ls: QwenLanguageServer, params: Any) -> dict[str, Any]:
        return ls.stats()

    @server.feature(MEMORY_METHOD)
    def memory(ls: QwenLanguageServer, params: Any) -> dict[str, Any]:
        action = getattr(params, "action", None) or "top"
        limit = getattr(params, "limit", None) or 15
        return ls.memory_sites(str(action), int(limit))

    return server
