"""What every code action shares: the offer context, the command's target, prompts, generation, edits.

An action is one module in this package with one ``ACTION = Action(...)``: what it offers at the cursor
(``offer``) and what its command does (``run``), written against ``Offer`` and ``Job`` here. The opening
every command needs (resolving the argument to the document, definition and context; the template
variables; rendering the prompt; running the model with a cancellable progress; applying an edit only to
the version it was made for) is written once, here.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import attrs
import platformdirs
from lsprotocol import types
from lsprotocol.converters import get_converter

from lsp_server.actions.definitions import (
    CodeContext,
    Definition,
    all_definitions,
    code_context,
    find_definition,
)
from lsp_server.actions.docstring import LineEdit
from lsp_server.actions.tasks import (
    Selection,
    template_variables,
)
from lsp_server.context.languages import detect_language
from lsp_server.document import DocumentSnapshot, column_to_index
from lsp_server.model_api import EngineState, GenerationRequest, GenerationResult
from lsp_server.prompt.chat import chat_prompt
from lsp_server.prompt.templates import PromptTemplateError, RenderedPrompt

if TYPE_CHECKING:
    from lsp_server.lsp.server import QwenLanguageServer

logger = logging.getLogger(__name__)

ACTION_PRIORITY = 10
"""Keystroke completions run at priority 0 and go first."""


class ActionError(Exception):
    """An action cannot run here; the message says why (shown to the user)."""


@attrs.frozen
class Target:
    """What an action is about: the document as it was, the definition, and the model's view of it."""

    snapshot: DocumentSnapshot
    language: str
    line: int
    end_line: int
    definition: Definition | None
    context: CodeContext | None
    selection: Selection | None


@attrs.frozen
class Offer:
    """What the actions see when the editor asks for code actions at a cursor or selection."""

    snapshot: DocumentSnapshot
    language: str | None
    start: types.Position
    end: types.Position
    definition: Definition | None
    """The innermost definition around the cursor (or the selection), if any."""
    diagnostics: list[types.Diagnostic]
    only: list[str] | None

    @property
    def selected(self) -> bool:
        """Whether a range (not just a cursor) is selected."""
        return (self.start.line, self.start.character) != (self.end.line, self.end.character)

    def where(self, *, with_selection: bool = False) -> dict[str, Any]:
        """The command argument naming the cursor (and the selection's end when asked and there is one)."""
        argument = {"uri": self.snapshot.uri, "line": self.start.line, "character": self.start.character}
        if with_selection and self.selected:
            argument |= {"endLine": self.end.line, "endCharacter": self.end.character}
        return argument

    def wants(self, kind: types.CodeActionKind) -> bool:
        """Whether the client asked for this kind of action (``context.only``)."""
        return _wanted(kind.value, self.only)


@attrs.frozen
class Action:
    """One code action: its command, where it sits in the light bulb, what it offers and what it does."""

    command: str
    """The ``workspace/executeCommand`` name (``qwenLsp.explain``)."""
    order: int
    """Position among the offered actions (smaller first)."""
    template: str
    """Its prompt template in prompts/ (``explain`` -> ``explain.j2``), which users may edit."""
    offer: Callable[[Offer], list[types.CodeAction]]
    run: Callable[[Job], Awaitable[dict[str, Any]]]


def action(
    title: str, kind: types.CodeActionKind, command: str, argument: dict[str, Any]
) -> types.CodeAction:
    """A code action that runs ``command`` with ``argument``."""
    return types.CodeAction(
        title=title, kind=kind, command=types.Command(title=title, command=command, arguments=[argument])
    )


