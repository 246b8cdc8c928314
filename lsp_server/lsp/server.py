"""The language server object: owns settings, the engine and every background task.

What the user sees: the model loads in the background with a progress bar in the editor, bad models are
reported in a message (and the server stays up), and each suggestion is for the text as it is now.
"""

from __future__ import annotations

import asyncio
import gc
import hmac
import logging
import time
import tracemalloc
import uuid
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any

import attrs
from lsprotocol import types
from pygls.exceptions import FeatureRequestError, JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from lsp_server import __version__
from lsp_server.completion import Completion, CompletionPlan, Skip
from lsp_server.config.layers import SettingsStore
from lsp_server.config.watch import FileWatcher
from lsp_server.context.languages import detect_language
from lsp_server.document import DocumentSnapshot, locate, offset_of
from lsp_server.engine.choose import make_backend
from lsp_server.engine.engine import Engine
from lsp_server.logs import one_line_reason
from lsp_server.model_api import EngineEvent, EngineState, GenerationRequest, GenerationResult
from lsp_server.next_edit.predict import NextEditInputs
from lsp_server.next_edit.service import (
    Prediction,
    finish_next_edit,
    make_next_edit_request,
    repeated_prediction,
)
from lsp_server.pause import collect_at_pause
from lsp_server.prompt.templates import PromptLibrary
from lsp_server.scheduling import CompletionService
from lsp_server.settings import Settings
from lsp_server.workspace import WorkspaceContext

logger = logging.getLogger(__name__)

# When typing pauses this long, a re-parse that went over its keystroke budget (see SyntaxTrees) finishes
# and Python's garbage is collected (see pause.py).
_PAUSE_AFTER_S = 0.15


def _remote(engine: Engine) -> dict[str, Any] | None:
    """The remote server in use (URL without credentials, API, model, slot); None for a local model."""
    describe = getattr(engine.backend, "describe", None)
    return describe() if describe is not None else None


if TYPE_CHECKING:
    from pygls.server import ServerErrors

# Where a network client presents the server's token in ``initialize``.
TOKEN_OPTION = "authToken"

# A rejected message is shown to the user at most this often (every one is logged).
REJECTION_NOTICE_S = 60.0


class QwenProtocol(LanguageServerProtocol):
    """pygls' protocol, except that a request whose params cannot be read is answered with the error.

    pygls raises out of JSON decoding for such a request, so the client would wait for an answer that
    never comes; here the request (it has an id and a method) gets the InvalidParams error first. And a
    handler's future is forgotten once it is done (pygls keeps notifications' futures forever).
    """

    def _execute_handler(
        self,
        msg_id: Any,
        handler: Any,
        callback: Any,
        args: tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
    ) -> None:
        """Run a handler as pygls does, and forget its future once it is done.

        pygls keeps the future of every notification handled by a generator (its built-in
        ``didOpen``/``didChange``/``didClose`` are generators) in ``_request_futures`` under a fresh uuid and
        never removes it: two futures with their locks per keystroke, ~2 KiB, for the life of the server.
        """

        def done(future: Any) -> None:
            try:
                callback(future)
            finally:
                if self._request_futures.get(msg_id) is future:
                    del self._request_futures[msg_id]

        super()._execute_handler(msg_id, handler, done, args, kwargs)

    @property
    def pending_handlers(self) -> int:
        """Handler futures kept (requests and notifications still running)."""
        return len(self._request_futures)

    required_token = ""
    """Set for ``serve --tcp/--ws`` with ``QWEN_LSP_TOKEN``: the client must present it in ``initialize``
    (``initializationOptions.authToken``) before anything is served."""
    _authenticated = False
    refused = 0

    def handle_message(self, message: Any) -> None:
        """Serve nothing to a network client until its ``initialize`` presents the token."""
        if self.required_token and not self._authenticated:
            method = getattr(message, "method", None)
            options = getattr(getattr(message, "params", None), "initialization_options", None)
            presented = options.pop(TOKEN_OPTION, None) if isinstance(options, dict) else None
            if method == "initialize" and isinstance(presented, str):
                self._authenticated = hmac.compare_digest(presented.encode(), self.required_token.encode())
            if not self._authenticated:
                self.refused += 1
                level = logging.WARNING if self.refused == 1 else logging.DEBUG
                logger.log(level, "refused a message from a client without the token (%s)", method or "-")
                msg_id = getattr(message, "id", None)
                if method is not None and msg_id is not None:
                    error = JsonRpcException(message="qwen-lsp: this server needs its token (QWEN_LSP_TOKEN)")
                    self._send_response(msg_id, None, error.to_response_error())
                return
        super().handle_message(message)

    def structure_message(self, data: dict[str, Any]) -> Any:
        """Decode one message (called for every JSON object, innermost first)."""
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            if isinstance(data.get("method"), str) and isinstance(data.get("id"), (int, str)):
                self._send_response(data["id"], None, error.to_response_error())
            raise


