"""The resident model: loaded once, owned by one worker thread, shared by every request.

What the user sees: the first suggestion arrives as soon as the model is loaded, later ones reuse what the
model has already read, and a cancelled or superseded request stops the model within one token.

Only this module touches the llama.cpp context. Everything else hands it a ``GenerationRequest`` and gets a
``concurrent.futures.Future`` back; the worker takes requests by priority and checks the request's
``CancelToken`` between every prompt chunk and every decoded token.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import enum
import functools
import heapq
import itertools
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import attrs

from lsp_server.engine.gguf_check import ModelFileError, inspect_gguf
from lsp_server.engine.model_source import ModelSpec, resolve_model
from lsp_server.engine.state_cache import StateCache
from lsp_server.prompt.fim import FimTokens, PromptLayout, common_prefix, detect_fim_tokens
from lsp_server.prompt.healing import TokenConstraint, natural_cuts
from lsp_server.prompt.token_cache import TokenCache

logger = logging.getLogger(__name__)

# Documents whose lines wait to be tokenized in the background (the oldest are dropped beyond this).
_WARM_DOCUMENTS = 16


class StopRule(Protocol):
    """Decides, from the text generated so far, where a completion must end."""

    def check(self, generated: str) -> int | None:
        """Return the cut index once the completion must end, else None."""


class EngineState(enum.Enum):
    """Where the engine is in its life."""

    NOT_STARTED = "not_started"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"
    CLOSED = "closed"


@attrs.frozen
class EngineConfig:
    """How the model is loaded and run."""

    model: ModelSpec
    n_ctx: int = 4096
    n_threads: int | None = None
    prompt_batch: int = 64
    use_mmap: bool = False
    seed: int = 0
    state_reuse: bool = True
    checkpoints: int = 8


@attrs.frozen
class ModelInfo:
    """Facts about the loaded model that the rest of the server needs."""

    path: Path
    architecture: str
    name: str
    n_vocab: int
    n_ctx: int
    fim: FimTokens | None
    is_hybrid: bool
    is_recurrent: bool
    bos: tuple[int, ...]
    load_seconds: float
    eos: int = -1
    chat_template: str | None = None


class CancelToken:
    """Set by the requester; checked by the worker between tokens."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""
        self.decoded_at_cancel: int | None = None
        self._counter: Callable[[], int] | None = None

    def bind(self, counter: Callable[[], int]) -> None:
        """Attach the engine's decoded-token counter so the cancel moment is recorded."""
        self._counter = counter

    def cancel(self, reason: str = "cancelled") -> None:
        """Ask the worker to stop this request."""
        if self._event.is_set():
            return
        self.reason = reason
        if self._counter is not None:
            self.decoded_at_cancel = self._counter()
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether cancel() was called."""
        return self._event.is_set()


class ModelTokenizer:
    """The model's tokenizer as handed to prompt builders: call it for plain text."""

    def __init__(self, llm: Any) -> None:
        self._llm = llm
        self._raw: tuple[Any, Any] | None = None
        model = getattr(llm, "model", None)
        if model is not None:
            import llama_cpp

            self._raw = (llama_cpp, llama_cpp.llama_model_get_vocab(model))
        self._cache = TokenCache(self._plain)
        self._piece_buffer = ctypes.create_string_buffer(256)

    def _tokenize(self, text: str, special: bool) -> list[int]:
        data = text.encode("utf-8")
        if self._raw is not None:
            # llama_cpp.Llama.tokenize allocates a buffer of the whole training context (32K tokens for
            # Qwen) on every call: ~0.1 ms for a one-line text. A text has at most one token per byte.
            llama_cpp, vocab = self._raw
            size = len(data) + 8
            buffer = (llama_cpp.llama_token * size)()
            count = llama_cpp.llama_tokenize(vocab, data, len(data), buffer, size, False, special)
            if count >= 0:
                return list(buffer[:count])
        tokens: list[int] = self._llm.tokenize(data, add_bos=False, special=special)
        return tokens

    def _plain(self, text: str) -> list[int]:
        return self._tokenize(text, special=False)

    def __call__(self, text: str) -> list[int]:
        """Tokenize plain text: special-token spellings stay ordinary text (safe for user code)."""
        return self._cache(text)

    def count(self, text: str) -> int:
        """How many tokens plain ``text`` is (cached per line: cheap for text seen before)."""
        return self._cache.count(text)

    @property
    def cache(self) -> TokenCache:
        """The per-line token cache (its hit and miss counters)."""
        return self._cache

    def warm(self, text: str, stop: Callable[[], bool] | None = None) -> None:
        """Put the lines of ``text`` in the token cache (the first prompt at any line of it is then cheap)."""
        self._cache.warm(text, stop)

    def with_special(self, text: str) -> list[int]:
        """Tokenize text containing special tokens (``<|im_start|>`` ...), e.g. a rendered chat."""
        return self._tokenize(text, special=True)

    def detokenize(self, tokens: list[int]) -> str:
        """Text of ``tokens`` (special tokens rendered)."""
        return self.token_bytes(tokens, special=True).decode("utf-8", errors="replace")

    def token_bytes(self, tokens: list[int], *, special: bool) -> bytes:
        """The bytes ``tokens`` write, each piece whole.

        llama-cpp-python's ``detokenize`` reads each piece into 32 bytes and silently cuts longer ones
        (Qwen3.5 has 360 such tokens, long indentation runs among them).
        """
        if self._raw is None:
            raw: bytes = self._llm.detokenize(tokens, special=special)
            return raw
        llama_cpp, vocab = self._raw
        out = bytearray()
        buffer = self._piece_buffer
        for token in tokens:
            length = int(llama_cpp.llama_token_to_piece(vocab, token, buffer, len(buffer), 0, special))
            if length < 0:
                self._piece_buffer = buffer = ctypes.create_string_buffer(-length)
                length = int(llama_cpp.llama_token_to_piece(vocab, token, buffer, len(buffer), 0, special))
            out += buffer.raw[: max(0, length)]
        return bytes(out)