class Job:
    """One run of an action's command: its argument, resolved once, and the shared steps."""

    def __init__(self, ls: QwenLanguageServer, args: tuple[Any, ...]) -> None:
        self.ls = ls
        self.argument = _argument(args)
        self._target: Target | None = None

    def target(self, argument: dict[str, Any] | None = None) -> Target:
        """The document, definition and context the argument points at (resolved on first use)."""
        if self._target is None:
            self._target = _target(self.ls, self.argument if argument is None else argument)
        return self._target

    @property
    def file_name(self) -> str:
        """The target document's file name."""
        return file_name(self.target().snapshot.uri)

    def variables(self, *, selection: bool = False, file: str | None = None) -> dict[str, Any]:
        """The variables every action template gets (definition, class, imports, callees, language...)."""
        target = self.target()
        return template_variables(
            target.context,
            language=target.language,
            file_name=file or self.file_name,
            selection=target.selection if selection else None,
            max_chars=self.ls.settings.actions.max_context_chars,
        )

    def prompt(self, template: str, variables: dict[str, Any]) -> tuple[RenderedPrompt, list[dict[str, str]]]:
        """The rendered user prompt (for provenance) and the chat messages with the system prompt."""
        user, system = _render(self.ls, template, variables)
        return user, [{"role": "system", "content": system}, {"role": "user", "content": user.text}]

    async def generate(self, title: str, label: str, messages: list[dict[str, str]]) -> GenerationResult:
        """Run the model on the shared engine, streaming into a cancellable progress titled ``title``."""
        return await _generate(self.ls, title, label, messages)

    async def apply_if_current(self, edit: LineEdit, label: str) -> dict[str, Any]:
        """Send ``edit`` for the version the target was read at; refused if the document changed since."""
        return await _apply_if_current(self.ls, self.target().snapshot, edit, label)

    @property
    def can_show_documents(self) -> bool:
        """Whether the client opens documents the server asks it to show."""
        return _client_can_show_documents(self.ls)

    async def show(self, uri: str) -> bool:
        """Ask the client to open ``uri``; whether it did."""
        shown = await self.ls.window_show_document_async(types.ShowDocumentParams(uri=uri, take_focus=True))
        return bool(shown.success)

    def message(self, text: str) -> None:
        """Show an information message."""
        self.ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=text))


# --- code actions ------------------------------------------------------------------------------------


def index_of(text: str, line: int, character: int, encoding: str) -> int:
    """The string index in its line of an LSP ``character`` in the negotiated encoding."""
    lines = text.split("\n")
    if not 0 <= line < len(lines):
        return 0
    return column_to_index(lines[line].removesuffix("\r"), character, encoding)


def encoding_of(ls: QwenLanguageServer) -> str:
    """The position encoding the client and server agreed on."""
    negotiated = ls.workspace.position_encoding
    return str(getattr(negotiated, "value", negotiated) or "utf-16")


def _wanted(kind: str, only: list[str] | None) -> bool:
    if not only:
        return True
    return any(kind == want or kind.startswith(f"{want}.") or want == "" for want in only)


# --- running a command -------------------------------------------------------------------------------


def _argument(args: tuple[Any, ...]) -> dict[str, Any]:
    if len(args) != 1 or not isinstance(args[0], dict):
        raise ActionError('expected one argument {"uri": ..., "line": ..., "character": ...}')
    argument = args[0]
    if not isinstance(argument.get("uri"), str):
        raise ActionError('the argument needs "uri"')
    return argument


def _int(argument: dict[str, Any], key: str) -> int | None:
    value = argument.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ActionError(f'"{key}" must be a non-negative integer')
    return value


def _target(ls: QwenLanguageServer, argument: dict[str, Any]) -> Target:
    """Resolve a command argument to the document, definition and context it is about."""
    snapshot = ls.snapshot(argument["uri"])
    if snapshot is None:
        raise ActionError(f"{argument['uri']} is not open")
    language = detect_language(snapshot.language_id, snapshot.uri)
    if language is None:
        raise ActionError(f"code actions do not support the language of {snapshot.uri}")
    text = snapshot.text
    lines = text.split("\n")
    symbol = argument.get("symbol")
    line, character = _int(argument, "line"), _int(argument, "character")
    end_line, end_character = _int(argument, "endLine"), _int(argument, "endCharacter")
    definition: Definition | None = None
    if line is None and isinstance(symbol, str):
        matches = [
            d for d in all_definitions(text, language) if d.name == symbol or d.name.endswith(f".{symbol}")
        ]
        if not matches:
            raise ActionError(f"no definition named '{symbol}' in {snapshot.uri}")
        definition = matches[0]
        line, end_line = definition.start_line, None
    if line is None or line >= len(lines):
        raise ActionError("the position is outside the document")
    encoding = encoding_of(ls)
    index = index_of(text, line, character or 0, encoding)
    selection = None
    if end_line is not None and end_line < len(lines) and end_character is not None:
        end_index = index_of(text, end_line, end_character, encoding)
        if (end_line, end_index) != (line, index):
            first, last = sorted((line, end_line))
            selection = Selection(first, last, "\n".join(lines[first : last + 1]))
    if definition is None:
        selected_end = None
        if selection is not None and end_line is not None:
            selected_end = (end_line, index_of(text, end_line, end_character or 0, encoding))
        definition = find_definition(
            text,
            language,
            line,
            index,
            selected_end[0] if selected_end else None,
            selected_end[1] if selected_end else None,
        )
    context = code_context(text, language, definition) if definition is not None else None
    if (
        selection is not None
        and definition is not None
        and (selection.start_line <= definition.anchor_line and selection.end_line >= definition.end_line)
    ):
        selection = None  # the whole definition was selected: explain it as such
    return Target(
        snapshot,
        language,
        line,
        end_line if end_line is not None else line,
        definition,
        context,
        selection,
    )


