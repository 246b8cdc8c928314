"""The engine's worker: one thread that loads the model, then serves requests by priority.

What the user sees: the first suggestion arrives as soon as the model is loaded, a keystroke's request
runs before speculation and code actions, and a cancelled or superseded request stops within one token.

Everything else hands the engine a ``GenerationRequest`` and gets a ``concurrent.futures.Future`` back.
The queue, priorities, preemption and cancellation live here; the model itself is a ``jobs.Backend``
(the in-process llama.cpp one in ``lsp_server.engine.llama``), which runs one job at a time on this thread
and checks the request's ``CancelToken`` and ``should_yield`` between prompt chunks and tokens.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import heapq
import itertools
import logging
import threading
import time
from collections import deque

from lsp_server.engine.gguf_check import ModelFileError
from lsp_server.engine.jobs import Backend, BackendUnavailable, Job
from lsp_server.memory import CacheSize, text_bytes
from lsp_server.model_api import (
    EngineEvent,
    EngineState,
    EngineStats,
    EventCallback,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    Tokenizer,
)

logger = logging.getLogger(__name__)

# Documents whose lines wait to be tokenized in the background (the oldest are dropped beyond this).
_WARM_DOCUMENTS = 16
# Seconds between tries while a remote model server is out of reach: doubling from the first to the last.
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30.0


class _ClosedWhileLoading(Exception):
    """The engine was closed while it waited for an unreachable model server."""


class Engine:
    """Serves requests from one backend, by priority, on one worker thread (a ``model_api.Engine``)."""

    def __init__(self, backend: Backend, on_event: EventCallback | None = None) -> None:
        self.backend = backend
        self.state = EngineState.NOT_STARTED
        self.failure = ""
        self.info: ModelInfo | None = None
        self.stats = EngineStats()
        self._on_event = on_event
        self._queue: list[tuple[int, int, Job]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._current: Job | None = None
        self._closing = False
        self._ready = threading.Event()
        self._warm_texts: deque[str] = deque(maxlen=_WARM_DOCUMENTS)
        self._warm_wake = threading.Event()
        self._warm_thread: threading.Thread | None = None
        self._warm_lock = threading.Lock()
        self._warm_stopped = False
        self.outage = ""
        """Why the model is out of reach now ("" when it is not); requests get "unavailable" meanwhile."""
        self._backoff = 0.0
        self._retry_at = 0.0

    # --- public API (any thread) -------------------------------------------------------------

    def start(self) -> None:
        """Start the worker; it loads the model, then serves requests."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._worker, name="qwen-lsp-engine", daemon=True)
        self._thread.start()

    def submit(self, request: GenerationRequest) -> concurrent.futures.Future[GenerationResult]:
        """Queue a request; the future resolves with its result (never raises for model errors)."""
        future: concurrent.futures.Future[GenerationResult] = concurrent.futures.Future()
        request.cancel.bind(lambda: self.stats.decoded_tokens)
        with self._cond:
            self.stats.requests += 1
            if self.state in (EngineState.FAILED, EngineState.CLOSED):
                future.set_result(GenerationResult("", "not_ready", message=self.failure))
                return future
            if self.state is EngineState.LOADING and self.outage:
                self.stats.unavailable += 1
                future.set_result(GenerationResult("", "unavailable", message=self.outage))
                return future
            if self.state in (EngineState.NOT_STARTED, EngineState.LOADING):
                self.stats.queued_while_loading += 1
            job = Job(request, future, time.perf_counter(), next(self._seq))
            heapq.heappush(self._queue, (request.priority, job.order, job))
            self._cond.notify()
        return future

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the model is loaded (True) or loading failed / timed out (False)."""
        self._ready.wait(timeout)
        return self.state is EngineState.READY

    def close(self) -> None:
        """Stop the worker and free the model."""
        with self._cond:
            self._closing = True
            for _, _, job in self._queue:
                job.request.cancel.cancel("shutdown")
            if self._current is not None:
                self._current.request.cancel.cancel("shutdown")
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    def warm_tokens(self, text: str) -> None:
        """Tokenize a document's lines in the background (once the model is loaded), off the request path.

        Jumping to a new place in a big file then costs no tokenization of its context window. The
        vocabulary is read-only and llama.cpp's tokenizer runs without the GIL, so this thread does not
        hold up the worker or the event loop.
        """
        with self._warm_lock:
            if self._warm_stopped:
                return
            self._warm_texts.append(text)
            self._warm_wake.set()
            if self._warm_thread is None:
                self._warm_thread = threading.Thread(
                    target=self._warm_loop, name="qwen-lsp-tokens", daemon=True
                )
                self._warm_thread.start()

    def _warm_loop(self) -> None:
        while not self._warm_stopped:
            self._warm_wake.wait()
            self._warm_wake.clear()
            self._ready.wait()
            while self._warm_texts and self.state is EngineState.READY and not self._warm_stopped:
                self.backend.warm(self._warm_texts.popleft(), lambda: self._warm_stopped)

    def _stop_warming(self) -> None:
        """End background tokenization before the model (and its vocabulary) is freed."""
        with self._warm_lock:
            self._warm_stopped = True
            self._warm_wake.set()
            thread = self._warm_thread
        if thread is not None:
            thread.join(timeout=30)

    @property
    def tokenizer(self) -> Tokenizer | None:
        """The loaded model's tokenizer (thread-safe: the vocabulary is read-only); None before load."""
        return self.backend.tokenizer

    def cache_sizes(self) -> dict[str, CacheSize]:
        """The backend's caches, and the documents waiting to be tokenized in the background."""
        sizes = dict(self.backend.cache_sizes())
        waiting = list(self._warm_texts)
        sizes["warmQueue"] = CacheSize(sum(text_bytes(text) for text in waiting), len(waiting))
        return sizes

    # --- worker ------------------------------------------------------------------------------

    def _emit(self, event: EngineEvent) -> None:
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                logger.exception("engine event callback failed")

    def _set_state(self, state: EngineState, message: str) -> None:
        self.state = state
        self._emit(EngineEvent("state", state, message))

    def _worker(self) -> None:
        try:
            self._load()
        except _ClosedWhileLoading:
            self.state = EngineState.CLOSED
        except ModelFileError as exc:
            self._fail(str(exc))
        except Exception as exc:
            logger.exception("model load failed")
            self._fail(f"The model could not be loaded: {exc}")
        finally:
            self._ready.set()
        if self.state is EngineState.READY:
            self._serve()
        self._drain("not_ready", self.failure)
        self._stop_warming()
        self.backend.close()
        if self.state is not EngineState.FAILED:
            self.state = EngineState.CLOSED

    def _fail(self, message: str) -> None:
        self.failure = message
        logger.error("%s", message)
        self._set_state(EngineState.FAILED, message)

    def _load(self) -> None:
        self._set_state(EngineState.LOADING, "Locating the model")

        def progress(done: int, total: int | None, message: str) -> None:
            self._emit(EngineEvent("progress", EngineState.LOADING, message, done, total))

        while True:
            try:
                self.info = info = self.backend.load(progress)
                break
            except BackendUnavailable as exc:
                self._out_of_reach(str(exc))
                self._drain("unavailable", self.outage)
                with self._cond:
                    if not self._closing:
                        self._cond.wait(max(0.0, self._retry_at - time.monotonic()))
                    if self._closing:
                        raise _ClosedWhileLoading from exc
        self._back_in_reach()
        self._set_state(EngineState.READY, f"Model {info.name} ready")
        if info.fim is None:
            self._emit(
                EngineEvent(
                    "notice",
                    EngineState.READY,
                    f"The model {info.name} has no fill-in-the-middle tokens, so completions are "
                    "asked through its chat template, or as a plain continuation of the code before the "
                    "cursor (completion.promptStyle), and may be of lower quality. Use a code model with "
                    "FIM support (e.g. Qwen2.5-Coder or Qwen3.5) for better results, or compare the "
                    "styles on your code with `qwen-lsp eval`.",
                )
            )

    def _next_job(self) -> Job | None:
        with self._cond:
            while not self._queue and not self._closing:
                self._cond.wait()
            if self._closing:
                return None
            return heapq.heappop(self._queue)[2]

    def _serve(self) -> None:
        while True:
            job = self._next_job()
            if job is None:
                return
            if job.future.done():
                continue
            if self.outage and time.monotonic() < self._retry_at:
                self.stats.unavailable += 1
                _resolve(job.future, GenerationResult("", "unavailable", message=self.outage))
                continue
            self._current = job
            try:
                result = self.backend.run(job, self)
                self._back_in_reach()
            except BackendUnavailable as exc:
                self._out_of_reach(str(exc))
                self.stats.unavailable += 1
                result = GenerationResult("", "unavailable", message=str(exc))
            except Exception as exc:
                logger.exception("generation failed")
                self.backend.recover()
                result = GenerationResult("", "error", message=str(exc))
            finally:
                self._current = None
                self.stats.busy = False
                self.stats.current_label = ""
            if result is None:  # gave way to a more urgent request: back in the queue, resumed later
                self._suspend(job)
                continue
            if result.stop_reason == "unavailable":
                pass
            elif result.stop_reason == "cancelled":
                self.stats.cancelled += 1
            elif result.stop_reason == "preempted":
                self.stats.abandoned += 1
            else:
                self.stats.completed += 1
            _resolve(job.future, result)

    def _out_of_reach(self, message: str) -> None:
        """The model cannot be reached: tell the user once per outage, and wait longer before each try."""
        first = not self.outage
        self.outage = message
        self._backoff = BACKOFF_FIRST_S if first else min(BACKOFF_MAX_S, self._backoff * 2)
        self._retry_at = time.monotonic() + self._backoff
        logger.warning("model unavailable (next try in %.0f s): %s", self._backoff, message)
        if first:
            self._emit(
                EngineEvent(
                    "unavailable",
                    self.state,
                    f"{message}. Suggestions are empty until it is back; retrying automatically.",
                )
            )

    def _back_in_reach(self) -> None:
        if not self.outage:
            return
        self.outage = ""
        self._backoff = 0.0
        logger.info("the model server answers again")
        self._emit(EngineEvent("available", self.state, "The model server answers again."))

    def _drain(self, reason: str, message: str) -> None:
        with self._cond:
            pending = [job for _, _, job in self._queue]
            self._queue.clear()
        for job in pending:
            _resolve(job.future, GenerationResult("", reason, message=message))

    def _more_urgent_waiting(self, priority: int) -> bool:
        with self._cond:
            return bool(self._queue) and self._queue[0][0] < priority

    def should_yield(self, request: GenerationRequest) -> bool:
        """Whether ``request`` gives way to a more urgent one waiting (``jobs.Control``)."""
        return request.preemption != "none" and self._more_urgent_waiting(request.priority)

    def _suspend(self, job: Job) -> None:
        """Put a resumable job back in the queue, keeping its place among jobs of its priority."""
        job.preempted += 1
        self.stats.preemptions += 1
        with self._cond:
            heapq.heappush(self._queue, (job.request.priority, job.order, job))
            self._cond.notify()


def _resolve(future: concurrent.futures.Future[GenerationResult], result: GenerationResult) -> None:
    """Set a result unless the requester already gave up on the future (a race the worker must survive)."""
    if future.done():
        return
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        future.set_result(result)
