"""A language client that runs ``qwen-lsp serve`` as a subprocess and talks to it over stdio.

What the user sees: the server's warnings and errors (``window/showMessage``) on stderr, model-loading
progress in the log, and one clear error when the model cannot be loaded or the server dies or stalls.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import cattrs
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.client import LanguageClient

from lsp_server import __version__

logger = logging.getLogger(__name__)

STATS_METHOD = "qwenLsp/stats"
_STDERR_LINES = 200


class ServerError(Exception):
    """The server could not do what was asked (model failed to load, server died, timed out)."""


@attrs.define
class ServerOptions:
    """How to start the server and what to put in ``initializationOptions``."""

    model: str | None = None
    temperature: float | None = None
    seed: int | None = None
    verbose: int = 0
    extra_args: Sequence[str] = ()
    env: dict[str, str] | None = None
    settings: dict[str, Any] = attrs.Factory(dict)

    def command(self) -> list[str]:
        """The server's command line: this Python running ``lsp_server serve`` on stdio."""
        command = [sys.executable, "-m", "lsp_server", "serve"]
        if self.model is not None:
            command += ["--model", self.model]
        if self.verbose:
            command.append("-" + "v" * self.verbose)
        return command + list(self.extra_args)

    def initialization_options(self) -> dict[str, Any]:
        """The settings overrides, camelCase as editors send them: ``settings``, then the sampling flags."""
        options: dict[str, Any] = {}
        for section, values in self.settings.items():
            options[section] = dict(values) if isinstance(values, dict) else values
        if self.temperature is not None:
            for section in ("completion", "actions"):
                options.setdefault(section, {})["temperature"] = self.temperature
        if self.seed is not None:
            options.setdefault("model", {})["seed"] = self.seed
        return options


def client_capabilities() -> types.ClientCapabilities:
    """An editor-like client: full document sync, progress, and inline completion (built by hand)."""
    text_document = types.TextDocumentClientCapabilities(
        synchronization=types.TextDocumentSyncClientCapabilities(did_save=False),
        completion=types.CompletionClientCapabilities(
            completion_item=types.ClientCompletionItemOptions(snippet_support=False)
        ),
        inline_completion=types.InlineCompletionClientCapabilities(),
    )
    return types.ClientCapabilities(
        text_document=text_document,
        workspace=types.WorkspaceClientCapabilities(
            execute_command=types.ExecuteCommandClientCapabilities(dynamic_registration=False)
        ),
        window=types.WindowClientCapabilities(work_done_progress=True),
        general=types.GeneralClientCapabilities(position_encodings=[types.PositionEncodingKind.Utf16]),
    )


@functools.cache
def lsp_converter() -> cattrs.Converter:
    """The converter pygls uses between lsprotocol objects and JSON."""
    from pygls.protocol import default_converter

    converter: cattrs.Converter = default_converter()  # type: ignore[no-untyped-call]
    return converter


def plain(value: Any) -> Any:
    """JSON-ready data from lsprotocol objects and the namedtuples pygls makes of unknown JSON objects."""
    if hasattr(value, "__attrs_attrs__"):
        return lsp_converter().unstructure(value)
    if hasattr(value, "_asdict"):
        return {key: plain(item) for key, item in value._asdict().items()}
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