@attrs.define
class GenerationRequest:
    """One piece of work for the model: a prompt (built on the worker with its tokenizer) and limits."""

    build_prompt: Callable[[ModelInfo, ModelTokenizer], PromptLayout]
    max_tokens: int
    stop_rule: StopRule | None = None
    temperature: float = 0.0
    priority: int = 0
    cancel: CancelToken = attrs.Factory(CancelToken)
    label: str = "completion"
    on_text: Callable[[str], None] | None = None
    """Called on the worker thread with the text generated so far, after every token (for streaming)."""
    preemption: str = "none"
    """What a more urgent request does to this one: "none" (waits), "abandon" (stops it: speculation,
    pre-warm) or "resume" (suspends it between tokens and resumes it afterwards: code actions)."""
    notes: dict[str, Any] = attrs.Factory(dict)
    """Free-form facts the prompt builder records (context timings, window) for provenance; not read here."""
    max_predict_ms: float = 0.0
    """After this long generating, stop at the end of the last whole line once there is one (0: no limit;
    llama-server's ``t_max_predict_ms``): a long multi-line suggestion shows its first lines in time."""


@attrs.frozen
class GenerationResult:
    """What the model produced and what it cost."""

    text: str
    stop_reason: str
    prompt: PromptLayout | None = None
    generated_tokens: int = 0
    prompt_tokens_evaluated: int = 0
    reused_prefix_tokens: int = 0
    decoded_after_cancel: int = 0
    minimum_prompt_tokens: int = 0
    reuse: str = ""
    preempted: int = 0
    queue_ms: float = 0.0
    prompt_ms: float = 0.0
    decode_ms: float = 0.0
    message: str = ""