def file_name(uri: str) -> str:
    """The file name of a URI (the URI itself when it has no path)."""
    return PurePosixPath(urllib.parse.unquote(urllib.parse.urlsplit(uri).path)).name or uri


def _render(ls: QwenLanguageServer, template: str, variables: dict[str, Any]) -> tuple[RenderedPrompt, str]:
    try:
        system = ls.prompts.render("system", **variables)
        user = ls.prompts.render(template, **variables)
    except PromptTemplateError as exc:
        raise ActionError(str(exc)) from exc
    logger.debug("action prompt %s from %s (%s) sha256=%s", template, user.path, user.source, user.sha256)
    return user, system.text


class _Progress:
    """A cancellable ``$/progress`` for one action, fed with the streamed text."""

    def __init__(self, ls: QwenLanguageServer, title: str, on_cancel: Callable[[], None]) -> None:
        self.ls = ls
        self.title = title
        self.token: str | None = None
        self._on_cancel = on_cancel
        self._last = 0.0
        self._text = ""
        self._reports = 0

    async def begin(self) -> None:
        window = self.ls.client_capabilities.window
        if window is None or not window.work_done_progress:
            return
        token = f"qwen-lsp-action-{uuid.uuid4().hex[:8]}"
        try:
            await self.ls.work_done_progress.create_async(token)
        except Exception as exc:  # the client refused: the action still runs, without progress
            logger.debug("client refused a progress token: %s", exc)
            return
        self.token = token
        self.ls.work_done_progress.begin(
            token,
            types.WorkDoneProgressBegin(title=self.title, message="Waiting for the model", cancellable=True),
        )
        cancelled = self.ls.work_done_progress.tokens.get(token)
        if cancelled is not None:
            cancelled.add_done_callback(lambda future: self._on_cancel() if future.cancelled() else None)

    def stream(self, text: str) -> None:
        """Report the text so far (at most every 0.2 s; the first report right away)."""
        self._text = text
        now = time.monotonic()
        if self.token is None or (self._reports and now - self._last < 0.2):
            return
        self._last = now
        self._reports += 1
        tail = " ".join(text.split())[-120:]
        self.ls.work_done_progress.report(self.token, types.WorkDoneProgressReport(message=tail))

    def end(self, message: str) -> None:
        if self.token is None:
            return
        if self._reports == 0 and self._text:
            tail = " ".join(self._text.split())[-120:]
            self.ls.work_done_progress.report(self.token, types.WorkDoneProgressReport(message=tail))
        self.ls.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))
        self.ls.work_done_progress.tokens.pop(self.token, None)
        self.token = None


async def _generate(
    ls: QwenLanguageServer, title: str, label: str, messages: list[dict[str, str]]
) -> GenerationResult:
    """Run one action on the shared engine (priority 10), streaming into a cancellable progress."""
    engine = ls.engine
    if engine is None or engine.state is EngineState.FAILED:
        raise ActionError("the model is not available" + (f": {engine.failure}" if engine else ""))
    settings = ls.settings.actions
    loop = asyncio.get_running_loop()
    request = GenerationRequest(
        build_prompt=chat_prompt(messages),
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        priority=ACTION_PRIORITY,
        label=label,
        preemption="resume",
        messages=messages,
    )
    progress = _Progress(ls, title, lambda: request.cancel.cancel("progress cancelled"))
    _on_request_cancelled(ls, lambda: request.cancel.cancel("$/cancelRequest"))
    await progress.begin()

    def on_text(text: str) -> None:
        loop.call_soon_threadsafe(progress.stream, text)

    request.on_text = on_text
    try:
        result = await asyncio.wrap_future(engine.submit(request))
    except asyncio.CancelledError:
        request.cancel.cancel("$/cancelRequest")
        progress.end("Cancelled")
        raise
    logger.debug(
        "action %s: %s, %d prompt tokens, %d generated: %r",
        label,
        result.stop_reason,
        result.prompt.size if result.prompt else 0,
        result.generated_tokens,
        result.text,
    )
    if result.stop_reason == "cancelled":
        progress.end("Cancelled")
    elif result.stop_reason in ("not_ready", "error", "prompt_too_long", "unavailable"):
        progress.end("Failed")
        raise ActionError(f"the model could not answer ({result.stop_reason}: {result.message})")
    else:
        progress.end("Done")
    return result


