"""The engine's worker (queue, priorities, preemption, cancel, load failure) with a scripted backend.

No GGUF: ``ScriptedBackend`` implements ``jobs.Backend`` with a character tokenizer and answers from a
script, one character per token, so each rule of the worker is checked on its own and fast. The same
engine then serves the completion scheduler (``CompletionService``) as any ``model_api.Engine`` would.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lsp_server.completion import CompletionPlan, plan_completion
from lsp_server.document import DocumentSnapshot
from lsp_server.engine.engine import Engine
from lsp_server.engine.gguf_check import ModelFileError
from lsp_server.engine.jobs import Control, Job, Progress
from lsp_server.memory import CacheSize
from lsp_server.model_api import (
    CancelToken,
    EngineEvent,
    EngineState,
    FimTokens,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    PromptLayout,
    PromptPiece,
    Tokenizer,
)
from lsp_server.scheduling import CompletionService
from lsp_server.settings import CompletionSettings


class CharTokenizer:
    """One token per character (its code point): enough for prompts the scripted backend reads back."""

    def __call__(self, text: str) -> list[int]:
        return [ord(ch) for ch in text]

    def count(self, text: str) -> int:
        return len(text)

    def with_special(self, text: str) -> list[int]:
        return self(text)

    def detokenize(self, tokens: list[int]) -> str:
        return "".join(chr(token) for token in tokens)

    def token_bytes(self, tokens: list[int], *, special: bool) -> bytes:
        return self.detokenize(tokens).encode("utf-8")


class ScriptedBackend:
    """Answers each prompt with ``answer(prompt text)``, one character per token, ``delay`` s per token."""

    def __init__(
        self,
        answer: Callable[[str], str] = lambda prompt: "x" * 40,
        *,
        delay: float = 0.002,
        fail_load: str = "",
        fim: bool = True,
    ) -> None:
        self.answer = answer
        self.delay = delay
        self.fail_load = fail_load
        self.fim = fim
        self.runs: list[str] = []
        self.recovered = 0
        self.warmed: list[str] = []
        self.closed = False
        self.explode_on = ""
        self._tokenizer: CharTokenizer | None = None
        self.info: ModelInfo | None = None

    @property
    def tokenizer(self) -> Tokenizer | None:
        return self._tokenizer

    def load(self, progress: Progress) -> ModelInfo:
        progress(0, None, "Loading the script")
        if self.fail_load:
            raise ModelFileError(self.fail_load)
        self._tokenizer = CharTokenizer()
        fim = FimTokens(prefix=1, suffix=2, middle=3) if self.fim else None
        self.info = ModelInfo(
            Path("script.gguf"), "script", "Script", 0x110000, 4096, fim, False, False, (), 0.0
        )
        return self.info

    def run(self, job: Job, control: Control) -> GenerationResult | None:
        request = job.request
        if request.cancel.cancelled:
            return GenerationResult("", "cancelled")
        assert self._tokenizer is not None and self.info is not None
        if job.layout is None:
            job.layout = request.build_prompt(self.info, self._tokenizer)
        prompt = self._tokenizer.detokenize(list(job.layout.tokens))
        if prompt == self.explode_on:
            raise RuntimeError("the scripted model broke")
        self.runs.append(request.label)
        # The characters before the cursor that the prompt left out (token healing) are spelled first.
        healing = len(job.layout.healing)
        answer = job.layout.healing + self.answer(prompt)
        while len(job.generated) < min(request.max_tokens + healing, len(answer)):
            if request.cancel.cancelled:
                return GenerationResult(self._text(job), "cancelled", job.layout, len(job.generated))
            if control.should_yield(request):
                if request.preemption == "resume":
                    return None
                return GenerationResult(self._text(job), "preempted", job.layout, len(job.generated))
            time.sleep(self.delay)
            job.generated.append(ord(answer[len(job.generated)]))
            control.stats.decoded_tokens += 1
            text = self._text(job)
            if request.on_text is not None:
                request.on_text(text)
            if request.stop_rule is not None and (cut := request.stop_rule.check(text)) is not None:
                return GenerationResult(text[:cut], "stop_rule", job.layout, len(job.generated))
        reason = "max_tokens" if len(job.generated) >= request.max_tokens + healing else "eos"
        return GenerationResult(
            self._text(job), reason, job.layout, len(job.generated), preempted=job.preempted
        )

    def _text(self, job: Job) -> str:
        assert job.layout is not None
        return "".join(chr(token) for token in job.generated)[len(job.layout.healing) :]

    def recover(self) -> None:
        self.recovered += 1

    def warm(self, text: str, stop: Callable[[], bool]) -> None:
        self.warmed.append(text)

    def cache_sizes(self) -> dict[str, CacheSize]:
        return {}

    def close(self) -> None:
        self.closed = True


def text_prompt(text: str) -> Callable[[ModelInfo, Tokenizer], PromptLayout]:
    def build(info: ModelInfo, tokenize: Tokenizer) -> PromptLayout:
        tokens = tuple(tokenize(text))
        return PromptLayout(tokens, (PromptPiece("text", len(tokens)),), fim=False)

    return build


def request(text: str, **kwargs: Any) -> GenerationRequest:
    return GenerationRequest(**{"build_prompt": text_prompt(text), "max_tokens": 40, "label": text, **kwargs})


Start = Callable[[ScriptedBackend], Engine]


@pytest.fixture
def started() -> Iterator[Callable[[ScriptedBackend], Engine]]:
    engines: list[Engine] = []

    def start(backend: ScriptedBackend) -> Engine:
        engine = Engine(backend)
        engines.append(engine)
        engine.start()
        assert engine.wait_ready(10), engine.failure
        return engine

    yield start
    for engine in engines:
        engine.close()


def test_answers_and_counts(started: Callable[[ScriptedBackend], Engine]) -> None:
    backend = ScriptedBackend(lambda prompt: prompt.upper())
    engine = started(backend)
    result = engine.submit(request("abc")).result(10)
    assert (result.text, result.stop_reason, result.generated_tokens) == ("ABC", "eos", 3)
    assert engine.stats.completed == 1 and engine.stats.decoded_tokens == 3
    assert engine.info is not None and engine.info.name == "Script"
    assert engine.tokenizer is not None and engine.tokenizer("hi") == [104, 105]


def test_waiting_requests_run_by_priority_then_in_order(started: Callable[[ScriptedBackend], Engine]) -> None:
    backend = ScriptedBackend(delay=0.01)
    engine = started(backend)
    first = engine.submit(request("busy", max_tokens=5))
    time.sleep(0.02)  # the worker is on "busy"; the others queue behind it
    later = [
        engine.submit(request(label, priority=priority)) for label, priority in [("c", 5), ("a", 0), ("b", 0)]
    ]
    for future in [first, *later]:
        future.result(10)
    assert backend.runs == ["busy", "a", "b", "c"]


def test_cancel_stops_within_a_token(started: Callable[[ScriptedBackend], Engine]) -> None:
    backend = ScriptedBackend(lambda prompt: "y" * 400, delay=0.005)
    engine = started(backend)
    cancel = CancelToken()
    seen = threading.Event()
    future = engine.submit(request("long", max_tokens=400, cancel=cancel, on_text=lambda text: seen.set()))
    assert seen.wait(10)
    cancel.cancel("superseded")
    result = future.result(10)
    assert result.stop_reason == "cancelled"
    assert result.generated_tokens < 400
    assert engine.stats.cancelled == 1
    assert cancel.decoded_at_cancel is not None
    assert engine.stats.decoded_tokens - cancel.decoded_at_cancel <= 1


def test_a_cancelled_request_that_waits_never_runs(started: Callable[[ScriptedBackend], Engine]) -> None:
    backend = ScriptedBackend(delay=0.01)
    engine = started(backend)
    busy = engine.submit(request("busy", max_tokens=10))
    cancel = CancelToken()
    waiting = engine.submit(request("waiting", cancel=cancel))
    cancel.cancel()
    busy.result(10)
    assert waiting.result(10).stop_reason == "cancelled"
    assert backend.runs == ["busy"]


def test_speculation_is_abandoned_for_a_keystroke(started: Callable[[ScriptedBackend], Engine]) -> None:
    backend = ScriptedBackend(lambda prompt: "s" * 400 if prompt == "speculate" else "k", delay=0.005)
    engine = started(backend)
    seen = threading.Event()
    speculation = engine.submit(
        request(
            "speculate", max_tokens=400, priority=20, preemption="abandon", on_text=lambda text: seen.set()
        )
    )
    assert seen.wait(10)
    keystroke = engine.submit(request("key"))
    abandoned = speculation.result(10)
    assert abandoned.stop_reason == "preempted" and 0 < abandoned.generated_tokens < 400
    assert keystroke.result(10).text == "k"
    assert backend.runs == ["speculate", "key"]
    assert engine.stats.abandoned == 1 and engine.stats.completed == 1


def test_a_code_action_is_suspended_and_resumed_whole(started: Callable[[ScriptedBackend], Engine]) -> None:
    explanation = "".join(chr(ord("a") + i % 26) for i in range(120))
    backend = ScriptedBackend(lambda prompt: explanation if prompt == "explain" else "k", delay=0.003)
    engine = started(backend)
    seen = threading.Event()
    action = engine.submit(
        request("explain", max_tokens=200, priority=10, preemption="resume", on_text=lambda text: seen.set())
    )
    assert seen.wait(10)
    keystroke = engine.submit(request("key"))
    assert keystroke.result(10).text == "k"
    resumed = action.result(10)
    assert resumed.text == explanation and resumed.stop_reason == "eos"
    assert resumed.preempted == 1 and engine.stats.preemptions == 1
    assert backend.runs == ["explain", "key", "explain"]


def test_a_request_that_does_not_give_way_is_waited_for(started: Callable[[ScriptedBackend], Engine]) -> None:
    backend = ScriptedBackend(lambda prompt: "z" * 30, delay=0.003)
    engine = started(backend)
    seen = threading.Event()
    first = engine.submit(request("first", priority=10, on_text=lambda text: seen.set()))
    assert seen.wait(10)
    second = engine.submit(request("second"))
    assert first.result(10).text == "z" * 30
    assert second.result(10).text == "z" * 30
    assert engine.stats.preemptions == 0 and engine.stats.abandoned == 0


def test_a_failing_run_is_an_error_result_and_the_worker_goes_on(
    started: Callable[[ScriptedBackend], Engine],
) -> None:
    backend = ScriptedBackend(lambda prompt: "ok")
    backend.explode_on = "boom"
    engine = started(backend)
    broken = engine.submit(request("boom")).result(10)
    assert broken.stop_reason == "error" and "broke" in broken.message
    assert backend.recovered == 1
    assert engine.submit(request("fine")).result(10).text == "ok"


def test_a_model_that_cannot_load_fails_every_request_with_its_message() -> None:
    events: list[EngineEvent] = []
    backend = ScriptedBackend(fail_load="The model file /m.gguf is truncated.")
    engine = Engine(backend, events.append)
    queued = engine.submit(request("early"))  # submitted before the load: it waits, then fails
    engine.start()
    assert not engine.wait_ready(10)
    assert engine.state is EngineState.FAILED and "truncated" in engine.failure
    early = queued.result(10)
    assert early.stop_reason == "not_ready" and "truncated" in early.message
    late = engine.submit(request("late")).result(10)
    assert late.stop_reason == "not_ready" and "truncated" in late.message
    assert [event.state for event in events if event.kind == "state"] == [
        EngineState.LOADING,
        EngineState.FAILED,
    ]
    assert engine.stats.queued_while_loading == 1
    engine.close()
    assert backend.closed and backend.runs == []


def test_a_model_without_fim_tokens_is_noticed_once(started: Callable[[ScriptedBackend], Engine]) -> None:
    events: list[EngineEvent] = []
    backend = ScriptedBackend(fim=False)
    engine = Engine(backend, events.append)
    engine.start()
    assert engine.wait_ready(10)
    notices = [event.message for event in events if event.kind == "notice"]
    assert len(notices) == 1 and "fill-in-the-middle" in notices[0]
    engine.close()


def test_close_ends_waiting_requests_and_frees_the_model(
    started: Callable[[ScriptedBackend], Engine],
) -> None:
    backend = ScriptedBackend(lambda prompt: "w" * 1000, delay=0.005)
    engine = started(backend)
    running = engine.submit(request("running", max_tokens=1000))
    waiting = engine.submit(request("waiting"))
    time.sleep(0.05)
    engine.close()
    assert running.result(10).stop_reason == "cancelled"
    assert waiting.result(10).stop_reason == "not_ready"
    assert backend.closed and engine.state is EngineState.CLOSED
    assert engine.submit(request("after")).result(10).stop_reason == "not_ready"


def test_documents_are_warmed_after_the_load(started: Callable[[ScriptedBackend], Engine]) -> None:
    backend = ScriptedBackend()
    engine = started(backend)
    engine.warm_tokens("import os\n")
    deadline = time.monotonic() + 10
    while not backend.warmed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert backend.warmed == ["import os\n"]


async def test_the_completion_scheduler_runs_on_any_engine(
    started: Callable[[ScriptedBackend], Engine],
) -> None:
    """CompletionService takes a ``model_api.Engine``: here the scripted one, through the real pipeline."""
    prompts: list[str] = []

    def answer(prompt: str) -> str:
        prompts.append(prompt)
        return "path.join(a, b)\nprint(1)\n"

    backend = ScriptedBackend(answer)
    engine = started(backend)
    settings = CompletionSettings()
    text = "import os\n\nx = os.\n\nprint(x)\n"
    plan = plan_completion(DocumentSnapshot("file:///t.py", "python", 1, text), 2, 7, settings)
    assert isinstance(plan, CompletionPlan), plan
    service = CompletionService(lambda: engine, lambda: settings)
    try:
        completion = await asyncio.wait_for(service.complete(plan), 10)
    finally:
        service.shutdown()
    assert completion is not None
    assert completion.text == "path.join(a, b)"
    assert backend.runs[0] == "inline completion (single_line)"  # (a speculation may follow it)
    assert "\x01" in prompts[0] and "print(x)" in prompts[0]  # a FIM prompt with the code below the cursor
