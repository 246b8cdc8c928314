"""``qwen-lsp complete`` and ``qwen-lsp explain``: one request to a fresh server, as an editor would send it.

What the user sees: the completion (or the explanation's markdown) on stdout, or a JSON object with
``--json``; exit code 0 with a result, 1 when there is nothing to show, 2 with a message on stderr when the
location, the model or the server is the problem.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import attrs
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from lsp_server.client.locations import SourceLocation
from lsp_server.client.session import ServerError, ServerOptions, ServerSession, plain

EXPLAIN_COMMAND = "qwenLsp.explain"

EXIT_RESULT = 0
EXIT_NO_RESULT = 1
EXIT_ERROR = 2

T = TypeVar("T")


@attrs.frozen
class Outcome:
    """What a headless command produced: the exit code, the text for stdout, the data for ``--json``."""

    exit_code: int
    text: str
    data: dict[str, Any]


async def run_session(
    options: ServerOptions, timeout: float, body: Callable[[ServerSession], Awaitable[T]]
) -> T:
    """Start a server, run ``body`` against it within ``timeout`` seconds, and always stop the server."""
    session = ServerSession(options)
    timed_out = False
    try:
        await session.start()
        return await asyncio.wait_for(body(session), timeout)
    except TimeoutError:
        timed_out = True
        raise ServerError(f"no answer from the server within {timeout:g} s (raise --timeout?)") from None
    except JsonRpcException as exc:
        raise ServerError(f"the server answered with an error: {exc}") from None
    finally:
        await session.close(graceful=not timed_out)


def _location_data(location: SourceLocation) -> dict[str, Any]:
    return {
        "file": str(location.path),
        "uri": location.uri,
        "languageId": location.language_id,
        "line": location.line + 1,
        "column": location.column,
    }


def _first_insert_text(result: Any) -> str | None:
    items: list[Any]
    if isinstance(result, types.InlineCompletionList):
        items = list(result.items)
    elif isinstance(result, list):
        items = result
    else:
        items = []
    for item in items:
        text = item.insert_text
        if isinstance(text, types.StringValue):
            text = text.value
        if isinstance(text, str) and text.strip():
            return text
    return None


async def _complete(session: ServerSession, location: SourceLocation) -> Outcome:
    await session.initialize(root=location.path.parent)
    session.open_document(location.uri, location.language_id, location.text)
    info = await session.wait_for_model()
    started = time.perf_counter()
    result = await session.request(
        types.TEXT_DOCUMENT_INLINE_COMPLETION,
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=location.uri),
            position=types.Position(line=location.line, character=location.character),
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
        ),
    )
    latency_ms = (time.perf_counter() - started) * 1000
    text = _first_insert_text(result)
    data = {
        **_location_data(location),
        "completion": text,
        "model": info.get("model"),
        "loadMs": round(session.load_ms or 0.0, 1),
        "latencyMs": round(latency_ms, 1),
        "messages": [message.message for message in session.messages],
    }
    if text is None:
        return Outcome(EXIT_NO_RESULT, "", data)
    return Outcome(EXIT_RESULT, text if text.endswith("\n") else text + "\n", data)


async def complete(location: SourceLocation, options: ServerOptions, timeout: float) -> Outcome:
    """Ask a fresh server for the inline completion at ``location``."""
    return await run_session(options, timeout, lambda session: _complete(session, location))


def _offers_explain(capabilities: types.ServerCapabilities | None) -> bool:
    provider = capabilities.execute_command_provider if capabilities is not None else None
    return provider is not None and EXPLAIN_COMMAND in provider.commands


async def _explain(session: ServerSession, location: SourceLocation, symbol: str | None) -> Outcome:
    await session.initialize(root=location.path.parent)
    if not _offers_explain(session.capabilities):
        raise ServerError(f"this server does not offer the {EXPLAIN_COMMAND} command; update qwen-lsp")
    session.open_document(location.uri, location.language_id, location.text)
    info = await session.wait_for_model()
    argument: dict[str, Any] = {"uri": location.uri}
    if symbol is not None:
        argument["symbol"] = symbol
    else:
        argument.update(line=location.line, character=location.character)
    started = time.perf_counter()
    result = plain(
        await session.request(
            types.WORKSPACE_EXECUTE_COMMAND,
            types.ExecuteCommandParams(command=EXPLAIN_COMMAND, arguments=[argument]),
        )
    )
    latency_ms = (time.perf_counter() - started) * 1000
    explanation = result if isinstance(result, dict) else {}
    markdown = explanation.get("markdown")
    data = {
        **_location_data(location),
        "symbol": explanation.get("symbol", symbol),
        "markdown": markdown if isinstance(markdown, str) else None,
        "definitionUri": explanation.get("uri"),
        "error": explanation.get("error"),
        "model": info.get("model"),
        "loadMs": round(session.load_ms or 0.0, 1),
        "latencyMs": round(latency_ms, 1),
        "messages": [message.message for message in session.messages],
    }
    if not isinstance(markdown, str) or not markdown.strip():
        return Outcome(EXIT_NO_RESULT, "", data)
    return Outcome(EXIT_RESULT, markdown if markdown.endswith("\n") else markdown + "\n", data)


async def explain(
    location: SourceLocation, symbol: str | None, options: ServerOptions, timeout: float
) -> Outcome:
    """Ask a fresh server to explain the symbol at ``location`` (or the one named ``symbol``)."""
    return await run_session(options, timeout, lambda session: _explain(session, location, symbol))