def _on_request_cancelled(ls: QwenLanguageServer, callback: Callable[[], None]) -> None:
    """Call ``callback`` when the client cancels the ``workspace/executeCommand`` request running this code.

    pygls runs a command inside its built-in executeCommand handler, and ``$/cancelRequest`` cancels only
    that outer request's future, not the task running the command; so the outer future is watched here.
    """
    msg_id = ls.protocol.msg_id
    futures: dict[Any, concurrent.futures.Future[Any]] = getattr(ls.protocol, "_request_futures", {})
    outer = futures.get(msg_id) if msg_id is not None else None
    if outer is None:
        return
    outer.add_done_callback(lambda future: callback() if future.cancelled() else None)


def cancelled(prompt: RenderedPrompt) -> dict[str, Any]:
    """What a cancelled command returns."""
    return {"cancelled": True, "prompt": prompt.provenance()}


def _client_can_show_documents(ls: QwenLanguageServer) -> bool:
    window = ls.client_capabilities.window
    return bool(window is not None and window.show_document is not None and window.show_document.support)


def cache_dir() -> Path:
    """Where explanations and fallback test files are written (the user cache dir, never the workspace)."""
    return Path(platformdirs.user_cache_dir("qwen-lsp"))


def _text_edit(edit: LineEdit) -> types.TextEdit:
    return types.TextEdit(
        range=types.Range(
            start=types.Position(line=edit.start_line, character=0),
            end=types.Position(line=edit.end_line, character=0),
        ),
        new_text=edit.new_text,
    )


def _versioned_edit(
    ls: QwenLanguageServer, snapshot: DocumentSnapshot, edit: LineEdit
) -> types.WorkspaceEdit:
    workspace = ls.client_capabilities.workspace
    document_changes = bool(
        workspace is not None
        and workspace.workspace_edit is not None
        and workspace.workspace_edit.document_changes
    )
    text_edit = _text_edit(edit)
    if not document_changes:
        return types.WorkspaceEdit(changes={snapshot.uri: [text_edit]})
    identifier = types.OptionalVersionedTextDocumentIdentifier(uri=snapshot.uri, version=snapshot.version)
    return types.WorkspaceEdit(
        document_changes=[types.TextDocumentEdit(text_document=identifier, edits=[text_edit])]
    )


async def _apply_if_current(
    ls: QwenLanguageServer, snapshot: DocumentSnapshot, edit: LineEdit, label: str
) -> dict[str, Any]:
    """Send the edit for the version it was made for; refuse it if the document changed meanwhile."""
    workspace_edit = _versioned_edit(ls, snapshot, edit)
    outcome: dict[str, Any] = {
        "edit": get_converter().unstructure(workspace_edit),
        "version": snapshot.version,
    }
    current = ls.snapshot(snapshot.uri)
    if current is None or current.version != snapshot.version or current.text != snapshot.text:
        ls.warn(f"qwen-lsp: the document changed while the {label} was being written; it was not applied.")
        return outcome | {"applied": False, "reason": "stale"}
    workspace = ls.client_capabilities.workspace
    if workspace is None or not workspace.apply_edit:
        return outcome | {"applied": False, "reason": "the client cannot apply edits"}
    response = await ls.workspace_apply_edit_async(
        types.ApplyWorkspaceEditParams(edit=workspace_edit, label=label)
    )
    if not response.applied:
        logger.info("client refused the %s: %s", label, response.failure_reason)
    return outcome | {"applied": bool(response.applied), "reason": response.failure_reason}


def local_path(uri: str) -> Path | None:
    """The local file of a ``file:`` URI; None for other schemes."""
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme != "file":
        return None
    return Path(urllib.parse.unquote(parts.path))
