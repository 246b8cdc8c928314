"""The remote backends: a model served by llama-server, or by any OpenAI-compatible server.

What the user sees: ``qwen-lsp serve --remote URL`` loads no model here; suggestions and code actions come
from the server (a team's GPU box, vLLM, Ollama, a hosted API) with the same prompts, budgets and
post-processing as the in-process engine. With llama-server the prompt goes as the very token ids the
in-process engine would evaluate (``/completion``, ``cache_prompt``, the server routing each editor to
the slot that holds its cache), token healing through a grammar; with an OpenAI-compatible server the FIM
prompt goes as text (``/v1/completions``). Code actions use ``/v1/chat/completions`` on both. Everything
streams, and a cancelled or superseded request closes its stream, which stops the server's generation.

The worker (``lsp_server.engine.engine``) keeps the queue and priorities; an unreachable server raises
``BackendUnavailable`` and the worker answers "unavailable" with backoff until it is back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import attrs

from lsp_server.engine.jobs import BackendUnavailable, Control, Job, Progress, record_overrun
from lsp_server.engine.remote.http import Cancelled, Endpoint, HttpClient, RemoteError, Stream
from lsp_server.engine.remote.tokenizers import ServerTokenizer, TextTokenizer, answer_list, fim_spellings
from lsp_server.memory import CacheSize
from lsp_server.model_api import FimTokens, GenerationResult, ModelInfo, Tokenizer
from lsp_server.prompt.fim import detect_fim_tokens
from lsp_server.prompt.styles import reasoning_tokens
from lsp_server.prompt.token_cache import DEFAULT_MAX_BYTES

logger = logging.getLogger(__name__)

APIS = ("llama", "openai")


@attrs.frozen
class RemoteConfig:
    """Where the model server is and how to use it."""

    url: str
    api: str = "auto"
    model: str | None = None
    api_key: str = attrs.field(default="", repr=False)
    timeout: float = 30.0
    slot: int | None = None
    fim: str = "auto"
    n_ctx: int = 4096
    """Context size to assume when the server does not say."""
    vocabulary: Path | None = None
    """A local GGUF of the same model: tokenize with its vocabulary here instead of asking the server."""
    token_cache_bytes: int = DEFAULT_MAX_BYTES
    cache_prompt: bool = True
    """llama-server's prompt cache (off: every prompt evaluated whole, as a cold in-process engine does;
    for exact comparisons, since llama.cpp's results depend on how a prompt is split into batches)."""


def healing_grammar(healing: str) -> str:
    """A GBNF grammar whose output starts by spelling ``healing`` again, then anything."""
    out = []
    for char in healing:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02X}")
        else:
            out.append(char)
    return f'root ::= "{"".join(out)}" .*'


def detect_api(client: HttpClient) -> str:
    """Which API the server speaks: llama-server answers ``/props`` with its generation settings."""
    try:
        props = client.get("/props")
    except RemoteError as exc:
        if exc.kind in ("request", "model"):  # 404 and the like: not llama-server
            return "openai"
        raise
    return "llama" if isinstance(props, dict) and "default_generation_settings" in props else "openai"


