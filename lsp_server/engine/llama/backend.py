"""The in-process llama.cpp backend: one loaded model and context, driven by the engine's worker thread.

What the user sees: the first suggestion arrives as soon as the model is loaded, later ones reuse what the
model has already read (the KV cache, or recurrent-state checkpoints for hybrid models), and a cancelled or
superseded request stops the model within one token. This package is the only place that imports llama_cpp.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs

from lsp_server.engine.gguf_check import ModelFileError, inspect_gguf
from lsp_server.engine.jobs import Control, Job, Progress, record_overrun
from lsp_server.engine.llama.state_cache import StateCache
from lsp_server.engine.llama.tokenizer import LlamaTokenizer
from lsp_server.engine.model_source import ModelSpec, resolve_model
from lsp_server.memory import CacheSize
from lsp_server.model_api import FimTokens, GenerationResult, ModelInfo
from lsp_server.prompt.fim import common_prefix, detect_fim_tokens
from lsp_server.prompt.healing import TokenConstraint, natural_cuts
from lsp_server.prompt.styles import reasoning_tokens
from lsp_server.prompt.token_cache import DEFAULT_MAX_BYTES

logger = logging.getLogger(__name__)


@attrs.frozen
class LlamaConfig:
    """How the model is loaded and run."""

    model: ModelSpec
    n_ctx: int = 4096
    n_threads: int | None = None
    prompt_batch: int = 64
    use_mmap: bool = False
    seed: int = 0
    state_reuse: bool = True
    checkpoints: int = 8
    gpu_layers: int | None = None
    """Layers offloaded to the GPU (-1: all); None: all when the build can offload, else 0."""
    flash_attention: str = "auto"
    """"on", "off", or "auto" (on when layers are offloaded or the KV cache is quantized)."""
    kv_cache_type: str = "f16"
    token_cache_bytes: int = DEFAULT_MAX_BYTES


@attrs.frozen
class Acceleration:
    """What the load actually uses, resolved from the settings and the build (shown by doctor and stats)."""

    gpu_offload_supported: bool
    gpu_layers: int
    flash_attention: bool
    kv_cache_type: str


_KV_TYPES = {"f16": "GGML_TYPE_F16", "q8_0": "GGML_TYPE_Q8_0", "q4_0": "GGML_TYPE_Q4_0"}


def resolve_acceleration(
    gpu_layers: int | None, flash_attention: str, kv_cache_type: str, *, gpu_offload_supported: bool
) -> Acceleration:
    """The GPU layers, flash attention and KV-cache type a load uses, on a build that can (not) offload."""
    if gpu_layers is None:
        layers = -1 if gpu_offload_supported else 0
    else:
        layers = gpu_layers if gpu_offload_supported else 0
    if flash_attention == "auto":
        flash = layers != 0 or kv_cache_type != "f16"
    else:
        flash = flash_attention == "on"
    return Acceleration(gpu_offload_supported, layers, flash, kv_cache_type)


def _sampler_chain(temperature: float, seed: int) -> Any:
    """A llama.cpp sampler chain for one generation (free it with ``llama_sampler_free``).

    Greedy at temperature 0; above it the chain ``Llama.sample`` builds (top-k 40, typical 1, top-p 0.95,
    min-p 0.05, temperature, seeded draw), kept for the whole generation instead of rebuilt per token.
    """
    import llama_cpp

    chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
    if temperature <= 0:
        llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_greedy())
        return chain
    for stage in (
        llama_cpp.llama_sampler_init_top_k(40),
        llama_cpp.llama_sampler_init_typical(1.0, 1),
        llama_cpp.llama_sampler_init_top_p(0.95, 1),
        llama_cpp.llama_sampler_init_min_p(0.05, 1),
        llama_cpp.llama_sampler_init_temp(temperature),
        llama_cpp.llama_sampler_init_dist(seed),
    ):
        llama_cpp.llama_sampler_chain_add(chain, stage)
    return chain


def _default_threads() -> int:
    return max(1, min(8, os.cpu_count() or 1))


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


def token_lookup(llm: Any) -> Callable[[str], int | None]:
    """Finds the id of the one token of a loaded ``llama_cpp.Llama`` that spells exactly a text."""

    def lookup(text: str) -> int | None:
        ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        if len(ids) != 1:
            return None
        piece = llm.detokenize(ids, special=True).decode("utf-8", errors="replace")
        return int(ids[0]) if piece == text else None

    return lookup


def model_fim_tokens(llm: Any) -> FimTokens | None:
    """The FIM marker tokens of a loaded ``llama_cpp.Llama``: llama.cpp's detection, then known spellings."""
    import llama_cpp

    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    native = (
        int(llama_cpp.llama_vocab_fim_pre(vocab)),
        int(llama_cpp.llama_vocab_fim_suf(vocab)),
        int(llama_cpp.llama_vocab_fim_mid(vocab)),
    )
    return detect_fim_tokens(token_lookup(llm), native=native)


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


