"""Code actions and their commands: explain, generate docstring, fix a diagnostic, write tests.

What the user sees: inside a function, method or class the light bulb offers "Explain `name`",
"Generate docstring for `name`" and "Write tests for `name`"; on a diagnostic it offers "Fix: ...".
Running one shows a cancellable progress notification with the answer as it streams in. The explanation
opens as a Markdown page (or arrives as a message in clients that cannot open documents); the docstring
and the fix arrive as edits for the version of the file they were made for (refused if it changed); tests
open in a new file, never over an existing one. Actions queue behind keystroke completions.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
import urllib.parse
import uuid
from collections.abc import Callable
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
from lsp_server.actions.docstring import LineEdit, place_doc
from lsp_server.actions.tasks import (
    Selection,
    context_lines,
    explain_markdown,
    extract_code,
    fix_edit,
    module_name,
    safe_file_stem,
    template_variables,
    unit_test_file_name,
    unused_path,
)
from lsp_server.context.languages import detect_language
from lsp_server.document import DocumentSnapshot, column_to_index
from lsp_server.model_api import EngineState, GenerationRequest, GenerationResult
from lsp_server.prompt.chat import chat_prompt
from lsp_server.prompt.templates import PromptTemplateError, RenderedPrompt

if TYPE_CHECKING:
    from lsp_server.lsp.server import QwenLanguageServer

logger = logging.getLogger(__name__)

EXPLAIN = "qwenLsp.explain"
GENERATE_DOCSTRING = "qwenLsp.generateDocstring"
FIX_DIAGNOSTIC = "qwenLsp.fixDiagnostic"
WRITE_TESTS = "qwenLsp.writeTests"
COMMANDS: tuple[str, ...] = (EXPLAIN, GENERATE_DOCSTRING, FIX_DIAGNOSTIC, WRITE_TESTS)
ACTION_PRIORITY = 10
"""Keystroke completions run at priority 0 and go first."""

CODE_ACTION_KINDS: tuple[types.CodeActionKind, ...] = (
    types.CodeActionKind.QuickFix,
    types.CodeActionKind.RefactorRewrite,
    types.CodeActionKind.Empty,
)


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


# --- code actions ------------------------------------------------------------------------------------


def _index(text: str, line: int, character: int, encoding: str) -> int:
    lines = text.split("\n")
    if not 0 <= line < len(lines):
        return 0
    return column_to_index(lines[line].removesuffix("\r"), character, encoding)


def _encoding(ls: QwenLanguageServer) -> str:
    negotiated = ls.workspace.position_encoding
    return str(getattr(negotiated, "value", negotiated) or "utf-16")


def _wanted(kind: str, only: list[str] | None) -> bool:
    if not only:
        return True
    return any(kind == want or kind.startswith(f"{want}.") or want == "" for want in only)


def code_actions(ls: QwenLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    """The actions offered at the cursor or selection."""
    if not ls.settings.actions.enabled:
        return []
    snapshot = ls.snapshot(params.text_document.uri)
    if snapshot is None:
        return []
    language = detect_language(snapshot.language_id, snapshot.uri)
    only = (
        [str(getattr(kind, "value", kind)) for kind in params.context.only] if params.context.only else None
    )
    actions: list[types.CodeAction] = []
    start, end = params.range.start, params.range.end
    position = {"uri": snapshot.uri, "line": start.line, "character": start.character}
    selected = (start.line, start.character) != (end.line, end.character)
    if selected:
        position |= {"endLine": end.line, "endCharacter": end.character}
    definition = None
    if language is not None:
        encoding = _encoding(ls)
        definition = find_definition(
            snapshot.text,
            language,
            start.line,
            _index(snapshot.text, start.line, start.character, encoding),
            end.line,
            _index(snapshot.text, end.line, end.character, encoding),
        )
    if definition is not None and _wanted("", only):
        title = f"Explain `{definition.name}`"
        if selected and (start.line != definition.anchor_line or end.line != definition.end_line):
            title = f"Explain the selection (in `{definition.name}`)"
        actions.append(_action(title, types.CodeActionKind.Empty, EXPLAIN, position))
    elif selected and language is not None and _wanted("", only):
        actions.append(_action("Explain the selection", types.CodeActionKind.Empty, EXPLAIN, position))
    if definition is not None and _wanted(types.CodeActionKind.RefactorRewrite.value, only):
        where = {"uri": snapshot.uri, "line": start.line, "character": start.character}
        actions.append(
            _action(
                f"Generate docstring for `{definition.name}`",
                types.CodeActionKind.RefactorRewrite,
                GENERATE_DOCSTRING,
                where,
            )
        )
    if definition is not None and definition.kind != "class" and _wanted("", only):
        where = {"uri": snapshot.uri, "line": start.line, "character": start.character}
        actions.append(
            _action(f"Write tests for `{definition.name}`", types.CodeActionKind.Empty, WRITE_TESTS, where)
        )
    if language is not None and _wanted(types.CodeActionKind.QuickFix.value, only):
        for diagnostic in params.context.diagnostics:
            message = diagnostic.message.strip().splitlines()[0] if diagnostic.message.strip() else "problem"
            argument = {
                "uri": snapshot.uri,
                "line": diagnostic.range.start.line,
                "character": diagnostic.range.start.character,
                "endLine": diagnostic.range.end.line,
                "endCharacter": diagnostic.range.end.character,
                "message": diagnostic.message,
            }
            action = _action(f"Fix: {message[:80]}", types.CodeActionKind.QuickFix, FIX_DIAGNOSTIC, argument)
            action.diagnostics = [diagnostic]
            actions.append(action)
    return actions


def _action(
    title: str, kind: types.CodeActionKind, command: str, argument: dict[str, Any]
) -> types.CodeAction:
    return types.CodeAction(
        title=title, kind=kind, command=types.Command(title=title, command=command, arguments=[argument])
    )


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
    encoding = _encoding(ls)
    index = _index(text, line, character or 0, encoding)
    selection = None
    if end_line is not None and end_line < len(lines) and end_character is not None:
        end_index = _index(text, end_line, end_character, encoding)
        if (end_line, end_index) != (line, index):
            first, last = sorted((line, end_line))
            selection = Selection(first, last, "\n".join(lines[first : last + 1]))
    if definition is None:
        selected_end = None
        if selection is not None and end_line is not None:
            selected_end = (end_line, _index(text, end_line, end_character or 0, encoding))
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


def _file_name(uri: str) -> str:
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


def _messages(system: str, user: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _cancelled(prompt: RenderedPrompt) -> dict[str, Any]:
    return {"cancelled": True, "prompt": prompt.provenance()}


def _client_can_show_documents(ls: QwenLanguageServer) -> bool:
    window = ls.client_capabilities.window
    return bool(window is not None and window.show_document is not None and window.show_document.support)


def cache_dir() -> Path:
    """Where explanations and fallback test files are written (the user cache dir, never the workspace)."""
    return Path(platformdirs.user_cache_dir("qwen-lsp"))


async def explain(ls: QwenLanguageServer, args: tuple[Any, ...]) -> dict[str, Any]:
    """``qwenLsp.explain``: explain the definition (or selection) and show the answer as Markdown."""
    target = _target(ls, _argument(args))
    if target.definition is None and target.selection is None:
        raise ActionError("put the cursor inside a function, method or class (or select some code)")
    variables = template_variables(
        target.context,
        language=target.language,
        file_name=_file_name(target.snapshot.uri),
        selection=target.selection,
        max_chars=ls.settings.actions.max_context_chars,
    )
    symbol = str(variables["symbol"])
    prompt, system = _render(ls, "explain", variables)
    result = await _generate(ls, f"Explaining {symbol}", f"explain {symbol}", _messages(system, prompt.text))
    if result.stop_reason == "cancelled":
        return _cancelled(prompt)
    line = target.definition.start_line if target.definition is not None else target.line
    markdown = explain_markdown(
        symbol, str(variables["kind"]), _file_name(target.snapshot.uri), line, result.text
    )
    uri: str | None = None
    if _client_can_show_documents(ls):
        folder = cache_dir() / "explanations"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{safe_file_stem(symbol)}.md"
        path.write_text(markdown, encoding="utf-8")
        uri = path.as_uri()
        shown = await ls.window_show_document_async(types.ShowDocumentParams(uri=uri, take_focus=True))
        if not shown.success:
            logger.info("the client did not open %s", uri)
    else:
        ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=markdown))
    return {
        "symbol": symbol,
        "markdown": markdown,
        "uri": uri,
        "generated": result.text,
        "stopReason": result.stop_reason,
        "prompt": prompt.provenance(),
    }


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


async def generate_docstring(ls: QwenLanguageServer, args: tuple[Any, ...]) -> dict[str, Any]:
    """``qwenLsp.generateDocstring``: document the enclosing definition in the language's convention."""
    target = _target(ls, _argument(args))
    if target.definition is None or target.context is None:
        raise ActionError("put the cursor inside a function, method or class")
    variables = template_variables(
        target.context,
        language=target.language,
        file_name=_file_name(target.snapshot.uri),
        max_chars=ls.settings.actions.max_context_chars,
    )
    symbol = target.definition.name
    prompt, system = _render(ls, "docstring", variables)
    result = await _generate(
        ls, f"Documenting {symbol}", f"docstring {symbol}", _messages(system, prompt.text)
    )
    if result.stop_reason == "cancelled":
        return _cancelled(prompt)
    placed = place_doc(target.snapshot.text, target.definition, result.text)
    if isinstance(placed, str):
        raise ActionError(f"no docstring for '{symbol}': {placed}")
    outcome = await _apply_if_current(ls, target.snapshot, placed, f"docstring for {symbol}")
    return outcome | {"symbol": symbol, "generated": result.text, "prompt": prompt.provenance()}


