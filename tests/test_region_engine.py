"""Typing inside a real file with the region layout, on real models: what each keystroke costs the model,
and that reusing the model's state gives exactly the greedy text of a cold evaluation.

The planner, prompt builder and engine are the server's own (``WorkspaceContext.plan``, ``make_request``,
``Engine``); only the LSP transport is left out (``test_e2e_completion`` covers it).
"""

from __future__ import annotations

import colorsys
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from lsp_server.completion import CompletionPlan, make_request
from lsp_server.document import DocumentSnapshot
from lsp_server.engine.engine import Engine
from lsp_server.engine.llama.backend import LlamaBackend, LlamaConfig
from lsp_server.engine.model_source import ModelSpec
from lsp_server.model_api import GenerationResult
from lsp_server.settings import CompletionSettings
from lsp_server.workspace import WorkspaceContext

SOURCE = Path(colorsys.__file__).read_text()  # a real file; the user types into its middle
URI = "file:///project/colorsys.py"
SETTINGS = CompletionSettings(
    prefix_tokens=600,
    suffix_tokens=300,
    outline_tokens=64,
    neighbour_tokens=0,
    max_tokens_single_line=6,
    max_predict_ms=0,
)


def keystrokes(text: str) -> list[str]:
    """Keys as an editor sends them: one character each, Enter with the next line's indentation."""
    keys: list[str] = []
    index = 0
    while index < len(text):
        end = index + 1
        if text[index] == "\n":
            while end < len(text) and text[end] == " ":
                end += 1
        keys.append(text[index:end])
        index = end
    return keys


class Typist:
    """Keeps the document and the cursor, and asks the server's planner for a completion after each edit."""

    def __init__(
        self, engine: Engine, context: WorkspaceContext | None = None, settings: CompletionSettings = SETTINGS
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.context = context or WorkspaceContext(root="file:///project")
        self.text = SOURCE
        self.cursor = 0
        self.version = 1
        self.context.opened(self.snapshot())

    def snapshot(self) -> DocumentSnapshot:
        return DocumentSnapshot(URI, "python", self.version, self.text)

    def move(self, offset: int) -> None:
        self.cursor = offset

    def edit(self, insert: str = "", delete: int = 0) -> None:
        self.text = self.text[: self.cursor - delete] + insert + self.text[self.cursor :]
        self.cursor += len(insert) - delete
        self.version += 1
        self.context.changed(self.snapshot())

    def plan(self) -> CompletionPlan | None:
        before = self.text[: self.cursor]
        line = before.count("\n")
        column = self.cursor - (before.rfind("\n") + 1)
        plan = self.context.plan(self.snapshot(), line, column, self.settings)
        return plan if isinstance(plan, CompletionPlan) else None

    def complete(self, plan: CompletionPlan | None = None) -> GenerationResult | None:
        plan = plan or self.plan()
        if plan is None:
            return None
        return self.engine.submit(make_request(plan, self.settings)).result(timeout=600)


def engine_for(path: Path, *, reuse: bool, batch: int = 32) -> Engine:
    config = LlamaConfig(model=ModelSpec(path=path), n_ctx=2048, state_reuse=reuse, prompt_batch=batch)
    engine = Engine(LlamaBackend(config))
    engine.start()
    assert engine.wait_ready(600), engine.failure
    return engine


@pytest.fixture(params=["smollm2", "qwen35"])
def model(request: pytest.FixtureRequest, smollm2_path: Path, qwen35_path: Path) -> Path:
    return smollm2_path if request.param == "smollm2" else qwen35_path


@pytest.fixture
def warm(model: Path) -> Iterator[Engine]:
    engine = engine_for(model, reuse=True)
    yield engine
    engine.close()


ARRIVAL = SOURCE.index("def rgb_to_hls(r, g, b):") - 1  # the blank line above it
FUNCTION = (
    "\ndef clamp(value, low, high):\n    if value < low:\n        return low\n    return min(value, high)\n"
)


def test_typing_a_function_into_the_middle_costs_only_the_typed_tokens(warm: Engine) -> None:
    typist = Typist(warm)
    typist.move(ARRIVAL)
    arrival = typist.complete()
    assert arrival is not None and arrival.prompt is not None
    assert arrival.prompt.size > 300  # the prompt holds the code below the cursor too
    tokenize = warm.tokenizer
    assert tokenize is not None
    within_line = enters = 0
    for key in keystrokes(FUNCTION):
        typist.edit(key)
        result = typist.complete()
        if result is None:
            continue
        assert result.reuse in ("append", "kv", "checkpoint"), result.reuse
        # A keystroke evaluates its own tokens, plus at most the two before it that it re-tokenizes.
        assert result.prompt_tokens_evaluated <= len(tokenize(key)) + 2, (key, result.prompt_tokens_evaluated)
        if key.startswith("\n"):
            enters += 1
        else:
            within_line += 1
    assert within_line > 40 and enters >= 3
    # Backspace (a correction) restores the state before the deleted character.
    for _ in range(3):
        typist.edit(delete=1)
        result = typist.complete()
        assert result is not None
        assert result.prompt_tokens_evaluated <= 3, result.prompt_tokens_evaluated


def test_the_region_layout_gives_the_cold_paths_greedy_text(model: Path) -> None:
    # One token per batch on both sides: llama.cpp's CPU kernels round differently for other batch sizes,
    # which can flip a near tie between two tokens; what is tested here is the reuse of state, bit for bit.
    warm, cold = engine_for(model, reuse=True, batch=1), engine_for(model, reuse=False, batch=1)
    try:
        small = attrs.evolve(SETTINGS, prefix_tokens=240, suffix_tokens=120)  # the cold side reads it all
        typist = Typist(warm, settings=small)
        twin = Typist(cold, settings=small)
        steps: list[tuple[int | None, str, int]] = [(ARRIVAL, "", 0)]
        steps += [(None, key, 0) for key in keystrokes(FUNCTION[:36])]
        steps += [(None, "", 1), (None, "", 1), (None, "w", 0)]  # a correction
        elsewhere = SOURCE.index("    return (_v(m1, m2, h+ONE_THIRD)")
        steps += [(elsewhere, "", 0), (None, "    m2", 0), (None, " =", 0)]  # a jump, then typing there
        compared = 0
        for move, insert, delete in steps:
            target = None if move is None else typist.text.index(SOURCE[move : move + 40])
            for side in (typist, twin):
                if target is not None:
                    side.move(target)
                if insert or delete:
                    side.edit(insert, delete)
            plan = typist.plan()
            if plan is None:
                continue
            reused, fresh = typist.complete(plan), twin.complete()
            assert reused is not None and fresh is not None
            assert reused.prompt is not None and fresh.prompt is not None
            assert reused.prompt.tokens == fresh.prompt.tokens
            assert reused.text == fresh.text, (insert, reused.reuse)
            assert fresh.reuse == "cold"
            compared += 1
        assert compared >= 15
    finally:
        warm.close()
        cold.close()