class LlamaBackend:
    """The single owner of the llama.cpp model and context (``jobs.Backend``)."""

    def __init__(self, config: LlamaConfig) -> None:
        self.config = config
        self.info: ModelInfo | None = None
        self._llm: Any = None
        self._log: LlamaLog | None = None
        self._tokenizer: LlamaTokenizer | None = None
        self._states: StateCache | None = None
        self._constraint: TokenConstraint | None = None
        self._constraint_ids: Any = None
        self.acceleration: Acceleration | None = None

    @property
    def tokenizer(self) -> LlamaTokenizer | None:
        """The loaded model's tokenizer (thread-safe: the vocabulary is read-only); None before load."""
        return self._tokenizer

    def warm(self, text: str, stop: Callable[[], bool]) -> None:
        """Put the lines of ``text`` in the token cache (llama.cpp's tokenizer runs without the GIL)."""
        if self._tokenizer is not None:
            self._tokenizer.warm(text, stop)

    def cache_sizes(self) -> dict[str, CacheSize]:
        """The token cache and the recurrent-state checkpoints."""
        sizes: dict[str, CacheSize] = {}
        if self._tokenizer is not None:
            sizes["tokens"] = self._tokenizer.cache.size()
        if self._states is not None:
            sizes["checkpoints"] = self._states.size()
        return sizes

    def close(self) -> None:
        """Free the model and its context."""
        if self._llm is not None:
            self._llm.close()
            self._llm = None

    def load(self, progress: Progress) -> ModelInfo:
        """Find (or download) the GGUF, check it, and load it with llama.cpp."""
        path = resolve_model(self.config.model, progress)
        gguf = inspect_gguf(path)
        progress(0, None, f"Loading {path.name}")
        import llama_cpp

        log = llama_log()
        log.recent_errors.clear()
        started = time.perf_counter()
        threads = self.config.n_threads or _default_threads()
        config = self.config
        self.acceleration = accel = resolve_acceleration(
            config.gpu_layers,
            config.flash_attention,
            config.kv_cache_type,
            gpu_offload_supported=bool(llama_cpp.llama_supports_gpu_offload()),
        )
        if self.config.gpu_layers not in (None, 0) and not accel.gpu_offload_supported:
            logger.warning(
                "model.gpuLayers is %s but this llama.cpp build cannot offload to a GPU: running on the CPU "
                "(rebuild llama-cpp-python with CMAKE_ARGS, see README)",
                self.config.gpu_layers,
            )
        kv_type = int(getattr(llama_cpp, _KV_TYPES.get(accel.kv_cache_type, "GGML_TYPE_F16")))
        try:
            with _without_extra_buffer_types():
                llm = llama_cpp.Llama(
                    model_path=str(path),
                    n_gpu_layers=accel.gpu_layers,
                    flash_attn=accel.flash_attention,
                    type_k=kv_type,
                    type_v=kv_type,
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
        self._tokenizer = LlamaTokenizer(llm, cache_bytes=self.config.token_cache_bytes)
        self.info = self._describe(llm, path, gguf.architecture, time.perf_counter() - started)
        self._states = StateCache(
            llm,
            hybrid=self.info.is_hybrid or self.info.is_recurrent,
            capacity=self.config.checkpoints,
            enabled=self.config.state_reuse,
        )
        logger.info(
            "model ready: %s (%s, %d tokens vocab, ctx %d, FIM %s, GPU layers %s, flash attention %s, "
            "KV cache %s) in %.2fs",
            self.info.name,
            self.info.architecture,
            self.info.n_vocab,
            self.info.n_ctx,
            "yes" if self.info.fim else "no",
            "all" if accel.gpu_layers == -1 else accel.gpu_layers,
            "on" if accel.flash_attention else "off",
            accel.kv_cache_type,
            self.info.load_seconds,
        )
        if self.info.fim is not None:
            self._healing_index()  # ~0.4 s once, here rather than on the first mid-word request
        return self.info

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
            reasoning_tokens=reasoning_tokens(token_lookup(llm)),
        )

    def recover(self) -> None:
        """After a failed decode the cached state is unknown: start the next prompt from scratch."""
        if self._llm is not None:
            self._llm.reset()
        if self._states is not None:
            self._states.clear()

    def _evaluate(
        self,
        job: Job,
        control: Control,
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
            if control.should_yield(job.request):
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
            control.stats.prompt_tokens_evaluated += len(chunk)
            position = end
            if checkpoints and position in cache_points:
                states.save(tokens[:position], pinned=position in pinned)
                control.stats.checkpoint_saves = states.saves
        return None

    def run(self, job: Job, control: Control) -> GenerationResult | None:
        """Evaluate the job's prompt (reusing what the model state already holds), then decode."""
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
        control.stats.busy = True
        control.stats.current_label = request.label
        control.stats.current_decoded = len(job.generated)

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
            control.stats.checkpoint_restores = states.restores
        control.stats.kv_reused_tokens = states.kv_reused_tokens
        evaluated_before = job.evaluated
        pinned = frozenset(point for point in layout.pinned_points if 0 < point < len(prompt))
        cache_points = {point for point in layout.cache_points if 0 < point <= len(prompt)} | pinned
        cache_points.add(len(prompt) - 1)  # the same prompt again costs one token
        if job.generated:
            cache_points.add(len(tokens))
        interrupted = self._evaluate(
            job, control, tokens, prepared.position, cache_points, len(prompt), pinned
        )
        evaluated = job.evaluated - evaluated_before
        control.stats.minimum_prompt_tokens += minimum
        control.stats.last_minimum_prompt_tokens = minimum
        control.stats.last_prompt_tokens_evaluated = evaluated
        if request.priority == 0:
            control.stats.user_requests += 1
            control.stats.last_user_minimum_prompt_tokens = minimum
            control.stats.last_user_prompt_tokens_evaluated = evaluated
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
                decoded_after_cancel=record_overrun(control.stats, cancel) if reason == "cancelled" else 0,
                queue_ms=queue_ms,
                prompt_ms=(prompt_done - started) * 1000,
                decode_ms=(time.perf_counter() - prompt_done) * 1000,
            )

        if interrupted == "cancelled":
            return finish("cancelled")
        if interrupted == "yield":
            if request.preemption == "resume":
                return None
            return finish("preempted")
        if max_tokens <= 0:
            return finish("evaluated")

        import llama_cpp

        vocab = llama_cpp.llama_model_get_vocab(llm.model)
        sampler = _sampler_chain(request.temperature, self.config.seed)
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
                if info.reasoning_tokens:
                    self._ban_next(info.reasoning_tokens)
                token = int(llama_cpp.llama_sampler_sample(sampler, llm.ctx, -1))
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
                if control.should_yield(request):
                    if request.preemption == "resume":
                        return None
                    return finish("preempted", text)
                llm.eval([token])
                control.stats.decoded_tokens += 1
                control.stats.current_decoded += 1
        finally:
            llama_cpp.llama_sampler_free(sampler)
        return finish(stop_reason, text)

    def _ban_next(self, tokens: tuple[int, ...]) -> None:
        """Never sample ``tokens`` next (the reasoning block's tokens: thinking is off everywhere)."""
        import llama_cpp
        import numpy as np

        n_vocab = int(self._llm.n_vocab())
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self._llm.ctx, -1), shape=(n_vocab,))
        logits[list(tokens)] = -np.inf

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