async def fix_diagnostic(ls: QwenLanguageServer, args: tuple[Any, ...]) -> dict[str, Any]:
    """``qwenLsp.fixDiagnostic``: propose a replacement for the lines of a diagnostic."""
    argument = _argument(args)
    target = _target(ls, {key: value for key, value in argument.items() if key not in ("endCharacter",)})
    lines = target.snapshot.text.split("\n")
    end_line = min(max(target.end_line, target.line), len(lines) - 1)
    message = argument.get("message")
    variables = template_variables(
        target.context,
        language=target.language,
        file_name=_file_name(target.snapshot.uri),
        max_chars=ls.settings.actions.max_context_chars,
    ) | {
        "diagnostic": message if isinstance(message, str) and message else "the code here is wrong",
        "first_line": target.line + 1,
        "lines": "\n".join(lines[target.line : end_line + 1]),
        "context": context_lines(target.snapshot.text, target.definition, target.line, end_line),
    }
    prompt, system = _render(ls, "fix", variables)
    result = await _generate(
        ls, "Fixing a diagnostic", f"fix line {target.line + 1}", _messages(system, prompt.text)
    )
    if result.stop_reason == "cancelled":
        return _cancelled(prompt)
    edit = fix_edit(target.snapshot.text, target.line, end_line, result.text)
    if isinstance(edit, str):
        raise ActionError(f"no fix: {edit}")
    outcome = await _apply_if_current(ls, target.snapshot, edit, "fix")
    return outcome | {"generated": result.text, "prompt": prompt.provenance()}