@attrs.define
class _SharedNextEdit:
    """A next-edit prediction in progress (or done) that several requests may wait for."""

    key: tuple[str, int | None, int, int]
    inputs: NextEditInputs
    request: GenerationRequest
    future: asyncio.Future[GenerationResult]
    subscribers: int = 0


class QwenLanguageServer(LanguageServer):
    """One server, one resident model."""

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__(name="qwen-lsp", version=__version__, protocol_cls=QwenProtocol)
        self.settings = settings or Settings()
        self.engine: Engine | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._progress_token: str | None = None
        self._progress_percent = -1
        self._client_has_inline = False
        self.context = WorkspaceContext()
        self._pause: asyncio.TimerHandle | None = None
        self.pause_collections = 0
        self.last_pause_collection_ms = 0.0
        self.prompts = PromptLibrary()
        self.completions = CompletionService(
            lambda: self.engine,
            lambda: self.settings.completion,
            self.context.planner(lambda: self.settings.completion, self.position_encoding),
            self.prompts,
        )
        self.config = SettingsStore(self.settings)
        self.watcher: FileWatcher | None = None
        self._next_engine: Engine | None = None
        self.rejected_messages = 0
        self._last_change: dict[str, float] = {}
        self._next_edits: dict[str, _SharedNextEdit] = {}
        self._memory_baseline: tracemalloc.Snapshot | None = None
        self._rejection_shown = -REJECTION_NOTICE_S

    @property
    def client_has_inline_completion(self) -> bool:
        """Whether the client said it can show inline completions (ghost text)."""
        return self._client_has_inline

    # --- lifecycle ---------------------------------------------------------------------------

    def require_token(self, token: str) -> None:
        """Serve a network client only once its ``initialize`` presents ``token``."""
        if isinstance(self.protocol, QwenProtocol):
            self.protocol.required_token = token

    def apply_initialization_options(self, params: types.InitializeParams) -> None:
        """Read ``initializationOptions`` over the command-line settings; report bad keys."""
        caps = params.capabilities.text_document
        self._client_has_inline = bool(caps is not None and caps.inline_completion is not None)
        options = params.initialization_options
        self.config.set_layer("initializationOptions", options if isinstance(options, dict) else None)
        self.config.read_files(self.workspace.root_path)
        self.apply_settings()

    def apply_settings(self) -> None:
        """Re-resolve the settings; report new problems, reload the model if its settings changed."""
        previous = self.settings
        resolved, problems = self.config.refresh()
        for problem in problems:
            self.warn(f"qwen-lsp: {problem}; keeping the previous value.")
        self.settings = resolved.settings
        if self.engine is not None and previous.model != self.settings.model:
            self.reload_engine()

    def reload_engine(self) -> None:
        """Load the newly configured model in the background; requests use the old one until then."""

        def on_event(event: EngineEvent) -> None:
            logger.debug("next model: %s %s", event.kind, event.message)

        engine = Engine(make_backend(self.settings), on_event)
        self._next_engine = engine
        engine.start()
        self.run_task(self._swap_engine(engine))

    async def _swap_engine(self, engine: Engine) -> None:
        ready = await asyncio.to_thread(engine.wait_ready)
        if engine is not self._next_engine:
            await asyncio.to_thread(engine.close)  # a newer reload superseded this one
            return
        self._next_engine = None
        if not ready:
            self.error(f"qwen-lsp: {engine.failure} Still using the previous model.")
            await asyncio.to_thread(engine.close)
            return
        old, self.engine = self.engine, engine
        self._warm_open_documents(engine)
        name = engine.info.name if engine.info else "model"
        self.window_log_message(
            types.LogMessageParams(type=types.MessageType.Info, message=f"Switched to {name}")
        )
        if old is not None:
            await asyncio.to_thread(old.close)

    def start_engine(self) -> None:
        """Start loading the model in the background; requests queue until it is ready."""
        if self.engine is not None:
            return
        loop = asyncio.get_running_loop()
        backend = make_backend(self.settings)

        def on_event(event: EngineEvent) -> None:
            loop.call_soon_threadsafe(self._on_engine_event, event)

        self.engine = Engine(backend, on_event)
        self.run_task(self._begin_progress())
        self.engine.start()
        self._warm_open_documents(self.engine)

    def _warm_open_documents(self, engine: Engine) -> None:
        """Tokenize the open documents' lines in the background (new model: new vocabulary)."""
        for document in list(self.workspace.text_documents.values()):
            engine.warm_tokens(document.source)

    def stop_engine(self) -> None:
        """Cancel everything in flight and free the model."""
        self.completions.shutdown()
        if self.watcher is not None:
            self.watcher.stop()
        if self._next_engine is not None:
            self._next_engine.close()
        if self.engine is not None:
            self.engine.close()

    def run_task(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a background coroutine, keep a reference, and log its failure."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(finished: asyncio.Task[Any]) -> None:
            self._tasks.discard(finished)
            if not finished.cancelled() and (exc := finished.exception()) is not None:
                logger.error("background task failed: %s", exc, exc_info=exc)

        task.add_done_callback(done)

    # --- messages to the user ----------------------------------------------------------------

    def report_server_error(self, error: Exception, source: ServerErrors) -> None:
        """A message the server could not handle: one log line each, a notice at most once a minute.

        pygls shows every failed notification to the user; a client (or anyone on a TCP port) that sends
        thousands of bad messages would open thousands of windows.
        """
        self.rejected_messages += 1
        logger.warning("rejected a message (%s)", one_line_reason(error))
        now = time.monotonic()
        if source is FeatureRequestError or now - self._rejection_shown < REJECTION_NOTICE_S:
            return
        self._rejection_shown = now
        super().report_server_error(error, source)

    def warn(self, message: str) -> None:
        """Tell the user something went wrong but the server carries on."""
        logger.warning("%s", message)
        self.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=message))

    def error(self, message: str) -> None:
        """Tell the user about a failure that disables a feature."""
        logger.error("%s", message)
        self.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=message))

    async def _begin_progress(self) -> None:
        window = self.client_capabilities.window
        if window is None or not window.work_done_progress:
            return
        token = f"qwen-lsp-load-{uuid.uuid4().hex[:8]}"
        try:
            await self.work_done_progress.create_async(token)
        except Exception as exc:
            logger.debug("client refused a progress token: %s", exc)
            return
        if self.engine is not None and self.engine.state in (
            EngineState.READY,
            EngineState.FAILED,
        ):
            return
        self._progress_token = token
        self.work_done_progress.begin(
            token,
            types.WorkDoneProgressBegin(
                title="qwen-lsp", message="Loading model", percentage=0, cancellable=False
            ),
        )

    def _end_progress(self, message: str) -> None:
        if self._progress_token is None:
            return
        self.work_done_progress.end(self._progress_token, types.WorkDoneProgressEnd(message=message))
        self._progress_token = None

    def _on_engine_event(self, event: EngineEvent) -> None:
        if event.kind == "progress":
            if self._progress_token is None:
                return
            percent = None
            if event.total:
                percent = min(100, int(event.done * 100 / event.total))
                if percent == self._progress_percent:
                    return
                self._progress_percent = percent
            self.work_done_progress.report(
                self._progress_token,
                types.WorkDoneProgressReport(message=event.message, percentage=percent),
            )
        elif event.kind == "state":
            if event.state is EngineState.READY:
                self._end_progress(event.message)
                self.window_log_message(
                    types.LogMessageParams(type=types.MessageType.Info, message=event.message)
                )
            elif event.state is EngineState.FAILED:
                self._end_progress("Model failed to load")
                self.error(f"qwen-lsp: {event.message} Completions are disabled until this is fixed.")
        elif event.kind == "notice":
            self.warn(f"qwen-lsp: {event.message}")
        elif event.kind == "unavailable":
            self.warn(f"qwen-lsp: {event.message}")
            self.protocol.notify("qwenLsp/status", {"state": "unavailable", "message": event.message})
        elif event.kind == "available":
            self.window_log_message(
                types.LogMessageParams(type=types.MessageType.Info, message=event.message)
            )
            self.protocol.notify("qwenLsp/status", {"state": "ready", "message": event.message})

    # --- completions -------------------------------------------------------------------------

    def snapshot(self, uri: str) -> DocumentSnapshot | None:
        """Copy a document out of the workspace (text, version, language) before any await."""
        try:
            document = self.workspace.get_text_document(uri)
            return DocumentSnapshot(uri, document.language_id, document.version, document.source)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            logger.info("cannot read %s: %s", uri, exc)
            return None

    def plan_completion(self, uri: str, position: types.Position) -> CompletionPlan | Skip:
        """Plan a completion for the current text of ``uri``."""
        snapshot = self.snapshot(uri)
        if snapshot is None:
            return Skip("document not available")
        if not self.settings.completion.enabled:
            return Skip("completions are disabled in settings")
        self._ensure_root()
        return self.context.plan(
            snapshot, position.line, position.character, self.settings.completion, self.position_encoding()
        )

    def _ensure_root(self) -> None:
        """File names in prompts are relative to the workspace root, known once the client initialized."""
        if self.context.root is None:
            self.context.root = self.workspace.root_uri

    def position_encoding(self) -> str:
        """The position encoding negotiated with the client (UTF-16 unless it asked otherwise)."""
        negotiated = self.workspace.position_encoding
        return str(getattr(negotiated, "value", negotiated) or "utf-16")

    async def complete(
        self, uri: str, position: types.Position
    ) -> tuple[Completion, CompletionPlan] | Skip | None:
        """Answer one completion request (cache, running generation or a new one: see scheduling).

        ``Skip`` when no completion is planned here (the reason says why), None when the planned one came
        to nothing or the document changed meanwhile.
        """
        plan = self.plan_completion(uri, position)
        if isinstance(plan, Skip):
            logger.debug("no completion at %s:%s: %s", uri, position.line, plan.reason)
            return plan
        completion = await self.completions.complete(plan)
        current = self.snapshot(uri)
        if completion is None or current is None or current.version != plan.snapshot.version:
            return None
        logger.debug("completion provenance for %s:%s: %s", uri, position.line, completion.provenance)
        return completion, plan

    def next_edit_inline(self, uri: str, position: types.Position) -> bool:
        """Whether an inline completion request here may be answered with a next edit.

        Only where no completion is planned (mid-line, before code; the caller knows: ``complete``
        returned its ``Skip``) and away from the lines of the last edit: while the user types at that
        edit, the model's state belongs to their completions (a prediction there would make the next
        keystroke re-read the whole prompt).
        """
        if not self.settings.next_edit.enabled:
            return False
        history = self.context.histories.get(uri)
        units = history.units() if history is not None else []
        if not units:
            return False
        last = units[-1]
        return not last.start_row <= position.line <= last.start_row + last.after.count("\n")

    async def next_edit(
        self, uri: str, position: types.Position
    ) -> tuple[Prediction, DocumentSnapshot] | None:
        """Predict the user's next edit from their recent ones (see ``lsp_server.next_edit``).

        Waits until the last edit has settled (``nextEdit.debounceMs``); a newer edit meanwhile, or
        before the answer, makes it moot (None). Cancelling the request stops the model.
        """
        settings = self.settings.next_edit
        engine = self.engine
        if not settings.enabled or engine is None or engine.state in (EngineState.FAILED, EngineState.CLOSED):
            return None
        snapshot = self.snapshot(uri)
        history = self.context.histories.get(uri)
        if snapshot is None or history is None:
            return None
        settled = self._last_change.get(uri, 0.0) + settings.debounce_ms / 1000 - time.monotonic()
        if settled > 0:
            await asyncio.sleep(settled)
            current = self.snapshot(uri)
            if current is None or current.version != snapshot.version:
                return None
        units = tuple(history.units())
        cursor = locate(snapshot.text, position.line, position.character, self.position_encoding())
        if not units or cursor is None:
            return None
        self._ensure_root()
        language = detect_language(snapshot.language_id, snapshot.uri)
        document = self.context.trees.get(uri, snapshot.text) if language is not None else None
        inputs = NextEditInputs(
            snapshot.text,
            offset_of(snapshot.text, cursor),
            language,
            self.context.relative_path(uri),
            units,
            document.tree if document is not None and document.current else None,
        )
        quick = repeated_prediction(inputs) if settings.repeat else None
        if quick is not None:
            return quick, snapshot
        # One prediction per document, place and version: an inline completion and a copilotInlineEdit
        # request for the same keystroke share it (a client sends both).
        key = (uri, snapshot.version, position.line, position.character)
        shared = self._next_edits.get(uri)
        if shared is None or shared.key != key:
            request = make_next_edit_request(inputs, settings, self.prompts)
            shared = _SharedNextEdit(key, inputs, request, asyncio.wrap_future(engine.submit(request)))
            if uri in self._next_edits:
                self._next_edits[uri].request.cancel.cancel("superseded")
            self._next_edits[uri] = shared
        inputs, request = shared.inputs, shared.request
        shared.subscribers += 1
        try:
            result = await asyncio.shield(shared.future)
        except asyncio.CancelledError:
            shared.subscribers -= 1
            if shared.subscribers == 0:
                request.cancel.cancel("$/cancelRequest")
                if self._next_edits.get(uri) is shared:
                    del self._next_edits[uri]
            raise
        shared.subscribers -= 1
        current = self.snapshot(uri)
        if current is None or current.version != snapshot.version:
            return None
        prediction = finish_next_edit(inputs, result, request.notes)
        logger.debug("next edit for %s:%s: %s", uri, position.line, prediction.provenance)
        return prediction, snapshot

    def document_changed(self, uri: str, changes: Sequence[types.TextDocumentContentChangeEvent]) -> None:
        """Tell the scheduler where the user is typing (the end of the last edit) and pre-warm there."""
        self._last_change[uri] = time.monotonic()
        snapshot = self.snapshot(uri)
        if snapshot is not None:
            self.context.changed(snapshot)
            self._at_pause_later()
        last = changes[-1] if changes else None
        if snapshot is None or not isinstance(last, types.TextDocumentContentChangePartial):
            return
        lines = last.text.split("\n")
        line = last.range.start.line + len(lines) - 1
        column = (last.range.start.character if len(lines) == 1 else 0) + sum(
            2 if ord(char) > 0xFFFF else 1 for char in lines[-1]
        )
        self.completions.document_changed(snapshot, line, column)

    def document_opened(self, uri: str) -> None:
        """Evaluate the start of a newly opened document while the user has not asked for anything yet."""
        snapshot = self.snapshot(uri)
        if snapshot is not None:
            self._ensure_root()
            self.context.opened(snapshot)
            self.completions.document_opened(snapshot)
            if self.engine is not None:
                self.engine.warm_tokens(snapshot.text)
            self._at_pause_later()  # the garbage of opening (and of start-up) goes before the first keystroke

    def _at_pause_later(self) -> None:
        """When the user pauses typing: finish over-budget re-parses, collect garbage (see pause.py)."""
        if self._pause is not None:
            self._pause.cancel()
            self._pause = None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # called outside the event loop: parse to the end now
            self.context.trees.settle()
            return
        self._pause = loop.call_later(_PAUSE_AFTER_S, self._at_pause)

    def _at_pause(self) -> None:
        self._pause = None
        self.context.trees.settle()
        spent = collect_at_pause()
        if spent is not None:
            self.pause_collections += 1
            self.last_pause_collection_ms = spent

    def document_closed(self, uri: str) -> None:
        """Forget a closed document's tree and pending work (its snippets stay in the ring)."""
        self._last_change.pop(uri, None)
        shared = self._next_edits.pop(uri, None)
        if shared is not None:
            shared.request.cancel.cancel("closed")
        self.context.closed(uri)
        self.completions.document_closed(uri)

    def memory_sites(self, action: str, limit: int) -> dict[str, Any]:
        """Allocation sites that grew, from ``tracemalloc`` (on when ``QWEN_LSP_TRACEMALLOC`` is set).

        "baseline" takes a snapshot; "top" lists the sites that grew most since it (``bench/soak.py``).
        """
        if not tracemalloc.is_tracing():
            return {"tracing": False, "lines": []}
        gc.collect()
        snapshot = tracemalloc.take_snapshot().filter_traces(
            (tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib*"))
        )
        if action == "baseline" or self._memory_baseline is None:
            self._memory_baseline = snapshot
            return {"tracing": True, "lines": []}
        growth = snapshot.compare_to(self._memory_baseline, "lineno")
        return {"tracing": True, "lines": [str(stat) for stat in growth[:limit]]}

    def cache_sizes(self) -> dict[str, dict[str, int | None]]:
        """Every cache's bytes, entries and bound, by name (engine, workspace, scheduler)."""
        sizes = dict(self.context.sizes())
        sizes["suggestions"] = self.completions.cache.size()
        if self.engine is not None:
            sizes.update(self.engine.cache_sizes())
        return {name: size.as_json() for name, size in sorted(sizes.items())}

    def stats(self) -> dict[str, Any]:
        """Engine counters for tests and debugging."""
        engine = self.engine
        protocol = self.protocol
        if engine is None:
            return {"state": "not_started"}
        return {
            "state": engine.state.value,
            "failure": engine.failure,
            "model": None
            if engine.info is None
            else {
                "name": engine.info.name,
                "architecture": engine.info.architecture,
                "fim": engine.info.fim is not None,
                "hybrid": engine.info.is_hybrid,
            },
            "remote": _remote(engine),
            "outage": engine.outage,
            "unavailable": engine.stats.unavailable,
            "requests": engine.stats.requests,
            "queuedWhileLoading": engine.stats.queued_while_loading,
            "completed": engine.stats.completed,
            "cancelled": engine.stats.cancelled,
            "decodedTokens": engine.stats.decoded_tokens,
            "promptTokensEvaluated": engine.stats.prompt_tokens_evaluated,
            "lastDecodedAfterCancel": engine.stats.last_decoded_after_cancel,
            "maxDecodedAfterCancel": engine.stats.max_decoded_after_cancel,
            "busy": engine.stats.busy,
            "currentLabel": engine.stats.current_label,
            "currentDecoded": engine.stats.current_decoded,
            "minimumPromptTokens": engine.stats.minimum_prompt_tokens,
            "lastPromptTokensEvaluated": engine.stats.last_prompt_tokens_evaluated,
            "lastMinimumPromptTokens": engine.stats.last_minimum_prompt_tokens,
            "userRequests": engine.stats.user_requests,
            "lastUserPromptTokensEvaluated": engine.stats.last_user_prompt_tokens_evaluated,
            "lastUserMinimumPromptTokens": engine.stats.last_user_minimum_prompt_tokens,
            "placeArrivals": self.context.places.arrivals,
            "placesOutgrown": self.context.places.outgrown,
            "kvReusedTokens": engine.stats.kv_reused_tokens,
            "checkpointRestores": engine.stats.checkpoint_restores,
            "checkpointSaves": engine.stats.checkpoint_saves,
            "preemptions": engine.stats.preemptions,
            "abandoned": engine.stats.abandoned,
            "typedAheadHits": self.completions.stats.typed_ahead_hits,
            "speculationHits": self.completions.stats.speculation_hits,
            "inflightHits": self.completions.stats.inflight_hits,
            "speculations": self.completions.stats.speculations,
            "prewarms": self.completions.stats.prewarms,
            "debounceDrops": self.completions.stats.debounce_drops,
            "accepted": self.completions.stats.accepted,
            "fullParses": self.context.trees.full_parses,
            "incrementalParses": self.context.trees.incremental_parses,
            "lateParses": self.context.trees.late_parses,
            "skippedParses": self.context.trees.skipped_parses,
            "pauseCollections": self.pause_collections,
            "rejectedMessages": self.rejected_messages,
            "pendingHandlers": protocol.pending_handlers if isinstance(protocol, QwenProtocol) else 0,
            "caches": self.cache_sizes(),
            "lastPauseCollectionMs": round(self.last_pause_collection_ms, 2),
        }
