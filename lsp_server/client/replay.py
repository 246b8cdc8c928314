"""``qwen-lsp replay SESSION.jsonl``: send a recorded editor session to a fresh server and time each request.

What the user sees: one line per request (method, latency, a short summary of the result or the error),
or with ``--json`` every result in full; the recording's delays are kept, so cancellations and superseded
requests behave as they did in the editor.

The recording holds the client's side only, one JSON-RPC message a line: ``{"id": 3, "method":
"textDocument/inlineCompletion", "params": {...}, "delayMs": 120}``. A message with an ``id`` is a
request, one without is a notification; ``delayMs`` is the pause before sending it. Blank lines, lines
starting with ``//`` and responses (lines without ``method``) are skipped. A recorded ``initialize`` is
replayed with its own capabilities (the command line's settings are added to its
``initializationOptions``); without one the replay sends an editor-like ``initialize`` first. The replay
waits for the model after ``initialized`` so that latencies do not include loading, and ends the session
with its own ``shutdown`` and ``exit``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import time
from pathlib import Path
from typing import Any

import attrs
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from lsp_server.client.headless import EXIT_NO_RESULT, EXIT_RESULT, Outcome, run_session
from lsp_server.client.session import ServerError, ServerOptions, ServerSession, lsp_converter, plain

_SUMMARY_CHARS = 60


class RecordingError(Exception):
    """The session file cannot be replayed; the message names the line and the problem."""


@attrs.frozen
class RecordedMessage:
    """One client-to-server message of a recording."""

    line: int
    method: str
    params: Any
    id: int | str | None = None
    delay_ms: float = 0.0

    @property
    def is_request(self) -> bool:
        """Whether the message expects a response."""
        return self.id is not None


@attrs.define
class RequestResult:
    """How one replayed request went."""

    message: RecordedMessage
    sent_at: float
    answered_at: float | None = None
    result: Any = None
    error: str | None = None

    @property
    def latency_ms(self) -> float | None:
        """Milliseconds from sending the request to its response."""
        return None if self.answered_at is None else (self.answered_at - self.sent_at) * 1000


def read_recording(path: Path) -> list[RecordedMessage]:
    """Parse a JSONL recording, or raise RecordingError naming the bad line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise RecordingError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingError(f"{path}: cannot read it ({exc})") from None
    messages: list[RecordedMessage] = []
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("//"):
            continue
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise RecordingError(f"{path}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(data, dict):
            raise RecordingError(f"{path}:{number}: expected a JSON object")
        if "method" not in data:
            continue  # a response the client sent to a server request: nothing to replay
        method, msg_id, delay = data["method"], data.get("id"), data.get("delayMs", 0)
        if not isinstance(method, str):
            raise RecordingError(f"{path}:{number}: 'method' must be a string")
        if msg_id is not None and (isinstance(msg_id, bool) or not isinstance(msg_id, int | str)):
            raise RecordingError(f"{path}:{number}: 'id' must be a number or a string")
        if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
            raise RecordingError(f"{path}:{number}: 'delayMs' must be a non-negative number")
        messages.append(RecordedMessage(number, method, data.get("params"), msg_id, float(delay)))
    if not any(message.is_request for message in messages):
        raise RecordingError(f"{path}: the recording has no requests to replay")
    return messages


def _structured(method: str, params: Any) -> Any:
    """Turn recorded JSON params into the lsprotocol type pygls expects for a standard method."""
    entry = types.METHOD_TO_TYPES.get(method)
    params_type: Any = entry[2] if entry is not None else None
    if params_type is None or params is None:
        return params
    return lsp_converter().structure(params, params_type)


def _recorded_initialize(message: RecordedMessage, options: ServerOptions) -> types.InitializeParams:
    params = dict(message.params or {})
    params["processId"] = os.getpid()
    recorded = params.get("initializationOptions")
    merged: dict[str, Any] = dict(recorded) if isinstance(recorded, dict) else {}
    for section, values in options.initialization_options().items():
        merged[section] = {**dict(merged.get(section) or {}), **values}
    params["initializationOptions"] = merged
    initialize: types.InitializeParams = lsp_converter().structure(params, types.InitializeParams)
    return initialize


def summarize(result: Any) -> str:
    """A short, one-line description of a result for the text report."""
    if isinstance(result, dict) and isinstance(result.get("items"), list):
        items = result["items"]
        if not items:
            return "(no items)"
        first = items[0]
        text = first.get("insertText") or first.get("label") or (first.get("textEdit") or {}).get("newText")
        if isinstance(text, dict):
            text = text.get("value")
        shown = json.dumps(text if isinstance(text, str) else first)
    elif result is None:
        shown = "null"
    elif isinstance(result, dict) and "markdown" in result:
        shown = f"{result.get('symbol')}: {json.dumps(result.get('markdown'))}"
    else:
        shown = json.dumps(result)
    return shown if len(shown) <= _SUMMARY_CHARS else shown[: _SUMMARY_CHARS - 3] + "..."


def _has_result(result: Any) -> bool:
    if isinstance(result, dict) and isinstance(result.get("items"), list):
        return bool(result["items"])
    return result not in (None, [], {}, "")


async def _replay(
    session: ServerSession, messages: list[RecordedMessage], options: ServerOptions
) -> list[RequestResult]:
    rest = list(messages)
    if rest and rest[0].method == types.INITIALIZE:
        await session.initialize(_recorded_initialize(rest.pop(0), options))
    else:
        await session.initialize()
    rest = [m for m in rest if m.method not in (types.INITIALIZED, types.SHUTDOWN, types.EXIT)]
    await session.wait_for_model()
    protocol = session.client.protocol
    results: list[RequestResult] = []
    pending: list[concurrent.futures.Future[Any]] = []
    for message in rest:
        if message.delay_ms:
            await asyncio.sleep(message.delay_ms / 1000)
        try:
            params = _structured(message.method, message.params)
        except Exception as exc:
            raise ServerError(f"line {message.line}: invalid params for {message.method}: {exc}") from None
        if not message.is_request:
            protocol.notify(message.method, params)
            continue
        record = RequestResult(message, sent_at=time.perf_counter())
        future = protocol.send_request(message.method, params, msg_id=message.id)

        def answered(done: concurrent.futures.Future[Any], record: RequestResult = record) -> None:
            record.answered_at = time.perf_counter()
            exc = done.exception()
            if exc is None:
                record.result = plain(done.result())
            elif isinstance(exc, JsonRpcException):
                record.error = str(exc)
            else:
                record.error = f"{type(exc).__name__}: {exc}"

        future.add_done_callback(answered)
        results.append(record)
        pending.append(future)
    if pending:
        await asyncio.wait([asyncio.wrap_future(future) for future in pending])
    return results


def _report(results: list[RequestResult], load_ms: float | None) -> str:
    lines = []
    for record in results:
        latency = record.latency_ms
        shown = f"{latency:8.1f} ms" if latency is not None else "  no reply"
        detail = f"error: {record.error}" if record.error is not None else summarize(record.result)
        lines.append(f"{record.message.line:4d}  {record.message.method:<32} {shown}  {detail}")
    answered = [r.latency_ms for r in results if r.latency_ms is not None]
    footer = f"{len(results)} requests"
    if answered:
        ordered = sorted(answered)
        median = ordered[len(ordered) // 2]
        footer += f", median {median:.1f} ms, max {ordered[-1]:.1f} ms"
    if load_ms is not None:
        footer += f"; model load {load_ms:.0f} ms"
    return "\n".join([*lines, footer]) + "\n"


async def replay(path: Path, options: ServerOptions, timeout: float) -> Outcome:
    """Replay the recording at ``path`` against a fresh server."""
    messages = read_recording(path)
    load: list[float | None] = []

    async def body(session: ServerSession) -> list[RequestResult]:
        try:
            return await _replay(session, messages, options)
        finally:
            load.append(session.load_ms)

    results = await run_session(options, timeout, body)
    load_ms = load[0] if load else None
    data = {
        "session": str(path),
        "loadMs": None if load_ms is None else round(load_ms, 1),
        "requests": [
            {
                "line": r.message.line,
                "id": r.message.id,
                "method": r.message.method,
                "latencyMs": None if r.latency_ms is None else round(r.latency_ms, 1),
                "result": r.result,
                "error": r.error,
            }
            for r in results
        ],
    }
    found = any(r.error is None and _has_result(r.result) for r in results)
    return Outcome(EXIT_RESULT if found else EXIT_NO_RESULT, _report(results, load_ms), data)
