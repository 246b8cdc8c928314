"""The latency engine: state reuse gives exactly the cold result, costs only the changed tokens,
and cancellation / preemption act between tokens. Real models, greedy decoding."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lsp_server.engine.engine import Engine
from lsp_server.engine.llama.backend import LlamaBackend, LlamaConfig
from lsp_server.engine.model_source import ModelSpec
from lsp_server.model_api import GenerationRequest, GenerationResult, ModelInfo, PromptLayout, Tokenizer
from lsp_server.postprocess.stops import single_line_stop
from lsp_server.prompt.fim import build_fim_prompt

SOURCE = (
    "import os\n\n\ndef list_python_files(folder):\n    names = os.listdir(folder)\n"
    "    return [name for name in names if name.endswith('.py')]\n\n\n"
    "def total_size(paths):\n    size = 0\n    for path in paths:\n        size += os.path.getsize(path)\n"
    "    return size\n"
)


def typing_session() -> list[tuple[str, str]]:
    """(prefix, suffix) pairs as an editor produces them: typing a line char by char, then a jump."""
    anchor = SOURCE.index("    return size")
    prefix, suffix = SOURCE[:anchor], SOURCE[anchor:]
    steps = []
    typed = "    print(size, len(paths))\n"
    for count in range(1, len(typed) + 1, 2):
        steps.append((prefix + typed[:count], suffix))
    middle = SOURCE.index("names = os.listdir")
    steps.append((SOURCE[:middle], SOURCE[middle:]))  # the cursor jumps elsewhere
    steps.append((SOURCE[:middle] + "n", SOURCE[middle:]))
    return steps


def engine_for(path: Path, *, reuse: bool) -> Engine:
    engine = Engine(
        LlamaBackend(LlamaConfig(model=ModelSpec(path=path), n_ctx=1024, state_reuse=reuse, prompt_batch=16))
    )
    engine.start()
    assert engine.wait_ready(600), engine.failure
    return engine


def request(prefix: str, suffix: str, max_tokens: int = 12) -> GenerationRequest:
    def build(info: ModelInfo, tokenize: Tokenizer) -> PromptLayout:
        return build_fim_prompt(
            prefix, suffix, fim=info.fim, tokenize=tokenize, prefix_budget=400, suffix_budget=64, bos=info.bos
        )

    return GenerationRequest(build_prompt=build, max_tokens=max_tokens, stop_rule=single_line_stop())


@pytest.fixture(params=["smollm2", "qwen35"])
def model(request: pytest.FixtureRequest, smollm2_path: Path, qwen35_path: Path) -> Path:
    return smollm2_path if request.param == "smollm2" else qwen35_path


@pytest.fixture
def engines(model: Path) -> Iterator[tuple[Engine, Engine]]:
    warm, cold = engine_for(model, reuse=True), engine_for(model, reuse=False)
    yield warm, cold
    warm.close()
    cold.close()


def run(engine: Engine, prefix: str, suffix: str) -> GenerationResult:
    return engine.submit(request(prefix, suffix)).result(timeout=600)


def test_reuse_path_equals_cold_path_and_costs_only_new_tokens(engines: tuple[Engine, Engine]) -> None:
    warm, cold = engines
    evaluated = minimum = 0
    for prefix, suffix in typing_session():
        reused = run(warm, prefix, suffix)
        fresh = run(cold, prefix, suffix)
        assert reused.text == fresh.text, (prefix[-30:], reused.reuse)
        assert fresh.reuse == "cold"
        evaluated += reused.prompt_tokens_evaluated
        minimum += reused.minimum_prompt_tokens
    assert minimum > 0
    assert evaluated <= 1.2 * minimum, (evaluated, minimum)
    assert warm.info is not None
    if warm.info.is_hybrid:
        assert warm.stats.checkpoint_restores > 0
    else:
        assert warm.stats.kv_reused_tokens > 0


def test_cancel_stops_within_one_token(smollm2_path: Path) -> None:
    engine = engine_for(smollm2_path, reuse=True)
    try:
        started = threading.Event()
        long = request("class Matrix:\n    ", "", max_tokens=400)
        long.stop_rule = None

        def on_text(text: str) -> None:
            if len(text) > 10:
                started.set()

        long.on_text = on_text
        future = engine.submit(long)
        assert started.wait(600)
        long.cancel.cancel()
        result = future.result(timeout=600)
        assert result.stop_reason == "cancelled"
        assert result.decoded_after_cancel <= 1
    finally:
        engine.close()


def test_urgent_request_preempts_and_resumable_job_resumes(smollm2_path: Path) -> None:
    engine = engine_for(smollm2_path, reuse=True)
    try:
        reference = request("class Matrix:\n    ", "", max_tokens=60)
        reference.stop_rule = None
        expected = engine.submit(reference).result(timeout=600).text

        started = threading.Event()
        action = request("class Matrix:\n    ", "", max_tokens=60)
        action.stop_rule = None
        action.priority = 10
        action.preemption = "resume"
        action.on_text = lambda text: started.set() if len(text) > 5 else None
        action_future = engine.submit(action)
        assert started.wait(600)
        urgent = engine.submit(request("import os\n\nprint(os.path.", ""))
        assert urgent.result(timeout=600).stop_reason in ("stop_rule", "max_tokens", "eos")
        resumed = action_future.result(timeout=600)
        assert resumed.preempted >= 1
        assert resumed.text == expected  # suspended between tokens and resumed: same greedy text
    finally:
        engine.close()


def test_speculation_is_abandoned_for_a_real_request(smollm2_path: Path) -> None:
    engine = engine_for(smollm2_path, reuse=True)
    try:
        started = threading.Event()
        speculation = request("class Matrix:\n    ", "", max_tokens=400)
        speculation.stop_rule = None
        speculation.priority = 20
        speculation.preemption = "abandon"
        speculation.on_text = lambda text: started.set() if len(text) > 5 else None
        speculative = engine.submit(speculation)
        assert started.wait(600)
        real = engine.submit(request("import os\n\nprint(os.path.", ""))
        assert speculative.result(timeout=600).stop_reason == "preempted"
        assert real.result(timeout=600).stop_reason in ("stop_rule", "max_tokens", "eos")
        assert engine.stats.abandoned == 1
    finally:
        engine.close()


def test_a_time_limit_ends_a_multi_line_suggestion_after_its_first_whole_line(smollm2_path: Path) -> None:
    engine = engine_for(smollm2_path, reuse=True)
    try:
        unlimited = request("class Matrix:\n    ", "", max_tokens=120)
        unlimited.stop_rule = None
        full = engine.submit(unlimited).result(timeout=600)
        assert full.stop_reason == "max_tokens" and full.text.count("\n") >= 2
        limited = request("class Matrix:\n    ", "", max_tokens=120)
        limited.stop_rule = None
        limited.max_predict_ms = 0.001  # over at once: the first whole line ends it
        result = engine.submit(limited).result(timeout=600)
        assert result.stop_reason == "time_limit"
        assert result.text == full.text[: full.text.index("\n") + 1]
        assert result.generated_tokens < full.generated_tokens
    finally:
        engine.close()
