"""What the engine's worker hands a backend: a job, and the contract a backend keeps.

The worker (``lsp_server.engine.engine``) owns the queue, priorities, preemption and cancellation; a
backend owns the model and runs one job at a time on the worker's thread. A backend asks
``control.should_yield()`` between prompt chunks and tokens and, for a job whose request is resumable,
returns ``None`` to be put back in the queue with what it has generated so far kept on the job.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable
from typing import Protocol

import attrs

from lsp_server.memory import CacheSize
from lsp_server.model_api import (
    CancelToken,
    EngineStats,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    PromptLayout,
    Tokenizer,
)

logger = logging.getLogger(__name__)

Progress = Callable[[int, int | None, str], None]
"""Loading progress: (done, total or None, message)."""


@attrs.define(order=False)
class Job:
    """One queued request and what the backend has done for it so far (kept across a suspension)."""

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


class BackendUnavailable(Exception):
    """The model is out of reach for now (a remote server down, slow, refusing the key).

    The worker answers requests with "unavailable" meanwhile, tells the user once, and tries again with
    backoff.
    """


class Control(Protocol):
    """What a running job may ask the worker."""

    @property
    def stats(self) -> EngineStats:
        """The engine's counters; the backend adds what it evaluates and decodes."""

    def should_yield(self, request: GenerationRequest) -> bool:
        """Whether a more urgent request waits and this one gives way to it."""


class Backend(Protocol):
    """A model the worker drives: loaded once, then one job at a time, all on the worker's thread."""

    @property
    def tokenizer(self) -> Tokenizer | None:
        """The loaded model's tokenizer (safe from any thread); None before load."""

    def load(self, progress: Progress) -> ModelInfo:
        """Load the model (raises ``ModelFileError`` with a message for the user when it cannot)."""

    def run(self, job: Job, control: Control) -> GenerationResult | None:
        """Run ``job`` (or resume it); None: it gave way to a more urgent request and is to be resumed."""

    def recover(self) -> None:
        """After a failed run the model's state is unknown: make the next run start from scratch."""

    def warm(self, text: str, stop: Callable[[], bool]) -> None:
        """Tokenize ``text``'s lines ahead of need (any thread; may do nothing)."""

    def cache_sizes(self) -> dict[str, CacheSize]:
        """What the backend's caches hold (by name), for ``qwenLsp/stats``."""

    def close(self) -> None:
        """Free the model."""


def record_overrun(stats: EngineStats, cancel: CancelToken) -> int:
    """Tokens decoded after ``cancel`` was set (how fast the backend noticed), recorded in ``stats``."""
    at_cancel = cancel.decoded_at_cancel
    overrun = 0 if at_cancel is None else max(0, stats.decoded_tokens - at_cancel)
    stats.last_decoded_after_cancel = overrun
    stats.max_decoded_after_cancel = max(stats.max_decoded_after_cancel, overrun)
    logger.debug("generation cancelled (%s); %d token(s) decoded after cancel", cancel.reason, overrun)
    return overrun