def _local_path(uri: str) -> Path | None:
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme != "file":
        return None
    return Path(urllib.parse.unquote(parts.path))


async def write_tests(ls: QwenLanguageServer, args: tuple[Any, ...]) -> dict[str, Any]:
    """``qwenLsp.writeTests``: generate tests into a new file and open it (never overwriting a file)."""
    target = _target(ls, _argument(args))
    if target.definition is None or target.context is None:
        raise ActionError("put the cursor inside a function or method")
    source = _local_path(target.snapshot.uri)
    source_posix = (
        PurePosixPath(source.as_posix()) if source else PurePosixPath(_file_name(target.snapshot.uri))
    )
    name = unit_test_file_name(source_posix, target.language, target.definition.name)
    variables = template_variables(
        target.context,
        language=target.language,
        file_name=source_posix.name,
        max_chars=ls.settings.actions.max_context_chars,
    ) | {"module": module_name(source_posix), "test_file_name": name}
    symbol = target.definition.name
    prompt, system = _render(ls, "tests", variables)
    result = await _generate(
        ls, f"Writing tests for {symbol}", f"tests {symbol}", _messages(system, prompt.text)
    )
    if result.stop_reason == "cancelled":
        return _cancelled(prompt)
    content = extract_code(result.text).rstrip("\n") + "\n"
    workspace = ls.client_capabilities.workspace
    edit_caps = workspace.workspace_edit if workspace is not None else None
    can_create = bool(
        workspace is not None
        and workspace.apply_edit
        and edit_caps is not None
        and edit_caps.document_changes
        and edit_caps.resource_operations
        and types.ResourceOperationKind.Create in edit_caps.resource_operations
    )
    applied = False
    if can_create and source is not None:
        path = Path(
            str(unused_path(PurePosixPath(source.parent.as_posix()), name, lambda p: Path(str(p)).exists()))
        )
        uri = path.as_uri()
        edit = types.WorkspaceEdit(
            document_changes=[
                types.CreateFile(
                    uri=uri, options=types.CreateFileOptions(overwrite=False, ignore_if_exists=False)
                ),
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
                    edits=[
                        types.TextEdit(
                            range=types.Range(start=types.Position(0, 0), end=types.Position(0, 0)),
                            new_text=content,
                        )
                    ],
                ),
            ]
        )
        response = await ls.workspace_apply_edit_async(
            types.ApplyWorkspaceEditParams(edit=edit, label=f"tests for {symbol}")
        )
        applied = bool(response.applied)
    if not applied:
        folder = cache_dir() / "tests"
        folder.mkdir(parents=True, exist_ok=True)
        path = Path(str(unused_path(PurePosixPath(folder.as_posix()), name, lambda p: Path(str(p)).exists())))
        with path.open("x", encoding="utf-8") as handle:  # "x": never overwrite
            handle.write(content)
        uri = path.as_uri()
    if _client_can_show_documents(ls):
        await ls.window_show_document_async(types.ShowDocumentParams(uri=uri, take_focus=True))
    else:
        ls.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Info, message=f"Tests written to {uri}")
        )
    return {
        "symbol": symbol,
        "uri": uri,
        "created": applied,
        "content": content,
        "generated": result.text,
        "prompt": prompt.provenance(),
    }


async def run_command(ls: QwenLanguageServer, name: str, args: tuple[Any, ...]) -> dict[str, Any]:
    """Run one of the action commands; a problem becomes a message and an ``error`` field, not a crash."""
    handlers = {
        EXPLAIN: explain,
        GENERATE_DOCSTRING: generate_docstring,
        FIX_DIAGNOSTIC: fix_diagnostic,
        WRITE_TESTS: write_tests,
    }
    try:
        return await handlers[name](ls, args)
    except ActionError as exc:
        ls.warn(f"qwen-lsp: {exc}")
        return {"error": str(exc)}
