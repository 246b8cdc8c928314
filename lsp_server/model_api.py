"""The model interface: plain types and Protocols that every part of the server talks to the model through.

Context, prompts, scheduling, actions and the LSP layer import this module, never a backend: a request is a
``GenerationRequest`` (a prompt builder, limits, a stop rule, a cancel token), the answer a
``GenerationResult``, and an ``Engine`` is anything that takes requests and hands back futures. The
in-process llama.cpp engine (``lsp_server.engine``) is one implementation; nothing here imports it, llama.cpp
or pygls.
"""

from __future__ import annotations

import concurrent.futures
import enum
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import attrs

from lsp_server.memory import CacheSize


@attrs.frozen
class FimTokens:
    """The token ids a model uses to mark the parts of a fill-in-the-middle prompt."""

    prefix: int
    suffix: int
    middle: int
    repo_name: int | None = None
    file_sep: int | None = None
    spelling: str = ""


@attrs.frozen
class PromptPiece:
    """One named part of a prompt and how many tokens it took (for provenance and logs)."""

    name: str
    tokens: int


@attrs.frozen
class PromptLayout:
    """The exact token list sent to the model, with the parts it is made of."""

    tokens: tuple[int, ...]
    pieces: tuple[PromptPiece, ...]
    fim: bool
    cache_points: tuple[int, ...] = ()
    """Token positions where the next prompt is likely to diverge (the cursor line's start and the last
    few tokens before the cursor): a hybrid model checkpoints its recurrent state there."""
    healing: str = ""
    """Characters before the cursor left out of the prompt (token healing): the engine makes the model
    spell them again first and returns only what it writes after them."""
    pinned_points: tuple[int, ...] = ()
    """Cache points every later prompt of the same place starts with (the end of its stable front): a
    hybrid model keeps these checkpoints apart, so typing never evicts them."""
    messages: tuple[tuple[str, str], ...] = ()
    """A chat prompt's messages as (role, content), for engines that take messages rather than tokens
    (an OpenAI-compatible server's chat endpoint); empty for other prompts."""
    prefill: str = ""
    """Text that opens the model's answer in a chat prompt (at the end of ``tokens``): what the model
    writes continues it. An engine that cannot send it reports the layout it sent without it."""

    @property
    def size(self) -> int:
        """Total prompt length in tokens."""
        return len(self.tokens)


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
    token_healing: bool = True
    """Whether the engine can make the model spell healed characters again (a logit mask or a grammar);
    an OpenAI-compatible server cannot, so its prompts keep every character up to the cursor."""
    prefill: bool = True
    """Whether a chat prompt can open the model's answer with given text (an OpenAI-compatible chat
    endpoint cannot: the model answers from the start)."""
    reasoning_tokens: tuple[int, ...] = ()
    """Tokens that open or close a reasoning block (``<think>``, ``</think>``) in the model's vocabulary:
    the engine never lets the model write them (thinking is off in every prompt the server builds)."""


class CancelToken:
    """Set by the requester; checked by the engine between tokens."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""
        self.decoded_at_cancel: int | None = None
        self._counter: Callable[[], int] | None = None

    def bind(self, counter: Callable[[], int]) -> None:
        """Attach the engine's decoded-token counter so the cancel moment is recorded."""
        self._counter = counter

    def cancel(self, reason: str = "cancelled") -> None:
        """Ask the engine to stop this request."""
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


class Tokenizer(Protocol):
    """The model's tokenizer as handed to prompt builders: call it for plain text."""

    def __call__(self, text: str) -> list[int]:
        """Tokenize plain text: special-token spellings stay ordinary text (safe for user code)."""

    def count(self, text: str) -> int:
        """How many tokens plain ``text`` is."""

    def with_special(self, text: str) -> list[int]:
        """Tokenize text containing special tokens (``<|im_start|>`` ...), e.g. a rendered chat."""

    def detokenize(self, tokens: list[int]) -> str:
        """Text of ``tokens`` (special tokens rendered)."""

    def token_bytes(self, tokens: list[int], *, special: bool) -> bytes:
        """The bytes ``tokens`` write, each piece whole."""


PromptBuilder = Callable[[ModelInfo, Tokenizer], PromptLayout]
"""Builds a request's prompt once the model is known (it runs on the engine's worker)."""


@attrs.define
class GenerationRequest:
    """One piece of work for the model: a prompt (built on the worker with its tokenizer) and limits."""

    build_prompt: PromptBuilder
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
    messages: list[dict[str, str]] | None = None
    """The chat messages ``build_prompt`` renders (code actions): a remote engine sends these to the
    server's chat endpoint instead of a locally rendered prompt."""
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
    unavailable: int = 0
    """Requests answered empty because a remote model server was out of reach."""


@attrs.frozen
class EngineEvent:
    """A change the LSP layer may want to show: loading progress, ready, failure, notices."""

    kind: str  # "progress" | "state" | "notice" | "unavailable" | "available"
    state: EngineState
    message: str
    done: int = 0
    total: int | None = None


EventCallback = Callable[[EngineEvent], None]


class Engine(Protocol):
    """What the server needs from a model engine: submit requests, follow its life, read its counters."""

    @property
    def state(self) -> EngineState:
        """Where the engine is in its life."""

    @property
    def failure(self) -> str:
        """Why loading failed ("" unless the state is FAILED)."""

    @property
    def info(self) -> ModelInfo | None:
        """The loaded model; None before it is loaded."""

    @property
    def stats(self) -> EngineStats:
        """Counters (requests, tokens evaluated and decoded, cache reuse)."""

    @property
    def tokenizer(self) -> Tokenizer | None:
        """The loaded model's tokenizer (safe from any thread); None before load."""

    def start(self) -> None:
        """Start loading the model in the background; requests queue until it is ready."""

    def submit(self, request: GenerationRequest) -> concurrent.futures.Future[GenerationResult]:
        """Queue a request; the future resolves with its result (never raises for model errors)."""

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the model is loaded (True) or loading failed / timed out (False)."""

    def warm_tokens(self, text: str) -> None:
        """Tokenize a document's lines in the background, off the request path (a hint; may do nothing)."""

    def cache_sizes(self) -> dict[str, CacheSize]:
        """What the engine's caches hold, by name (bytes, entries, bound)."""

    def close(self) -> None:
        """Stop serving and free the model; pending requests end with ``not_ready``."""
