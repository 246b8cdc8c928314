"""The remote backends against a real llama-server (built from the llama.cpp vendored in llama-cpp-python).

The same request gives the same text through llama-server's API, its OpenAI-compatible API and the
in-process engine (greedy, same GGUF); a cancel stops the server's own generation; an unreachable server
is reported as "unavailable" and the engine recovers once it is back. Real models, no mocks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.llama_server import LlamaServer
from lsp_server.engine.engine import Engine
from lsp_server.engine.llama.backend import LlamaBackend, LlamaConfig
from lsp_server.engine.model_source import ModelSpec
from lsp_server.engine.remote.backend import RemoteBackend, RemoteConfig
from lsp_server.model_api import EngineEvent, GenerationRequest, PromptLayout
from lsp_server.prompt.chat import chat_prompt
from tests.remote_fixtures import API_KEY, running_server
from tests.test_engine_reuse import typing_session
from tests.test_token_healing import healed_request

CHAT = [
    {"role": "system", "content": "You explain Python code in one sentence."},
    {"role": "user", "content": "What does `len([1, 2, 3])` return?"},
]


def fim_request(prefix: str, suffix: str, *, heal: bool = False, max_tokens: int = 12) -> GenerationRequest:
    return healed_request(prefix, suffix, heal=heal, max_tokens=max_tokens)


def started(engine: Engine) -> Engine:
    engine.start()
    assert engine.wait_ready(300), engine.failure
    return engine


def remote_engine(
    server: LlamaServer, api: str, *, vocabulary: Path | None = None, cache_prompt: bool = True
) -> Engine:
    config = RemoteConfig(
        url=server.url, api=api, api_key=API_KEY, timeout=30, vocabulary=vocabulary, cache_prompt=cache_prompt
    )
    return Engine(RemoteBackend(config))


@pytest.fixture(scope="module", params=["smollm2", "qwen35"])
def served(
    request: pytest.FixtureRequest,
    smollm2_path: Path,
    qwen35_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, LlamaServer]]:
    model = smollm2_path if request.param == "smollm2" else qwen35_path
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    for server in running_server(model, log):
        yield model, server


@pytest.fixture(scope="module")
def local(served: tuple[Path, LlamaServer]) -> Iterator[Engine]:
    model, _ = served
    # One batch per prompt, as llama-server evaluates one (its results depend on the split).
    backend = LlamaBackend(
        LlamaConfig(model=ModelSpec(path=model), n_ctx=1024, prompt_batch=512, state_reuse=False)
    )
    engine = started(Engine(backend))
    yield engine
    engine.close()


@pytest.mark.parametrize("api", ["llama", "openai"])
def test_remote_completion_equals_in_process(
    served: tuple[Path, LlamaServer], local: Engine, api: str
) -> None:
    model, server = served
    if api == "openai" and "qwen35" in model.name:
        pytest.skip(
            "the OpenAI API takes the prompt as text, and the tiny qwen35's synthetic vocabulary does not"
        )
        # tokenize its own text back to the same ids (real BPE vocabularies do: SmolLM2 is compared)
    # The OpenAI API has no tokenizer endpoint: given the model's GGUF, prompts are budgeted with its
    # vocabulary (and sent as text); the llama API asks the server's /tokenize.
    vocabulary = model if api == "openai" else None
    # Every prompt evaluated whole on both sides (llama.cpp's results depend on the batch split).
    remote = started(remote_engine(server, api, vocabulary=vocabulary, cache_prompt=False))
    try:
        assert remote.info is not None and local.info is not None
        assert (remote.info.fim is None) == (local.info.fim is None)
        steps = typing_session()
        cases = [(*steps[0], False), (*steps[3], False), (*steps[-2], False), (*steps[-1], True)]
        compared = 0
        for prefix, suffix, heal in cases:
            theirs = remote.submit(fim_request(prefix, suffix, heal=heal)).result(timeout=300)
            assert theirs.stop_reason in ("eos", "max_tokens", "stop_rule", "healing"), theirs.message
            # An OpenAI-compatible server cannot be made to spell a healed word fragment again, so the
            # fragment stays in its prompt: the same answer as the in-process engine without healing.
            ours = local.submit(fim_request(prefix, suffix, heal=heal and api == "llama")).result(timeout=300)
            assert ours.prompt is not None and theirs.prompt is not None
            if not heal or api == "llama":
                assert theirs.prompt.tokens == ours.prompt.tokens  # the very same prompt
            if theirs.text != ours.text and "qwen35" in model.name:
                # Random weights write stray bytes (NUL, halves of characters); llama-server never streams
                # the text of tokens it cannot send as whole UTF-8, so its answer stops short of them.
                rest = ours.text[len(theirs.text) :]
                assert ours.text.startswith(theirs.text) and not rest.isprintable(), (theirs.text, ours.text)
                continue
            assert theirs.text == ours.text, (prefix[-40:], heal)
            compared += bool(ours.text)
        assert compared >= 1  # not only empty answers
        assert remote.stats.completed == len(cases)
    finally:
        remote.close()


@pytest.mark.parametrize("api", ["llama", "openai"])
def test_remote_chat_for_code_actions(served: tuple[Path, LlamaServer], api: str) -> None:
    model, server = served
    if "qwen35" in model.name:
        pytest.skip("the tiny qwen35 has random weights and no chat template worth answering")
    remote = started(remote_engine(server, api))
    try:
        streamed: list[str] = []
        request = GenerationRequest(
            build_prompt=chat_prompt(CHAT),
            max_tokens=40,
            messages=CHAT,
            on_text=streamed.append,
            label="explain",
        )
        result = remote.submit(request).result(timeout=300)
        assert result.stop_reason in ("eos", "max_tokens"), result.message
        assert result.text.strip()
        assert len(streamed) > 1 and streamed[-1] == result.text  # streamed as it came
    finally:
        remote.close()


def _wait_idle(server: LlamaServer, timeout: float) -> float:
    started_at = time.monotonic()
    while time.monotonic() - started_at < timeout:
        if not any(slot.get("is_processing") for slot in server.slots_state()):
            return time.monotonic() - started_at
        time.sleep(0.02)
    raise AssertionError("the server kept generating after the cancel")


@pytest.mark.parametrize("api", ["llama", "openai"])
def test_cancel_stops_the_servers_generation(served: tuple[Path, LlamaServer], api: str) -> None:
    _, server = served
    remote = started(remote_engine(server, api))
    try:
        first_text = threading.Event()
        request = GenerationRequest(
            build_prompt=lambda info, tok: PromptLayout(
                # a prompt the tiny qwen35 answers at length (186 tokens, <think> banned) before its EOS
                tuple([*info.bos, *tok("for i in range(10):\n    ")]),
                (),
                fim=False,
            ),
            max_tokens=900,
            on_text=lambda _text: first_text.set(),
        )
        future = remote.submit(request)
        assert first_text.wait(120)
        assert any(slot.get("is_processing") for slot in server.slots_state())
        request.cancel.cancel("test")
        result = future.result(timeout=30)
        assert result.stop_reason == "cancelled"
        assert _wait_idle(server, 5.0) < 5.0
        assert result.generated_tokens < 900 or api == "openai"
    finally:
        remote.close()


def test_unreachable_server_is_unavailable_then_recovers(served: tuple[Path, LlamaServer]) -> None:
    _, server = served
    events: list[EngineEvent] = []
    remote = Engine(
        RemoteBackend(RemoteConfig(url=server.url, api="llama", api_key=API_KEY, timeout=10)), events.append
    )
    started(remote)
    try:
        assert remote.submit(fim_request("def add(a, b):\n    return ", "\n")).result(
            timeout=120
        ).stop_reason != ("unavailable")
        server.stop()
        down = remote.submit(fim_request("def sub(a, b):\n    return ", "\n")).result(timeout=60)
        assert down.stop_reason == "unavailable"
        assert "cannot reach the model server" in down.message
        assert [event.kind for event in events].count("unavailable") == 1
        # While backing off, requests are answered at once without a connection attempt.
        assert remote.submit(fim_request("x = ", "")).result(timeout=5).stop_reason == "unavailable"
        server.start()
        deadline = time.monotonic() + 60
        while True:
            again = remote.submit(fim_request("def mul(a, b):\n    return ", "\n")).result(timeout=120)
            if again.stop_reason != "unavailable" or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert again.stop_reason in ("eos", "max_tokens", "stop_rule"), again.message
        assert [event.kind for event in events].count("available") == 1
        assert remote.outage == ""
    finally:
        remote.close()
        if server.proc is None or server.proc.poll() is not None:
            server.start()


def test_wrong_key_is_reported_without_the_key(served: tuple[Path, LlamaServer]) -> None:
    _, server = served
    events: list[EngineEvent] = []
    wrong = "not-the-key-1234567"
    remote = Engine(
        RemoteBackend(RemoteConfig(url=server.url, api="auto", api_key=wrong, timeout=10)), events.append
    )
    remote.start()
    try:
        deadline = time.monotonic() + 30
        while not remote.outage and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "refused the API key" in remote.outage
        assert wrong not in remote.outage and all(wrong not in event.message for event in events)
        assert remote.submit(fim_request("x = ", "")).result(timeout=5).stop_reason == "unavailable"
    finally:
        remote.close()
