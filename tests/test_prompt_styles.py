"""Prompt styles (``completion.promptStyle``): auto's choice, the chat answer parser, banned think tokens.

The parser cases in ``chat_answer_cases.json`` are real greedy answers of SmolLM2-135M and
Qwen2.5-Coder-0.5B/1.5B to the chat-style prompt (recorded with and without the answer opening, as an
OpenAI-compatible chat endpoint answers); the think-block cases have the shape a Qwen3 model was reported
to write into completions (Palm1r/QodeAssist#189: an empty think block first, and one in mid-line).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest

from devtools.qwen35_gguf import THINKING_CHAT_TEMPLATE, tiny_qwen35_path
from lsp_server.completion import CompletionPlan, finish_completion, make_request, plan_completion
from lsp_server.document import DocumentSnapshot
from lsp_server.engine.engine import Engine
from lsp_server.engine.llama.backend import LlamaBackend, LlamaConfig
from lsp_server.engine.model_source import ModelSpec
from lsp_server.model_api import GenerationRequest, ModelInfo, PromptLayout, PromptPiece, Tokenizer
from lsp_server.postprocess.chat_answer import ChatAnswerStop, parse_chat_answer
from lsp_server.postprocess.stops import single_line_stop
from lsp_server.prompt.styles import HOLE, choose_prompt_style, style_for
from lsp_server.settings import CompletionSettings
from tests.conftest import model_cache_dir

CASES = json.loads((Path(__file__).parent / "chat_answer_cases.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("setting", "fim", "chat", "thinking", "style"),
    [
        ("auto", True, True, True, "fim"),
        ("auto", True, False, False, "fim"),
        ("auto", False, True, False, "prefix"),
        ("auto", False, True, True, "chat"),
        ("auto", False, False, False, "prefix"),
        ("fim", False, True, False, "prefix"),
        ("fim", True, True, False, "fim"),
        ("chat", True, True, True, "chat"),
        ("chat", False, False, False, "chat"),
        ("prefix", True, True, False, "prefix"),
    ],
)
def test_choice_of_style(setting: str, fim: bool, chat: bool, thinking: bool, style: str) -> None:
    choice = choose_prompt_style(setting, fim=fim, chat_template=chat, thinking=thinking)
    assert choice.style == style
    assert choice.reason
    assert ("thinking" in choice.reason) == (thinking and style != "prefix" and (setting != "fim" or fim))


def _info(path: Path) -> ModelInfo:
    backend = LlamaBackend(LlamaConfig(model=ModelSpec(path=path), n_ctx=512))
    try:
        return backend.load(lambda _done, _total, _message: None)
    finally:
        backend.close()


@pytest.mark.parametrize(
    ("variant", "style", "reason"),
    [
        ({}, "fim", "FIM markers"),
        ({"fim_tokens": False, "chat_template": THINKING_CHAT_TEMPLATE}, "chat", "thinking chat template"),
        ({"fim_tokens": False, "chat_template": None}, "prefix", "no chat template"),
    ],
)
def test_auto_picks_from_what_a_qwen35_gguf_says(variant: dict[str, Any], style: str, reason: str) -> None:
    info = _info(tiny_qwen35_path(model_cache_dir(), **variant))
    choice = style_for(info, "auto")
    assert (choice.style, reason in choice.reason) == (style, True), choice
    assert "thinking" in choice.reason or style == "prefix"  # qwen35 is a thinking model
    assert len(info.reasoning_tokens) == 2  # <think> and </think>, banned at decode time


def test_auto_picks_prefix_for_smollm2(smollm2_path: Path) -> None:
    info = _info(smollm2_path)
    assert info.fim is None and info.chat_template is not None
    assert style_for(info, "auto").style == "prefix"  # a chat template that does not think
    assert info.reasoning_tokens == ()


def _case_id(case: dict[str, Any]) -> str:
    return f"{case['model'][:14]}-{case['file']}-{case['kind']}-{'opened' if case['opening'] else 'plain'}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_chat_answer_parser_on_recorded_answers(case: dict[str, Any]) -> None:
    answer = case["opening"] + case["answer"]
    got = parse_chat_answer(answer, prefix=case["prefix"], suffix=case["suffix"], hole=HOLE)
    assert got == case["expected"]


PREFIX = "def area(self):\n    return math.pi * self."
SUFFIX = "\n\n\ndef total(shapes):\n    return sum(s.area() for s in shapes)\n"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("<think>\n\n</think>\n\n```python\n    return math.pi * self.radius ** 2\n```", "radius ** 2"),
        ("<think>\nThe hole needs the radius.\n</think>\nradius ** 2", "radius ** 2"),
        ("```python\n    return math.pi * self.radius<think>\n\n</think>\n\n ** 2\n```", "radius\n\n ** 2"),
        ("<think>\nstill thinking about it", ""),
        ("```py\nradius ** 2\n```\nThis computes the area.", "radius ** 2"),
        ("radius ** 2\n\n\ndef total(shapes):\n    return sum(s.area() for s in shapes)", "radius ** 2"),
        (
            "```python\ndef area(self):\n    return math.pi * self.radius ** 2\n\n\ndef total(shapes):\n",
            "radius ** 2",
        ),
    ],
    ids=["think-first", "think-text", "think-mid-line", "think-unclosed", "fence-prose", "suffix", "both"],
)
def test_chat_answer_parser_removes_reasoning_fences_and_restated_code(answer: str, expected: str) -> None:
    assert parse_chat_answer(answer, prefix=PREFIX, suffix=SUFFIX, hole=HOLE) == expected


def test_chat_stop_applies_the_rule_inside_the_fence() -> None:
    opening = "```python\n    return math.pi * self."
    stop = ChatAnswerStop(single_line_stop(), opening, PREFIX, HOLE)
    assert stop.check("radius ** 2") is None
    generated = "radius ** 2\n    # more\n```"
    cut = stop.check(generated)
    assert cut is not None and generated[:cut] == "radius ** 2"
    closed = "radius```"
    cut = stop.check(closed)
    assert cut is not None and closed[:cut] == "radius"
    marker = f"radius * self.{HOLE}"
    cut = stop.check(marker)
    assert cut is not None and marker[:cut] == "radius * self."


def _prompt(tokens: list[int]) -> Any:
    def build(info: ModelInfo, tok: Tokenizer) -> PromptLayout:
        return PromptLayout(tuple(tokens), (PromptPiece("test", len(tokens)),), fim=False)

    return build


def test_banned_tokens_are_never_sampled(qwen35_path: Path) -> None:
    """The engine bans ``ModelInfo.reasoning_tokens``: here the token greedy decoding picks first."""
    backend = LlamaBackend(LlamaConfig(model=ModelSpec(path=qwen35_path), n_ctx=512))
    engine = Engine(backend)
    engine.start()
    try:
        assert engine.wait_ready(600)
        tok = engine.tokenizer
        assert tok is not None
        prompt = tok("def main():\n    ")
        free = engine.submit(GenerationRequest(build_prompt=_prompt(prompt), max_tokens=12)).result()
        info = backend.info
        assert info is not None and backend._llm is not None
        first = tok(free.text)[:1]
        assert first, free
        # the tiny model's own <think> / </think> are banned already; ban the token it wants first too
        backend.info = attrs.evolve(info, reasoning_tokens=(*info.reasoning_tokens, *first))
        banned = engine.submit(GenerationRequest(build_prompt=_prompt(prompt), max_tokens=12)).result()
        assert banned.text and not banned.text.startswith(tok.detokenize(first))
        assert first[0] not in tok(banned.text)
    finally:
        engine.close()


def test_chat_style_completion_from_a_thinking_template_has_no_think_tokens() -> None:
    """A chat-style completion on a qwen35 GGUF with a thinking template: the answer never reasons."""
    path = tiny_qwen35_path(model_cache_dir(), fim_tokens=False, chat_template=THINKING_CHAT_TEMPLATE)
    engine = Engine(LlamaBackend(LlamaConfig(model=ModelSpec(path=path), n_ctx=2048)))
    engine.start()
    try:
        assert engine.wait_ready(600)
        settings = CompletionSettings(prompt_style="auto", max_predict_ms=0, max_tokens_multi_line=48)
        text = "def total(values):\n    \n\n\ndef main():\n    print(total([1, 2]))\n"
        plan = plan_completion(
            DocumentSnapshot("file:///t.py", "python", 1, text), 1, 4, settings, path="t.py"
        )
        assert isinstance(plan, CompletionPlan)
        request = make_request(plan, settings)
        result = engine.submit(request).result()
        assert result.prompt is not None and result.prompt.prefill.startswith("```python\n")
        rendered = engine.tokenizer.detokenize(list(result.prompt.tokens))  # type: ignore[union-attr]
        assert "<think>\n\n</think>" in rendered and HOLE in rendered  # thinking off, the hole marked
        assert "<think>" not in result.text and "</think>" not in result.text
        done = finish_completion(plan, result, request.notes)
        if done is not None:
            assert done.provenance["promptStyle"] == "chat"
            assert "thinking" in done.provenance["promptStyleReason"]
    finally:
        engine.close()