class ServerSession:
    """One server subprocess and the client talking to it; use ``async with`` and call :meth:`start`."""

    def __init__(self, options: ServerOptions) -> None:
        self.options = options
        self.client = LanguageClient("qwen-lsp-cli", __version__)
        self.messages: list[types.ShowMessageParams] = []
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=_STDERR_LINES)
        self.capabilities: types.ServerCapabilities | None = None
        self.load_ms: float | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._stderr_task: asyncio.Task[None] | None = None
        self._register_handlers()

    def _register_handlers(self) -> None:
        handle = self._handle
        handle(types.WINDOW_SHOW_MESSAGE, self._show_message)
        handle(types.WINDOW_LOG_MESSAGE, self._log_message)
        handle(types.PROGRESS, self._progress)
        handle("qwenLsp/status", lambda params: logger.info("server status: %s", params))
        # Requests the server may send: progress tokens and registrations are accepted, settings are left
        # to the server's defaults and the initializationOptions.
        handle(types.WINDOW_WORK_DONE_PROGRESS_CREATE, lambda _params: None)
        handle(types.CLIENT_REGISTER_CAPABILITY, lambda _params: None)
        handle(types.WORKSPACE_CONFIGURATION, lambda params: [None for _ in params.items])

    def _handle(self, method: str, handler: Callable[[Any], Any]) -> None:
        def feature(params: Any) -> Any:
            return handler(params)

        self.client.feature(method)(feature)

    def _show_message(self, params: types.ShowMessageParams) -> None:
        self.messages.append(params)
        if params.type in (types.MessageType.Error, types.MessageType.Warning):
            sys.stderr.write(f"{params.message}\n")
        else:
            logger.info("server: %s", params.message)

    def _log_message(self, params: types.LogMessageParams) -> None:
        logger.info("server: %s", params.message)

    def _progress(self, params: types.ProgressParams) -> None:
        message = getattr(params.value, "message", None)
        percentage = getattr(params.value, "percentage", None)
        if message:
            logger.info("%s%s", message, f" ({percentage}%)" if percentage is not None else "")

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the server subprocess and begin collecting its stderr."""
        command = self.options.command()
        env = {**os.environ, **(self.options.env or {})}
        logger.debug("starting %s", " ".join(command))
        await self.client.start_io(command[0], *command[1:], env=env)
        self._process = self.client._server
        if self._process is not None and self._process.stderr is not None:
            self._stderr_task = asyncio.create_task(self._collect_stderr(self._process.stderr))

    async def _collect_stderr(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            text = line.decode("utf-8", errors="replace").rstrip("\n")
            self.stderr_tail.append(text)
            if self.options.verbose:
                sys.stderr.write(f"[server] {text}\n")

    async def initialize(
        self, params: types.InitializeParams | None = None, *, root: Path | None = None
    ) -> types.InitializeResult:
        """Send ``initialize`` (ours unless ``params`` is given) and ``initialized``."""
        if params is None:
            folder = (root or Path.cwd()).resolve()
            params = types.InitializeParams(
                process_id=os.getpid(),
                client_info=types.ClientInfo(name="qwen-lsp-cli", version=__version__),
                capabilities=client_capabilities(),
                root_uri=folder.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=folder.as_uri(), name=folder.name or "/")],
                initialization_options=self.options.initialization_options(),
            )
        result: types.InitializeResult = await self._request(
            self.client.initialize_async(params), "initialize"
        )
        self.capabilities = result.capabilities
        self.client.initialized(types.InitializedParams())
        return result

    async def wait_for_model(self, interval: float = 0.05) -> dict[str, Any]:
        """Wait until the model is loaded; raise ServerError with the server's reason when it failed."""
        started = time.perf_counter()
        while True:
            info = await self.stats()
            state = info.get("state")
            if state == "ready":
                self.load_ms = (time.perf_counter() - started) * 1000
                return info
            if state in ("failed", "closed"):
                raise ServerError(str(info.get("failure") or "the model failed to load"))
            if info.get("outage"):  # a remote model server out of reach: a one-shot command says so now
                raise ServerError(str(info["outage"]))
            await asyncio.sleep(interval)

    async def wait_idle(self, limit: float, interval: float) -> None:
        """Wait until the server runs nothing, ``limit`` seconds at most.

        Idle is ``busy`` false in two stats answers in a row: the background work after the last request
        (speculation, pre-warm) is done.
        """
        deadline = time.perf_counter() + limit
        quiet = 0
        while quiet < 2 and time.perf_counter() < deadline:
            quiet = 0 if (await self.stats()).get("busy") else quiet + 1
            await asyncio.sleep(interval)

    async def stats(self) -> dict[str, Any]:
        """The server's ``qwenLsp/stats`` answer as a plain dict."""
        result = plain(await self.request(STATS_METHOD, None))
        return result if isinstance(result, dict) else {}

    async def request(self, method: str, params: Any) -> Any:
        """Send a request and wait for its result; raise ServerError if the server exits first."""
        if self.client.stopped:
            raise ServerError(self._death_reason(method, RuntimeError("the server has stopped")))
        return await self._request(self.client.protocol.send_request_async(method, params), method)

    async def _request(self, pending: Any, method: str) -> Any:
        try:
            return await pending
        except RuntimeError as exc:
            # pygls fails pending requests with RuntimeError when the server process exits.
            raise ServerError(self._death_reason(method, exc)) from None

    def _death_reason(self, method: str, exc: Exception) -> str:
        process = self._process
        if process is not None and process.returncode is not None:
            tail = "\n".join(list(self.stderr_tail)[-15:])
            return f"the server exited (code {process.returncode}) during {method}:\n{tail}".rstrip()
        return f"{method} failed: {exc}"

    def open_document(self, uri: str, language_id: str, text: str) -> None:
        """Send ``textDocument/didOpen``."""
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id=language_id, version=1, text=text)
            )
        )

    def failure_message(self) -> str | None:
        """The last error the server showed the user, if any."""
        errors = [m.message for m in self.messages if m.type == types.MessageType.Error]
        return errors[-1] if errors else None

    async def close(self, *, graceful: bool = True, timeout: float = 15.0) -> None:
        """Shut the server down (``shutdown``/``exit``), killing it if it does not exit in time."""
        process = self._process
        if process is None:
            return
        if graceful and process.returncode is None and not self.client.stopped:
            try:
                await asyncio.wait_for(self.client.shutdown_async(None), timeout)
                self.client.exit(None)
                await asyncio.wait_for(process.wait(), timeout)
            except (TimeoutError, RuntimeError, ConnectionError, OSError, JsonRpcException) as exc:
                logger.debug("server did not shut down cleanly: %s", exc)
        if process.returncode is None:
            if graceful:
                logger.warning("the server did not exit; killing it")
            process.kill()
            await process.wait()
        await self.client.stop()  # type: ignore[no-untyped-call]
        if self._stderr_task is not None:
            await self._stderr_task

    async def __aenter__(self) -> ServerSession:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