@attrs.define
class EngineStats:
    """Counters for tests, benchmarks and the stats request."""

    requests: int = 0
    queued_while_loading: int = 0
    completed: int = 0
    cancelled: int = 0
    decoded_tokens: int = 0
    prompt_tokens_evaluated: int = 0
    last_decoded_after_cancel: int = 0
    max_decoded_after_cancel: int = 0
    busy: bool = False
    current_label: str = ""
    current_decoded: int = 0
    minimum_prompt_tokens: int = 0
    last_prompt_tokens_evaluated: int = 0
    last_minimum_prompt_tokens: int = 0
    user_requests: int = 0
    """Requests someone waits for (priority 0: not speculation, pre-warm or code actions) the worker ran."""
    last_user_prompt_tokens_evaluated: int = 0
    last_user_minimum_prompt_tokens: int = 0
    kv_reused_tokens: int = 0
    checkpoint_restores: int = 0
    checkpoint_saves: int = 0
    preemptions: int = 0
    abandoned: int = 0


@attrs.frozen
class EngineEvent:
    """A change the LSP layer may want to show: loading progress, ready, failure, notices."""

    kind: str  # "progress" | "state" | "notice"
    state: EngineState
    message: str
    done: int = 0
    total: int | None = None


EventCallback = Callable[[EngineEvent], None]


class LlamaLog:
    """Routes llama.cpp's own log lines into Python logging and remembers recent errors."""

    _LEVELS = {
        0: logging.CRITICAL,
        1: logging.DEBUG,
        2: logging.DEBUG,
        3: logging.WARNING,
        4: logging.ERROR,
    }

    def __init__(self) -> None:
        import llama_cpp

        self.recent_errors: deque[str] = deque(maxlen=8)
        self._log = logging.getLogger("llama.cpp")
        self._last_level = logging.DEBUG

        def callback(level: int, text: bytes, _user: Any) -> None:
            line = text.decode("utf-8", errors="replace").rstrip("\n")
            py_level = self._LEVELS.get(level, self._last_level)
            self._last_level = py_level
            if py_level >= logging.ERROR and line.strip():
                self.recent_errors.append(line.strip())
            if line.strip():
                self._log.log(py_level if py_level < logging.ERROR else logging.WARNING, "%s", line)

        # Keep a reference: ctypes frees the trampoline when the Python object dies.
        self._callback = llama_cpp.llama_log_callback(callback)
        llama_cpp.llama_log_set(self._callback, ctypes.c_void_p(0))

    def explain(self) -> str:
        """The most telling recent llama.cpp error, if any."""
        return self.recent_errors[-1] if self.recent_errors else ""


@functools.cache
def llama_log() -> LlamaLog:
    """The process-wide llama.cpp log router.

    llama.cpp keeps the callback pointer for the life of the process, so the ctypes trampoline behind it must
    never be freed: one instance, created once and kept by this cache, serves every engine.
    """
    return LlamaLog()


@contextlib.contextmanager
def _without_extra_buffer_types() -> Iterator[None]:
    """Load with llama.cpp's CPU "extra buffer types" (AMX, weight repacking) turned off on AMX builds.

    A native build of llama.cpp 0.3.36 on a CPU that reports AMX (seen here: a Firecracker VM on Sapphire
    Rapids) places weights in the AMX buffer type and then crashes with SIGSEGV on the first multi-token
    decode. ``Llama`` builds its model params internally, so the default-params factory is wrapped for the
    duration of the load only. Builds without AMX keep llama.cpp's defaults (weight repacking is faster).
    """
    import llama_cpp.llama_cpp as low_level

    if "AMX_INT8 = 1" not in low_level.llama_print_system_info().decode("utf-8", errors="replace"):
        yield
        return
    logger.info("llama.cpp was built with AMX: loading without extra CPU buffer types")

    original = low_level.llama_model_default_params

    def params() -> Any:
        value = original()
        value.use_extra_bufts = False
        return value

    setattr(low_level, "llama_model_default_params", params)  # noqa: B010 (mypy: module attribute)
    try:
        yield
    finally:
        setattr(low_level, "llama_model_default_params", original)  # noqa: B010


