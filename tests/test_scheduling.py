"""Scheduling: typed-ahead cache, in-flight reuse, speculation and debounce, with a real engine where
the model is involved."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lsp_server.completion import CompletionPlan, plan_completion
from lsp_server.document import DocumentSnapshot
from lsp_server.engine.engine import Engine
from lsp_server.engine.llama.backend import LlamaBackend, LlamaConfig
from lsp_server.engine.model_source import ModelSpec
from lsp_server.scheduling import CompletionService, Suggestion, SuggestionCache, TypingTracker
from lsp_server.settings import CompletionSettings
from tests.conftest import inline_completion, insert_text, items_of, lsp_session, open_document, stats


def test_cache_answers_what_the_user_typed_through() -> None:
    cache = SuggestionCache()
    cache.put(Suggestion("u", "x = foo(", "\n", "a, b)"))
    hit = cache.lookup("u", "x = foo(a, ", "\n")
    assert hit is not None and hit.text == "b)"
    assert cache.lookup("u", "x = foo(z", "\n") is None  # typed something else
    assert cache.lookup("u", "x = foo(a, b)", "\n") is None  # typed all of it
    assert cache.lookup("u", "x = foo(a", "\nother") is None  # the text after the cursor changed
    assert cache.lookup("v", "x = foo(a", "\n") is None


def test_cache_prefers_the_most_recent_context_and_evicts() -> None:
    cache = SuggestionCache(capacity=2)
    cache.put(Suggestion("u", "a", "", "bcdef"))
    cache.put(Suggestion("u", "abc", "", "dXY"))
    hit = cache.lookup("u", "abcd", "")
    assert hit is not None and hit.text == "XY"
    cache.put(Suggestion("u", "q", "", "rs"))
    cache.put(Suggestion("u", "t", "", "uv"))
    assert cache.lookup("u", "ab", "") is None  # evicted


def test_debounce_adapts_to_typing_speed_and_latency() -> None:
    tracker = TypingTracker(max_debounce_s=0.15)
    assert tracker.debounce("u", now=0.0) == 0.0
    for step in range(10):
        tracker.keystroke("u", now=step * 0.1)  # 10 keys per second
    tracker.observed(0.05)  # the model answers faster than the user types
    assert tracker.debounce("u", now=0.95) == 0.0
    for _ in range(10):
        tracker.observed(1.0)  # now it is slower: wait for a pause
    assert tracker.debounce("u", now=0.9) == pytest.approx(0.15)
    assert tracker.debounce("u", now=1.2) == 0.0  # the user already paused


SOURCE = "import os\n\nprint(os.path.join(\n"


def plan_at(text: str, line: int, column: int, settings: CompletionSettings) -> CompletionPlan:
    plan = plan_completion(DocumentSnapshot("file:///t.py", "python", 1, text), line, column, settings)
    assert isinstance(plan, CompletionPlan), plan
    return plan


@pytest.fixture
def engine(smollm2_path: Path) -> Iterator[Engine]:
    engine = Engine(LlamaBackend(LlamaConfig(model=ModelSpec(path=smollm2_path), n_ctx=1024)))
    engine.start()
    assert engine.wait_ready(600)
    yield engine
    engine.close()


async def test_inflight_generation_is_kept_when_typing_matches_it(engine: Engine) -> None:
    settings = CompletionSettings(max_tokens_multi_line=300, max_lines_multi_line=200, max_predict_ms=0)
    service = CompletionService(lambda: engine, lambda: settings)
    text = "def fibonacci(n):\n    \n"
    first_plan = plan_at(text, 1, 4, settings)
    first = asyncio.ensure_future(service.complete(first_plan))
    flight = None
    for _ in range(60000):
        flight = service._inflight.get("file:///t.py")
        if flight is not None and len(flight.text) >= 8:
            break
        await asyncio.sleep(0.01)
    assert flight is not None
    typed = flight.text[:3]  # what the user sees (the model's extra space after the indentation is gone)
    second_text = text[: text.index("\n") + 5] + typed + "\n"
    second_plan = plan_at(second_text, 1, 4 + len(typed), settings)
    second = await service.complete(second_plan)
    full = await first
    assert full is not None and second is not None
    assert second.text == full.text[len(typed) :]
    assert second.provenance["source"] == "in-flight" and full.provenance["source"] == "model"
    assert service.stats.inflight_hits == 1
    # One generation served both requests; the rest were speculative "as if accepted" requests.
    assert engine.stats.requests - service.stats.speculations == 1


async def test_typed_ahead_hit_does_not_touch_the_model(smollm2_path: Path) -> None:
    async with lsp_session(smollm2_path) as (client, _):
        uri = "file:///tmp/qwen_lsp_typed_ahead.py"
        open_document(client, uri, "python", SOURCE)
        first = items_of(await inline_completion(client, uri, 2, 19))
        assert len(first) == 1
        suggestion = str(first[0].insert_text)
        assert len(suggestion) >= 2
        before = await stats(client)
        insert_text(client, uri, 2, 2, 19, suggestion[0])
        second = items_of(await inline_completion(client, uri, 2, 20))
        after = await stats(client)
        assert [item.insert_text for item in second] == [suggestion[1:]]
        assert after["typedAheadHits"] == before["typedAheadHits"] + 1
        # Answered from the cache: no prompt was evaluated for it (speculation may run in between, but
        # it is background work at a lower priority, counted separately).
        assert after["completed"] - before["completed"] <= after["speculations"] - before["speculations"]
        assert after["speculations"] >= 1


def test_opened_documents_are_tokenized_in_the_background(engine: Engine) -> None:
    import sysconfig

    text = (Path(sysconfig.get_paths()["stdlib"]) / "textwrap.py").read_text()
    tokenizer = engine.tokenizer
    assert tokenizer is not None
    engine.warm_tokens(text)
    deadline = time.monotonic() + 60
    misses = -1
    while (misses != tokenizer.cache.misses or misses <= 0) and time.monotonic() < deadline:
        misses = tokenizer.cache.misses
        time.sleep(0.2)
    assert tokenizer.cache.misses > 0
    window = "\n".join(text.split("\n")[100:220]) + "\n"
    tokenizer(window)
    assert tokenizer.cache.misses - misses <= 2  # only the window's cut first and last segments


def test_closing_the_engine_stops_background_tokenization_first(smollm2_path: Path) -> None:
    import sysconfig

    engine = Engine(LlamaBackend(LlamaConfig(model=ModelSpec(path=smollm2_path), n_ctx=1024)))
    engine.start()
    assert engine.wait_ready(600)
    text = (Path(sysconfig.get_paths()["stdlib"]) / "_pydecimal.py").read_text()
    for copy in range(4):
        engine.warm_tokens(text.replace("Decimal", f"Decimal{copy}"))  # seconds of tokenizing
    thread = engine._warm_thread
    assert thread is not None and thread.is_alive()
    engine.close()  # frees the model: the tokenizing thread must be gone before that
    assert not thread.is_alive()
    engine.warm_tokens(text)  # ignored after close
    assert engine._warm_thread is thread
