"""Model state reuse: the KV-cache prefix for attention models, recurrent-state checkpoints for hybrids.

What the user sees: a keystroke costs only the tokens that changed, not the whole prompt again.

Attention-only models (llama, Qwen2.5) keep their KV cache; the longest common token prefix with the next
prompt is kept and the rest dropped. Hybrid models (Qwen3.5's ``qwen35``: Gated DeltaNet + attention)
cannot drop a suffix of their recurrent state, so the engine saves small recurrent-state checkpoints
(``llama_state_seq_get_data_ext`` with the partial-only flag) at the positions where the next prompt is
likely to diverge, and restores the nearest one that is a prefix of the next prompt, trimming the
attention KV cache back to it. Only the engine's worker thread calls into this module.
"""

from __future__ import annotations

import ctypes
import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import attrs

from lsp_server.memory import ENTRY_OVERHEAD, CacheSize, tokens_bytes
from lsp_server.prompt.fim import common_prefix

logger = logging.getLogger(__name__)

# llama.h: LLAMA_STATE_SEQ_FLAGS_PARTIAL_ONLY: only the partial (recurrent / SWA) state of a sequence.
PARTIAL_ONLY = 1
SEQ = 0


@attrs.frozen
class Checkpoint:
    """The recurrent state after evaluating ``prefix`` (a token list), kept in host memory."""

    prefix: tuple[int, ...]
    data: Any  # ctypes uint8 array

    @property
    def position(self) -> int:
        """Number of tokens the state has consumed."""
        return len(self.prefix)

    @property
    def nbytes(self) -> int:
        """Size of the saved state."""
        return int(ctypes.sizeof(self.data))


@attrs.frozen
class Prepared:
    """How much of a new prompt is already in the model state, and how it got there."""

    position: int
    how: str  # "kv" | "append" | "checkpoint" | "cold"


class StateCache:
    """Positions the model state for a new prompt with as little re-evaluation as possible."""

    def __init__(
        self, llm: Any, *, hybrid: bool, capacity: int = 8, pinned: int = 2, enabled: bool = True
    ) -> None:
        import llama_cpp

        self._llama_cpp = llama_cpp
        self._llm = llm
        self.hybrid = hybrid
        self.enabled = enabled
        self.capacity = max(1, capacity)
        self.pinned_capacity = max(0, pinned)
        self._checkpoints: OrderedDict[tuple[int, ...], Checkpoint] = OrderedDict()
        # The fronts of the last places typed in: every keystroke there starts with one, so typing (which
        # makes many checkpoints) never evicts them.
        self._pinned: OrderedDict[tuple[int, ...], Checkpoint] = OrderedDict()
        self.restores = 0
        self.saves = 0
        self.kv_reused_tokens = 0

    @property
    def checkpoints(self) -> list[Checkpoint]:
        """Saved checkpoints, oldest first (the pinned ones first)."""
        return [*self._pinned.values(), *self._checkpoints.values()]

    def evaluated(self) -> list[int]:
        """The tokens the model state currently holds, in order."""
        llm = self._llm
        tokens: list[int] = llm.input_ids[: llm.n_tokens].tolist()
        return tokens

    def prepare(self, tokens: Sequence[int]) -> Prepared:
        """Bring the state to the longest reusable prefix of ``tokens`` (never all: logits are needed)."""
        llm = self._llm
        limit = max(0, len(tokens) - 1)
        if not self.enabled:
            llm.reset()
            return Prepared(0, "cold")
        lcp = min(common_prefix(self.evaluated(), tokens), limit)
        if lcp > 0 and lcp == llm.n_tokens:
            self.kv_reused_tokens += lcp
            return Prepared(lcp, "append")
        if not self.hybrid:
            memory = self._llama_cpp.llama_get_memory(llm.ctx)
            if lcp > 0 and self._llama_cpp.llama_memory_seq_rm(memory, SEQ, lcp, -1):
                llm.n_tokens = lcp
                self.kv_reused_tokens += lcp
                return Prepared(lcp, "kv")
            llm.reset()
            return Prepared(0, "cold")
        checkpoint = self._best(tokens, lcp)
        if checkpoint is not None and self._restore(checkpoint):
            return Prepared(checkpoint.position, "checkpoint")
        llm.reset()
        return Prepared(0, "cold")

    def _best(self, tokens: Sequence[int], limit: int) -> Checkpoint | None:
        best: Checkpoint | None = None
        for checkpoint in self.checkpoints:
            position = checkpoint.position
            if position > limit or (best is not None and position <= best.position):
                continue
            if tuple(tokens[:position]) == checkpoint.prefix:
                best = checkpoint
        return best

    def _restore(self, checkpoint: Checkpoint) -> bool:
        llm = self._llm
        lib = self._llama_cpp
        read = lib.llama_state_seq_set_data_ext(
            llm.ctx, checkpoint.data, ctypes.sizeof(checkpoint.data), SEQ, PARTIAL_ONLY
        )
        if not read:
            logger.warning("recurrent-state checkpoint at %d could not be restored", checkpoint.position)
            self._checkpoints.pop(checkpoint.prefix, None)
            self._pinned.pop(checkpoint.prefix, None)
            return False
        # The recurrent state now ends at the checkpoint; drop attention KV entries after it.
        memory = lib.llama_get_memory(llm.ctx)
        if not lib.llama_memory_seq_rm(memory, SEQ, checkpoint.position, -1):
            logger.warning("attention KV could not be trimmed to %d", checkpoint.position)
            return False
        llm.n_tokens = checkpoint.position
        for kept in (self._pinned, self._checkpoints):
            if checkpoint.prefix in kept:
                kept.move_to_end(checkpoint.prefix)
        self.restores += 1
        return True

    def save(self, tokens: Sequence[int], *, pinned: bool = False) -> None:
        """Save a checkpoint of the current state, which must have consumed exactly ``tokens``.

        ``pinned``: a place's front, kept apart from (and never evicted by) the others.
        """
        if not (self.hybrid and self.enabled):
            return
        prefix = tuple(tokens)
        kept = self._pinned if pinned and self.pinned_capacity else self._checkpoints
        if prefix in kept:
            kept.move_to_end(prefix)
            return
        if kept is self._pinned and prefix in self._checkpoints:
            kept[prefix] = self._checkpoints.pop(prefix)
            return
        llm = self._llm
        lib = self._llama_cpp
        size = int(lib.llama_state_seq_get_size_ext(llm.ctx, SEQ, PARTIAL_ONLY))
        if size <= 0:
            return
        data = (ctypes.c_uint8 * size)()
        written = int(lib.llama_state_seq_get_data_ext(llm.ctx, data, size, SEQ, PARTIAL_ONLY))
        if written <= 0:
            return
        kept[prefix] = Checkpoint(prefix, data)
        self.saves += 1
        limit = self.pinned_capacity if kept is self._pinned else self.capacity
        while len(kept) > limit:
            kept.popitem(last=False)

    def size(self) -> CacheSize:
        """Bytes of the recurrent-state checkpoints held (with their token prefixes), and how many."""
        held = self.checkpoints
        total = sum(point.nbytes + tokens_bytes(point.prefix) + ENTRY_OVERHEAD for point in held)
        return CacheSize(total, len(held))

    def clear(self) -> None:
        """Forget every checkpoint (after an error leaves the state unknown)."""
        self._checkpoints.clear()
        self._pinned.clear()