def model_fim_tokens(llm: Any) -> FimTokens | None:
    """The FIM marker tokens of a loaded ``llama_cpp.Llama``: llama.cpp's detection, then known spellings."""
    import llama_cpp

    vocab = llama_cpp.llama_model_get_vocab(llm.model)

    def lookup(text: str) -> int | None:
        ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        if len(ids) != 1:
            return None
        piece = llm.detokenize(ids, special=True).decode("utf-8", errors="replace")
        return int(ids[0]) if piece == text else None

    native = (
        int(llama_cpp.llama_vocab_fim_pre(vocab)),
        int(llama_cpp.llama_vocab_fim_suf(vocab)),
        int(llama_cpp.llama_vocab_fim_mid(vocab)),
    )
    return detect_fim_tokens(lookup, native=native)


def model_token_pieces(llm: Any) -> list[bytes | None]:
    """The bytes each token id of a loaded ``llama_cpp.Llama`` writes; None for special and control tokens.

    End-of-generation tokens are control tokens in the vocabularies seen; one that is not would only end
    the generation early, as it does anyway.
    """
    import llama_cpp

    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    skip = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL | llama_cpp.LLAMA_TOKEN_ATTR_UNKNOWN
    skip |= llama_cpp.LLAMA_TOKEN_ATTR_UNUSED
    size = 256
    buffer = ctypes.create_string_buffer(size)
    pieces: list[bytes | None] = []
    for token in range(int(llama_cpp.llama_vocab_n_tokens(vocab))):
        if int(llama_cpp.llama_vocab_get_attr(vocab, token)) & skip:
            pieces.append(None)
            continue
        length = int(llama_cpp.llama_token_to_piece(vocab, token, buffer, size, 0, False))
        # A negative length is a piece over 256 bytes (none seen): left out rather than cut.
        pieces.append(ctypes.string_at(buffer, length) if length > 0 else None)
    return pieces


def _default_threads() -> int:
    return max(1, min(8, os.cpu_count() or 1))


@attrs.define(order=False)
class _Job:
    request: GenerationRequest
    future: concurrent.futures.Future[GenerationResult]
    enqueued: float
    order: int = 0
    generated: list[int] = attrs.Factory(list)
    raw: bytes = b""
    layout: PromptLayout | None = None
    preempted: int = 0
    evaluated: int = 0
    healing_steps: int = 0
    """Tokens generated while the healed characters before the cursor were still being spelled."""