class RemoteBackend:
    """A model served elsewhere (``jobs.Backend``): llama-server's API or the OpenAI-compatible one."""

    def __init__(self, config: RemoteConfig) -> None:
        self.config = config
        self.client = HttpClient(Endpoint(config.url, config.api_key, config.timeout))
        self.api = config.api if config.api in APIS else ""
        self.info: ModelInfo | None = None
        self.model = config.model or ""
        self.slot = -1
        self._tokenizer: Tokenizer | None = None
        self._control: set[int] = set()
        """Control tokens the server may write (FIM markers, end of text): generation stops at them."""

    @property
    def tokenizer(self) -> Tokenizer | None:
        """The tokenizer prompts are built with (the server's, a local vocabulary, or the estimate)."""
        return self._tokenizer

    def describe(self) -> dict[str, Any]:
        """What ``qwenLsp/stats`` and ``doctor`` show: the server, its API, model and slot (never the key)."""
        return {"url": self.client.endpoint.shown, "api": self.api, "model": self.model, "slot": self.slot}

    # --- load ----------------------------------------------------------------------------------

    def load(self, progress: Progress) -> ModelInfo:
        """Reach the server, learn its API, model and context size, and get a tokenizer."""
        progress(0, None, f"Connecting to {self.client.endpoint.shown}")
        try:
            if not self.api:
                self.api = detect_api(self.client)
            self.info = self._load_llama() if self.api == "llama" else self._load_openai()
        except RemoteError as exc:
            if exc.kind == "config":
                raise
            raise BackendUnavailable(str(exc)) from exc
        logger.info(
            "remote model ready: %s via %s (%s API, ctx %d, FIM %s, slot %s)",
            self.info.name,
            self.client.endpoint.shown,
            self.api,
            self.info.n_ctx,
            self.info.fim.spelling if self.info.fim else "no",
            self.slot,
        )
        return self.info

    def _vocabulary(self) -> tuple[Tokenizer, FimTokens | None, str] | None:
        """Tokenizer, FIM tokens and architecture from the local GGUF, if one is set (vocabulary only)."""
        if self.config.vocabulary is None:
            return None
        from lsp_server.engine.llama.probe import read_tokenizer

        return read_tokenizer(self.config.vocabulary, self.config.token_cache_bytes)

    def _load_llama(self) -> ModelInfo:
        started = time.perf_counter()
        props = self.client.get("/props")
        if not isinstance(props, dict):
            raise RemoteError("request", "llama-server's /props did not answer an object")
        settings = props.get("default_generation_settings") or {}
        n_ctx = int(settings.get("n_ctx") or self.config.n_ctx)
        total = int(props.get("total_slots") or 1)
        if self.config.slot is not None:
            if self.config.slot >= total:
                raise RemoteError(
                    "config", f"model.remote.slot is {self.config.slot} but the server has {total} slot(s)"
                )
            self.slot = self.config.slot
        else:
            # -1: llama-server gives each request the idle slot whose cache shares the most with its prompt
            # (--slot-prompt-similarity), so an editor keeps finding its own cache and never waits behind a
            # busy slot while another is idle; a slot fixed from a hash would collide (two of eight editors
            # share one of eight slots with 99.8% chance).
            self.slot = -1
        model_path = str(props.get("model_path") or "")
        self.model = self.model or Path(model_path).stem or "llama-server"
        local = self._vocabulary()
        if local is not None:
            self._tokenizer, fim, architecture = local
        else:
            tokenizer = ServerTokenizer(self.client, self.config.token_cache_bytes)
            self._tokenizer = tokenizer
            fim = detect_fim_tokens(self._special_lookup(tokenizer))
            architecture = "unknown"
        bos = self._bos()
        self._control = self._control_tokens(fim, bos)
        return ModelInfo(
            path=Path(model_path or self.client.endpoint.shown),
            architecture=architecture,
            name=self.model,
            n_vocab=0,
            n_ctx=n_ctx,
            fim=fim,
            is_hybrid=False,
            is_recurrent=False,
            bos=bos,
            load_seconds=time.perf_counter() - started,
            chat_template=props.get("chat_template") or None,
            reasoning_tokens=reasoning_tokens(self._special_lookup(self._tokenizer)),
        )

    @staticmethod
    def _special_lookup(tokenizer: Tokenizer) -> Callable[[str], int | None]:
        def lookup(text: str) -> int | None:
            ids = tokenizer.with_special(text)
            if len(ids) != 1 or tokenizer.detokenize(ids) != text:
                return None
            return ids[0]

        return lookup

    def _control_tokens(self, fim: FimTokens | None, bos: tuple[int, ...]) -> set[int]:
        known = {*bos}
        if fim is not None:
            known |= {
                fim.prefix,
                fim.suffix,
                fim.middle,
                *(t for t in (fim.repo_name, fim.file_sep) if t is not None),
            }
        tokenizer = self._tokenizer
        assert tokenizer is not None
        for text in _CONTROL_SPELLINGS:
            ids = tokenizer.with_special(text)
            if len(ids) == 1 and tokenizer.detokenize(ids) == text:
                known.add(ids[0])
        return known

    def _bos(self) -> tuple[int, ...]:
        """The token llama-server puts first when asked to add special tokens (none for Qwen)."""
        plain = self.client.post("/tokenize", {"content": "a", "add_special": False})
        special = self.client.post("/tokenize", {"content": "a", "add_special": True})
        with_bos, without = answer_list(special, "tokens"), answer_list(plain, "tokens")
        extra = len(with_bos) - len(without)
        return tuple(int(token) for token in with_bos[:extra]) if extra > 0 else ()

    def _load_openai(self) -> ModelInfo:
        started = time.perf_counter()
        listed = answer_list(self.client.get("/v1/models"), "data")
        names = [str(entry.get("id")) for entry in listed if isinstance(entry, dict) and entry.get("id")]
        if not self.model:
            if not names:
                raise RemoteError("model", "the server lists no model; set model.remote.model")
            self.model = names[0]
        elif names and self.model not in names:
            shown = ", ".join(names[:8]) + (" ..." if len(names) > 8 else "")
            raise RemoteError(
                "model", f"the server does not serve the model {self.model!r} (it serves: {shown})"
            )
        entry = next((item for item in listed if isinstance(item, dict) and item.get("id") == self.model), {})
        meta = _dict(entry.get("meta"))
        n_ctx = int(
            entry.get("max_model_len")
            or entry.get("context_length")
            or meta.get("n_ctx_train")
            or self.config.n_ctx
        )
        local = self._vocabulary()
        if local is not None:
            self._tokenizer, fim, architecture = local
        else:
            spellings = fim_spellings(self.config.fim, self.model)
            tokenizer = TextTokenizer(spellings or ())
            self._tokenizer = tokenizer
            fim = None
            if spellings is not None:
                ids = [tokenizer.special_id(text) for text in spellings]
                pre, suf, mid = (int(token) for token in ids if token is not None)
                fim = FimTokens(pre, suf, mid, spelling=spellings[0])
            architecture = "unknown"
        return ModelInfo(
            path=Path(self.model),
            architecture=architecture,
            name=Path(self.model).name or self.model,
            n_vocab=0,
            n_ctx=n_ctx,
            fim=fim,
            is_hybrid=False,
            is_recurrent=False,
            bos=(),
            load_seconds=time.perf_counter() - started,
            token_healing=False,
            prefill=False,
            # token ids only mean something with the model's own vocabulary
            reasoning_tokens=() if local is None else reasoning_tokens(self._special_lookup(self._tokenizer)),
        )

    # --- run -----------------------------------------------------------------------------------

    def run(self, job: Job, control: Control) -> GenerationResult | None:
        """Send the job to the server and stream the answer, stopping it on cancel or a more urgent job."""
        request = job.request
        queue_ms = (time.perf_counter() - job.enqueued) * 1000
        if request.cancel.cancelled:
            return GenerationResult("", "cancelled", queue_ms=queue_ms)
        assert self.info is not None and self._tokenizer is not None
        control.stats.busy = True
        control.stats.current_label = request.label
        control.stats.current_decoded = len(job.generated)
        try:
            return self._run(job, control, queue_ms)
        except RemoteError as exc:
            if exc.temporary:
                raise BackendUnavailable(str(exc)) from exc
            return GenerationResult("", "error", prompt=job.layout, queue_ms=queue_ms, message=str(exc))

    def _run(self, job: Job, control: Control, queue_ms: float) -> GenerationResult | None:
        request = job.request
        info = self.info
        tokenizer = self._tokenizer
        assert info is not None and tokenizer is not None
        if job.layout is None:
            job.layout = request.build_prompt(info, tokenizer)
        layout = job.layout
        # No grammar on an OpenAI-compatible server (ModelInfo.token_healing is off, so completions never
        # heal there): whatever a caller healed goes back into the prompt text (``_request_body``).
        healing = layout.healing if self.api == "llama" else ""
        loose = ""
        prompt_size = layout.size
        room = info.n_ctx - prompt_size
        if not layout.tokens or room < 2:
            return GenerationResult(
                "",
                "prompt_too_long",
                prompt=layout,
                queue_ms=queue_ms,
                message=f"prompt of {prompt_size} tokens does not fit the {info.n_ctx}-token context",
            )
        max_tokens = max(1, min(request.max_tokens, room - 1))
        started = time.perf_counter()
        cancel = request.cancel

        def stop() -> bool:
            return cancel.cancelled or control.should_yield(request)

        raw = job.raw.decode("utf-8", errors="ignore")
        text = raw[len(healing) :]
        reason = "max_tokens"
        first_token = 0.0
        timings: dict[str, Any] = {}
        prompt_n = 0
        while True:
            # llama-server: while the healed characters are not spelled yet, one token per request under
            # a grammar that allows only tokens continuing them (as the in-process engine masks logits);
            # then the rest without a grammar (its prompt cache makes the extra request cost one token).
            healing_step = self.api == "llama" and len(raw) < len(healing)
            path, body = self._request_body(job, max_tokens, healing[len(raw) :] if healing_step else "", raw)
            prompt_text = body.get("prompt")
            if self.api != "llama" and isinstance(prompt_text, str) and not raw:
                # Spaces after code at the very end ("x = ") are left out (a lone trailing space token
                # misleads a BPE model) and dropped from the answer when the model writes them again.
                last = prompt_text[prompt_text.rfind("\n") + 1 :]
                loose = last[len(last.rstrip(" \t")) :] if last.strip() else ""
                if loose:
                    body["prompt"] = prompt_text[: -len(loose)]
            try:
                stream = self.client.stream(path, body, stop)
            except Cancelled:
                stream = None
            pieces = self._pieces(stream)
            withheld: list[int] = []
            for piece, tokens, final in pieces:
                if final:
                    reason = str(final.pop("stop_reason", reason))
                    timings = final
                    if not withheld:
                        continue
                    # The server holds back tokens that end inside a UTF-8 character and never sends their
                    # text if generation stops there; the in-process engine keeps their whole characters.
                    piece = tokenizer.token_bytes(withheld, special=False).decode("utf-8", "ignore")
                    withheld = []
                elif self._control.intersection(tokens):
                    reason = "eos"  # a control token (FIM marker, end of text): the in-process engine stops
                    break
                elif tokens and not piece:
                    withheld.extend(tokens)
                elif piece:
                    withheld = []
                if not first_token:
                    first_token = time.perf_counter()
                # A byte that is no whole UTF-8 character comes as U+FFFD; the in-process engine drops it.
                raw += piece.replace("\ufffd", "")
                if loose and raw:
                    if raw.startswith(loose):
                        raw, loose = raw[len(loose) :], ""
                    elif not loose.startswith(raw):
                        loose = ""  # the model went on without the space: the document has it already
                    else:
                        continue
                job.generated.extend(tokens)
                if healing_step:
                    job.healing_steps += max(1, len(tokens))
                decoded = max(1, len(tokens)) if piece or tokens else 0
                control.stats.decoded_tokens += decoded
                control.stats.current_decoded += decoded
                if not (raw.startswith(healing) or healing.startswith(raw)):
                    text, reason = "", "healing"  # (the grammar makes this impossible)
                    break
                if len(raw) < len(healing):
                    continue
                text = raw[len(healing) :]
                if request.on_text is not None:
                    request.on_text(text)
                if request.stop_rule is not None:
                    cut = request.stop_rule.check(text)
                    if cut is not None:
                        text, reason = text[:cut], "stop_rule"
                        break
                if (
                    request.max_predict_ms > 0
                    and "\n" in text
                    and (time.perf_counter() - (first_token or started)) * 1000 > request.max_predict_ms
                ):
                    text, reason = text[: text.rfind("\n") + 1], "time_limit"
                    break
            if stream is not None:
                stream.close()  # the server stops generating for a client that went away
            pieces.close()
            prompt_n += int(timings.get("prompt_n", 0) or 0)
            if not (healing_step and reason == "max_tokens" and job.generated and not stop()):
                break
        job.raw = raw.encode("utf-8")
        if cancel.cancelled:
            reason = "cancelled"
        elif reason not in ("stop_rule", "time_limit") and control.should_yield(request):
            if request.preemption == "resume":
                # The chat API cannot continue a half-written answer: a resumed action starts again
                # (the server's prompt cache makes that cheap); a completion continues after its tokens.
                if request.messages is not None:
                    job.raw, job.generated = b"", []
                return None
            reason = "preempted"
        control.stats.prompt_tokens_evaluated += prompt_n
        job.evaluated += prompt_n
        done = time.perf_counter()
        return GenerationResult(
            text=text,
            stop_reason=reason,
            prompt=layout,
            generated_tokens=len(job.generated) if job.generated else int(timings.get("predicted_n", 0) or 0),
            prompt_tokens_evaluated=job.evaluated,
            reused_prefix_tokens=int(timings.get("cached_n", 0) or 0),
            minimum_prompt_tokens=0,
            reuse=f"remote:{self.api}",
            preempted=job.preempted,
            decoded_after_cancel=record_overrun(control.stats, cancel) if reason == "cancelled" else 0,
            queue_ms=queue_ms,
            prompt_ms=((first_token or done) - started) * 1000,
            decode_ms=(done - (first_token or done)) * 1000,
        )

    def _request_body(self, job: Job, max_tokens: int, healing: str, raw: str) -> tuple[str, dict[str, Any]]:
        """The endpoint and body for the job's next request (``healing``: characters still to spell)."""
        request = job.request
        layout = job.layout
        assert layout is not None and self._tokenizer is not None
        sampling: dict[str, Any] = {"temperature": request.temperature, "stream": True}
        if request.temperature <= 0:
            sampling.update(temperature=0.0, top_k=1)
        info = self.info
        assert info is not None
        messages = request.messages
        if messages is None and layout.messages and self.api != "llama":
            # a chat-style completion: the server's chat endpoint (it cannot open the answer; see prefill)
            messages = [{"role": role, "content": content} for role, content in layout.messages]
        if info.reasoning_tokens:
            sampling["logit_bias"] = (
                [[token, False] for token in info.reasoning_tokens]
                if self.api == "llama"
                else {str(token): -100 for token in info.reasoning_tokens}
            )
        if messages is not None:
            body: dict[str, Any] = {"messages": messages, "max_tokens": max_tokens, **sampling}
            if self.api == "llama":
                body["chat_template_kwargs"] = {"enable_thinking": False}
                body["cache_prompt"] = self.config.cache_prompt
            else:
                body["model"] = self.model
                body.pop("top_k", None)
            return "/v1/chat/completions", body
        if self.api == "llama":
            body = {
                "prompt": [*layout.tokens, *job.generated],
                "n_predict": 1 if healing else max(1, max_tokens + job.healing_steps - len(job.generated)),
                "cache_prompt": self.config.cache_prompt,
                "id_slot": self.slot,
                "return_tokens": True,
                "samplers": ["top_k", "temperature"] if request.temperature <= 0 else None,
                **sampling,
            }
            if body["samplers"] is None:
                del body["samplers"]
            if healing:
                body["grammar"] = healing_grammar(healing)
            return "/completion", body
        text = self._tokenizer.detokenize(list(layout.tokens)) + layout.healing
        body = {
            "model": self.model,
            "prompt": text + raw,  # a resumed job continues after what it wrote
            "max_tokens": max(1, max_tokens - len(job.generated)),
            **sampling,
        }
        body.pop("top_k", None)
        if not self.config.cache_prompt:
            body["cache_prompt"] = False  # (llama-server's extension; only sent when asked for)
        return "/v1/completions", body

    def _pieces(self, stream: Stream | None) -> Generator[tuple[str, list[int], dict[str, Any] | None]]:
        """(text, token ids, None) per streamed piece; then ({}, [], final facts) once the server ends."""
        if stream is None:
            return
        for event in stream.events():
            choices = event.get("choices")
            if isinstance(choices, list):  # OpenAI-compatible (completions or chat)
                choice = choices[0] if choices and isinstance(choices[0], dict) else {}
                delta = choice.get("delta")
                piece = choice.get("text")
                if isinstance(delta, dict):
                    piece = delta.get("content")
                if piece:
                    yield str(piece), [], None
                finish = choice.get("finish_reason")
                if finish:
                    facts = _facts(_dict(event.get("timings")))
                    yield "", [], {"stop_reason": _OPENAI_REASONS.get(str(finish), "eos"), **facts}
                continue
            piece = str(event.get("content") or "")
            tokens = [int(token) for token in answer_list(event, "tokens")]
            if piece or tokens:
                yield piece, tokens, None
            if event.get("stop"):
                facts = _facts(_dict(event.get("timings")))
                facts["stop_reason"] = _LLAMA_REASONS.get(str(event.get("stop_type", "")), "eos")
                yield "", [], facts

    # --- the rest of jobs.Backend ---------------------------------------------------------------

    def recover(self) -> None:
        """Nothing is kept between requests here (the server keeps its own cache)."""

    def warm(self, text: str, stop: Callable[[], bool]) -> None:
        """Tokenize ``text``'s lines ahead of need when the tokenizer caches them."""
        warm = getattr(self._tokenizer, "warm", None)
        if warm is not None:
            warm(text, stop)

    def cache_sizes(self) -> dict[str, CacheSize]:
        """The token cache (when the tokenizer has one)."""
        tokenizer = self._tokenizer
        if isinstance(tokenizer, ServerTokenizer):
            return {"tokens": tokenizer.cache_size()}
        cache = getattr(tokenizer, "cache", None)
        return {"tokens": cache.size()} if cache is not None else {}

    def close(self) -> None:
        """Nothing to free: the model lives in the server."""


_CONTROL_SPELLINGS = ("<|endoftext|>", "<|fim_pad|>", "<|im_end|>", "<|im_start|>", "<|end_of_text|>", "</s>")
_LLAMA_REASONS = {"eos": "eos", "limit": "max_tokens", "word": "stop"}
_OPENAI_REASONS = {"stop": "eos", "length": "max_tokens"}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _facts(timings: dict[str, Any]) -> dict[str, Any]:
    return {key: timings[key] for key in ("prompt_n", "predicted_n", "cache_n") if key in timings} | (
        {"cached_n": timings["cache_n"]} if "cache_n" in timings else {}
    )
