"""Code actions and their commands: one module per action (explain, docstring, tests, fix), one registry.

What the user sees: inside a function, method or class the light bulb offers "Explain `name`",
"Generate docstring for `name`" and "Write tests for `name`"; on a diagnostic it offers "Fix: ...".
Running one shows a cancellable progress notification with the answer as it streams in. Actions queue
behind keystroke completions. Each module here (but ``base``) holds one ``ACTION``; the registry finds
them, so a new action is one module, one prompt template and one test (docs/LANGUAGES.md, "Adding a code
action").
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from lsp_server.actions.definitions import find_definition
from lsp_server.context.languages import detect_language
from lsp_server.lsp.actions.base import (
    Action,
    ActionError,
    Job,
    Offer,
    cache_dir,
    encoding_of,
    index_of,
)

if TYPE_CHECKING:
    from lsp_server.lsp.server import QwenLanguageServer

__all__ = ["CODE_ACTION_KINDS", "Action", "ActionError", "actions", "cache_dir", "code_actions", "commands"]

CODE_ACTION_KINDS: tuple[types.CodeActionKind, ...] = (
    types.CodeActionKind.QuickFix,
    types.CodeActionKind.RefactorRewrite,
    types.CodeActionKind.Empty,
)


@functools.cache
def actions() -> tuple[Action, ...]:
    """Every action module's ``ACTION``, in light-bulb order."""
    found = []
    for module in pkgutil.iter_modules(__path__):
        if module.name != "base" and not module.name.startswith("_"):
            found.append(importlib.import_module(f"{__name__}.{module.name}").ACTION)
    if len({entry.command for entry in found}) != len(found):
        raise TypeError("two code actions share a command")
    return tuple(sorted(found, key=lambda entry: entry.order))


def commands() -> tuple[str, ...]:
    """The ``workspace/executeCommand`` commands the server registers."""
    return tuple(entry.command for entry in actions())


def code_actions(ls: QwenLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    """The actions offered at the cursor or selection: every registered action's offer, in order."""
    if not ls.settings.actions.enabled:
        return []
    snapshot = ls.snapshot(params.text_document.uri)
    if snapshot is None:
        return []
    language = detect_language(snapshot.language_id, snapshot.uri)
    only = (
        [str(getattr(kind, "value", kind)) for kind in params.context.only] if params.context.only else None
    )
    start, end = params.range.start, params.range.end
    definition = None
    if language is not None:
        encoding = encoding_of(ls)
        definition = find_definition(
            snapshot.text,
            language,
            start.line,
            index_of(snapshot.text, start.line, start.character, encoding),
            end.line,
            index_of(snapshot.text, end.line, end.character, encoding),
        )
    offer = Offer(snapshot, language, start, end, definition, list(params.context.diagnostics), only)
    return [code_action for entry in actions() for code_action in entry.offer(offer)]


async def run_command(ls: QwenLanguageServer, name: str, args: tuple[Any, ...]) -> dict[str, Any]:
    """Run one action's command; a problem becomes a message and an ``error`` field, not a crash."""
    entry = next((entry for entry in actions() if entry.command == name), None)
    try:
        if entry is None:
            raise ActionError(f"unknown command {name}")
        return await entry.run(Job(ls, args))
    except ActionError as exc:
        ls.warn(f"qwen-lsp: {exc}")
        return {"error": str(exc)}