class Engine:
    """The single owner of the llama.cpp model and context."""

    def __init__(self, config: EngineConfig, on_event: EventCallback | None = None) -> None:
        self.config = config
        self.state = EngineState.NOT_STARTED
        self.failure = ""
        self.info: ModelInfo | None = None
        self.stats = EngineStats()
        self._on_event = on_event
        self._queue: list[tuple[int, int, _Job]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._llm: Any = None
        self._tokenizer: ModelTokenizer | None = None
        self._states: StateCache | None = None
        self._current: _Job | None = None
        self._constraint: TokenConstraint | None = None
        self._constraint_ids: Any = None
        self._closing = False
        self._ready = threading.Event()
        self._warm_texts: deque[str] = deque(maxlen=_WARM_DOCUMENTS)
        self._warm_wake = threading.Event()
        self._warm_thread: threading.Thread | None = None
        self._warm_lock = threading.Lock()
        self._warm_stopped = False

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
            if self.state in (EngineState.NOT_STARTED, EngineState.LOADING):
                self.stats.queued_while_loading += 1
            job = _Job(request, future, time.perf_counter(), next(self._seq))
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
            tokenizer = self._tokenizer
            while self._warm_texts and tokenizer is not None and not self._warm_stopped:
                tokenizer.warm(self._warm_texts.popleft(), stop=lambda: self._warm_stopped)

    def _stop_warming(self) -> None:
        """End background tokenization before the model (and its vocabulary) is freed."""
        with self._warm_lock:
            self._warm_stopped = True
            self._warm_wake.set()
            thread = self._warm_thread
        if thread is not None:
            thread.join(timeout=30)

    @property
    def tokenizer(self) -> ModelTokenizer | None:
        """The loaded model's tokenizer (thread-safe: the vocabulary is read-only); None before load."""
        return self._tokenizer

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
        if self._llm is not None:
            self._llm.close()
            self._llm = None
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

        path = resolve_model(self.config.model, progress)
        gguf = inspect_gguf(path)
        self._emit(EngineEvent("progress", EngineState.LOADING, f"Loading {path.name}", 0, None))
        import llama_cpp

        log = llama_log()
        log.recent_errors.clear()
        started = time.perf_counter()
        threads = self.config.n_threads or _default_threads()
        try:
            with _without_extra_buffer_types():
                llm = llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=self.config.n_ctx,
                    n_batch=max(self.config.prompt_batch, 8),
                    n_ubatch=max(self.config.prompt_batch, 8),
                    n_threads=threads,
                    n_threads_batch=threads,
                    use_mmap=self.config.use_mmap,
                    seed=self.config.seed,
                    verbose=False,
                )
        except (ValueError, RuntimeError, OSError) as exc:
            reason = log.explain() or str(exc)
            arch = gguf.architecture or "unknown"
            raise ModelFileError(
                f"llama.cpp could not load {path} (architecture '{arch}'): {reason}. "
                "Use a GGUF model of an architecture this llama.cpp build supports."
            ) from exc
        self._log = log
        self._llm = llm
        self._tokenizer = ModelTokenizer(llm)
        self.info = self._describe(llm, path, gguf.architecture, time.perf_counter() - started)
        self._states = StateCache(
            llm,
            hybrid=self.info.is_hybrid or self.info.is_recurrent,
            capacity=self.config.checkpoints,
            enabled=self.config.state_reuse,
        )
        logger.info(
            "model ready: %s (%s, %d tokens vocab, ctx %d, FIM %s) in %.2fs",
            self.info.name,
            self.info.architecture,
            self.info.n_vocab,
            self.info.n_ctx,
            "yes" if self.info.fim else "no",
            self.info.load_seconds,
        )
        if self.info.fim is not None:
            self._healing_index()  # ~0.4 s once, here rather than on the first mid-word request
        self._set_state(EngineState.READY, f"Model {self.info.name} ready")
        if self.info.fim is None:
            self._emit(
                EngineEvent(
                    "notice",
                    EngineState.READY,
                    f"The model {self.info.name} has no fill-in-the-middle tokens, so completions "
                    "can only use the code before the cursor and will be of lower quality. "
                    "Use a code model with FIM support (e.g. Qwen2.5-Coder or Qwen3.5) for better results.",
                )
            )

    def _describe(self, llm: Any, path: Path, arch: str | None, seconds: float) -> ModelInfo:
        import llama_cpp

        vocab = llama_cpp.llama_model_get_vocab(llm.model)
        fim = model_fim_tokens(llm)
        add_bos = bool(llama_cpp.llama_vocab_get_add_bos(vocab))
        bos_id = int(llama_cpp.llama_vocab_bos(vocab))
        metadata: dict[str, str] = dict(llm.metadata)
        name = metadata.get("general.name") or path.stem
        return ModelInfo(
            path=path,
            architecture=arch or metadata.get("general.architecture", "unknown"),
            name=name,
            n_vocab=int(llm.n_vocab()),
            n_ctx=int(llm.n_ctx()),
            fim=fim,
            is_hybrid=bool(llama_cpp.llama_model_is_hybrid(llm.model)),
            is_recurrent=bool(llama_cpp.llama_model_is_recurrent(llm.model)),
            bos=(bos_id,) if add_bos and bos_id >= 0 else (),
            load_seconds=seconds,
            eos=int(llama_cpp.llama_vocab_eos(vocab)),
            chat_template=metadata.get("tokenizer.chat_template"),
        )

    def _next_job(self) -> _Job | None:
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
            self._current = job
            try:
                result = self._run(job)
            except Exception as exc:
                logger.exception("generation failed")
                self._recover()
                result = GenerationResult("", "error", message=str(exc))
            finally:
                self._current = None
                self.stats.busy = False
                self.stats.current_label = ""
            if result is None:  # suspended for a more urgent request; it is back in the queue
                continue
            if result.stop_reason == "cancelled":
                self.stats.cancelled += 1
            elif result.stop_reason == "preempted":
                self.stats.abandoned += 1
            else:
                self.stats.completed += 1
            _resolve(job.future, result)

    def _drain(self, reason: str, message: str) -> None:
        with self._cond:
            pending = [job for _, _, job in self._queue]
            self._queue.clear()
        for job in pending:
            _resolve(job.future, GenerationResult("", reason, message=message))

    def _recover(self) -> None:
        """After a failed decode the cached state is unknown: start the next prompt from scratch."""
        if self._llm is not None:
            self._llm.reset()
        if self._states is not None:
            self._states.clear()

    def _more_urgent_waiting(self, priority: int) -> bool:
        with self._cond:
            return bool(self._queue) and self._queue[0][0] < priority

    def _should_yield(self, request: GenerationRequest) -> bool:
        return request.preemption != "none" and self._more_urgent_waiting(request.priority)

    def _suspend(self, job: _Job) -> None:
        """Put a resumable job back in the queue, keeping its place among jobs of its priority."""
        job.preempted += 1
        self.stats.preemptions += 1
        with self._cond:
            heapq.heappush(self._queue, (job.request.priority, job.order, job))
            self._cond.notify()

    def _evaluate(
        self,
        job: _Job,
        tokens: list[int],
        start: int,
        cache_points: set[int],
        prompt_size: int,
        pinned: frozenset[int] = frozenset(),
    ) -> str | None:
        """Evaluate ``tokens[start:]`` in chunks, saving checkpoints; return a stop reason if interrupted.

        Tokens past ``prompt_size`` (what a resumed job had already generated) are evaluated one at a time,
        as they were when first decoded, so a resumed job computes exactly what an uninterrupted one would.
        """
        llm = self._llm
        states = self._states
        assert states is not None
        # Only a recurrent state needs checkpoints; a KV cache is cut anywhere. Without them the prompt is
        # evaluated in whole batches: fewer decode calls, and the same prompt from the same start is split
        # the same way whatever its layout's cache points (llama.cpp's results depend on the split).
        checkpoints = states.hybrid and states.enabled
        step = max(1, self.config.prompt_batch)
        position = start
        while position < len(tokens):
            if job.request.cancel.cancelled:
                return "cancelled"
            if self._should_yield(job.request):
                return "yield"
            end = min(len(tokens), position + (step if position < prompt_size else 1))
            if position < prompt_size < end:
                end = prompt_size
            upcoming = [point for point in cache_points if position < point < end] if checkpoints else []
            if upcoming:
                end = min(upcoming)
            chunk = tokens[position:end]
            llm.eval(chunk)
            job.evaluated += len(chunk)
            self.stats.prompt_tokens_evaluated += len(chunk)
            position = end
            if checkpoints and position in cache_points:
                states.save(tokens[:position], pinned=position in pinned)
                self.stats.checkpoint_saves = states.saves
        return None

    def _run(self, job: _Job) -> GenerationResult | None:
        request = job.request
        cancel = request.cancel
        queue_ms = (time.perf_counter() - job.enqueued) * 1000
        if cancel.cancelled:
            return GenerationResult("", "cancelled", queue_ms=queue_ms)
        info = self.info
        assert info is not None and self._llm is not None and self._tokenizer is not None
        assert self._states is not None
        llm = self._llm
        states = self._states
        tokenizer = self._tokenizer
        self.stats.busy = True
        self.stats.current_label = request.label
        self.stats.current_decoded = len(job.generated)

        if job.layout is None:
            job.layout = request.build_prompt(info, self._tokenizer)
        layout = job.layout
        prompt = list(layout.tokens)
        tokens = prompt + job.generated  # a resumed job continues after what it already produced
        room = info.n_ctx - len(tokens)
        if not prompt or room < 2:
            return GenerationResult(
                "",
                "prompt_too_long",
                prompt=layout,
                queue_ms=queue_ms,
                message=f"prompt of {len(tokens)} tokens does not fit the {info.n_ctx}-token context",
            )
        max_tokens = min(request.max_tokens, room - 1)
        healing = layout.healing.encode("utf-8")
        cuts = self._natural_cuts(healing) if healing else None

        started = time.perf_counter()
        previous = states.evaluated()
        minimum = len(tokens) - min(common_prefix(previous, tokens), max(0, len(tokens) - 1))
        prepared = states.prepare(tokens)
        if prepared.how == "checkpoint":
            self.stats.checkpoint_restores = states.restores
        self.stats.kv_reused_tokens = states.kv_reused_tokens
        evaluated_before = job.evaluated
        pinned = frozenset(point for point in layout.pinned_points if 0 < point < len(prompt))
        cache_points = {point for point in layout.cache_points if 0 < point <= len(prompt)} | pinned
        cache_points.add(len(prompt) - 1)  # the same prompt again costs one token
        if job.generated:
            cache_points.add(len(tokens))
        interrupted = self._evaluate(job, tokens, prepared.position, cache_points, len(prompt), pinned)
        evaluated = job.evaluated - evaluated_before
        self.stats.minimum_prompt_tokens += minimum
        self.stats.last_minimum_prompt_tokens = minimum
        self.stats.last_prompt_tokens_evaluated = evaluated
        if request.priority == 0:
            self.stats.user_requests += 1
            self.stats.last_user_minimum_prompt_tokens = minimum
            self.stats.last_user_prompt_tokens_evaluated = evaluated
        prompt_done = time.perf_counter()

        def finish(reason: str, text: str = "") -> GenerationResult:
            return GenerationResult(
                text=text,
                stop_reason=reason,
                prompt=layout,
                generated_tokens=len(job.generated),
                prompt_tokens_evaluated=job.evaluated,
                reused_prefix_tokens=prepared.position,
                minimum_prompt_tokens=minimum,
                reuse=prepared.how,
                preempted=job.preempted,
                decoded_after_cancel=self._overrun(cancel) if reason == "cancelled" else 0,
                queue_ms=queue_ms,
                prompt_ms=(prompt_done - started) * 1000,
                decode_ms=(time.perf_counter() - prompt_done) * 1000,
            )

        if interrupted == "cancelled":
            return finish("cancelled")
        if interrupted == "yield":
            if request.preemption == "resume":
                self._suspend(job)
                return None
            return finish("preempted")
        if max_tokens <= 0:
            return finish("evaluated")

        import llama_cpp

        vocab = llama_cpp.llama_model_get_vocab(llm.model)
        llm._sampler = llm._init_sampler(temp=request.temperature, repeat_penalty=1.0)
        # Token healing: the first tokens must spell ``healing`` (characters before the cursor left out of
        # the prompt) again; only what comes after them is the completion. Tokens spent on it do not count
        # against max_tokens.
        text = job.raw[len(healing) :].decode("utf-8", errors="ignore")
        stop_reason = "max_tokens"
        try:
            while len(job.generated) < min(max_tokens + job.healing_steps, room - 1):
                if len(job.raw) < len(healing):
                    job.healing_steps += 1
                    self._constrain_next(healing, len(job.raw), cuts)
                token = int(llm.sample(temp=request.temperature, idx=llm.n_tokens - 1))
                if llama_cpp.llama_vocab_is_eog(vocab, token) or llama_cpp.llama_vocab_is_control(
                    vocab, token
                ):
                    stop_reason = "eos"
                    break
                job.raw += tokenizer.token_bytes([token], special=False)
                job.generated.append(token)
                if not (job.raw.startswith(healing) or healing.startswith(job.raw)):
                    stop_reason = "healing"  # only without a constraint: the model rewrote the word
                    text = ""
                    break
                if len(job.raw) >= len(healing):
                    text = job.raw[len(healing) :].decode("utf-8", errors="ignore")
                    if request.on_text is not None:
                        request.on_text(text)
                    if request.stop_rule is not None:
                        cut = request.stop_rule.check(text)
                        if cut is not None:
                            text = text[:cut]
                            stop_reason = "stop_rule"
                            break
                    if (
                        request.max_predict_ms > 0
                        and "\n" in text
                        and (time.perf_counter() - prompt_done) * 1000 > request.max_predict_ms
                    ):
                        text = text[: text.rfind("\n") + 1]
                        stop_reason = "time_limit"
                        break
                if len(job.generated) >= min(max_tokens + job.healing_steps, room - 1):
                    break
                if cancel.cancelled:
                    return finish("cancelled")
                if self._should_yield(request):
                    if request.preemption == "resume":
                        self._suspend(job)
                        return None
                    return finish("preempted", text)
                llm.eval([token])
                self.stats.decoded_tokens += 1
                self.stats.current_decoded += 1
        finally:
            llm._sampler = None
        return finish(stop_reason, text)

    def _healing_index(self) -> tuple[TokenConstraint, Any]:
        """The vocabulary index for token healing, built on first use (once per loaded model)."""
        if self._constraint is None:
            import numpy as np

            started = time.perf_counter()
            constraint = TokenConstraint(model_token_pieces(self._llm))
            self._constraint_ids = np.frombuffer(constraint.sorted_ids, dtype=np.intc)
            self._constraint = constraint
            logger.info(
                "token healing: indexed %d of %d tokens in %.0f ms",
                len(constraint),
                self._llm.n_vocab(),
                (time.perf_counter() - started) * 1000,
            )
        return self._constraint, self._constraint_ids

    def _natural_cuts(self, healing: bytes) -> tuple[int, ...] | None:
        """Where the model's own tokenization of the healed characters puts token boundaries."""
        # Spaces are tokenized together with what follows them ("   " + " return"): judge a run of spaces
        # with a word after it, keeping only the boundaries inside the run.
        spaces = healing[-1:] in (b" ", b"\t")
        probe = healing + b"x" if spaces else healing
        tokens = self._llm.tokenize(probe, add_bos=False, special=False)
        assert self._tokenizer is not None
        cuts = natural_cuts([self._tokenizer.token_bytes([token], special=False) for token in tokens], probe)
        if cuts is None or not spaces:
            return cuts
        return tuple(cut for cut in cuts if cut < len(healing))

    def _constrain_next(self, healing: bytes, done: int, cuts: tuple[int, ...] | None) -> bool:
        """Mask the next token's logits to those that keep spelling ``healing[done:]``; False if none can.

        Allowed: tokens that start with what is left to spell, and tokens that spell part of it up to one
        of ``cuts``. Ending anywhere else would let a short token win (`` k`` for `` ke``, the loop variable
        ``k``) and then force an unnatural rest (``exact``). Without cuts, any part is allowed.
        """
        import llama_cpp
        import numpy as np

        left = healing[done:]
        sizes = None if cuts is None else [cut - done for cut in cuts if cut > done]
        constraint, sorted_ids = self._healing_index()
        start, stop, prefix_ids = constraint.allowed_span(left, sizes)
        if start == stop and not prefix_ids and sizes is not None:
            start, stop, prefix_ids = constraint.allowed_span(left)
        if start == stop and not prefix_ids:
            logger.warning("token healing: no token can spell %r; generating without a constraint", left)
            return False
        allowed = sorted_ids[start:stop]
        if prefix_ids:
            allowed = np.concatenate((allowed, np.asarray(prefix_ids, dtype=sorted_ids.dtype)))
        n_vocab = int(self._llm.n_vocab())
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self._llm.ctx, -1), shape=(n_vocab,))
        kept = logits[allowed]
        logits.fill(-np.inf)
        logits[allowed] = kept
        return True

    def _overrun(self, cancel: CancelToken) -> int:
        at_cancel = cancel.decoded_at_cancel
        overrun = 0 if at_cancel is None else max(0, self.stats.decoded_tokens - at_cancel)
        self.stats.last_decoded_after_cancel = overrun
        self.stats.max_decoded_after_cancel = max(self.stats.max_decoded_after_cancel, overrun)
        logger.debug("generation cancelled (%s); %d token(s) decoded after cancel", cancel.reason, overrun)
        return overrun


def _resolve(future: concurrent.futures.Future[GenerationResult], result: GenerationResult) -> None:
    """Set a result unless the requester already gave up on the future (a race the worker must survive)."""
    if future.done():
        return
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        future.set_result(result)
