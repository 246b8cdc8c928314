"""How a completion is asked of the model: fill-in-the-middle, a chat turn, or plain continuation.

What the user sees: completions that work with the model actually loaded. A code model with FIM markers
is asked with them (``fim``: the code before *and* after the cursor); a chat model without them is asked
in its own chat template to fill a hole marked in the code, thinking off (``chat``); anything else simply
continues the code before the cursor (``prefix``). ``completion.promptStyle`` chooses; ``auto`` picks
from what the model file says, and the choice and its reason are shown by ``qwen-lsp doctor`` and in
each suggestion's provenance. ``qwen-lsp eval`` measures the styles on the user's own code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import attrs

from lsp_server.model_api import ModelInfo, PromptLayout, PromptPiece, Tokenizer
from lsp_server.prompt.chat import chat_tokens, is_thinking_model
from lsp_server.prompt.healing import heal_prompt_tail

PromptStyle = Literal["fim", "chat", "prefix"]
STYLES: tuple[PromptStyle, ...] = ("fim", "chat", "prefix")

HOLE = "<FILL_HERE>"
"""The marker written at the cursor in a chat-style prompt's code."""

REASONING_SPELLINGS: tuple[str, ...] = ("<think>", "</think>")
"""Tokens that open or close a reasoning block; the engines ban the ones a vocabulary has."""


@attrs.frozen
class StyleChoice:
    """The prompt style used for a model, and why (shown in doctor, config and provenance)."""

    style: PromptStyle
    reason: str


def choose_prompt_style(setting: str, *, fim: bool, chat_template: bool, thinking: bool) -> StyleChoice:
    """The style for ``completion.promptStyle`` = ``setting`` and what the model offers.

    ``auto``: FIM when the model has FIM markers (what code models are trained on); else, for a
    thinking chat model (Qwen3-style reasoning), its chat template, since plain continuation is far
    from what it was tuned on; else plain continuation. Measured on SmolLM2-135M (no FIM markers, a
    chat template that does not think): prefix passed as many holes as chat and chat answered nothing
    on 7 of 16 (docs/BENCHMARKS.md). An explicit ``fim`` for a model without markers falls back to
    ``prefix`` (there is nothing to mark the hole with) and says so.
    """
    think = " (a thinking model: thinking is off and its tokens are banned)" if thinking else ""
    if setting == "fim":
        if fim:
            return StyleChoice("fim", "completion.promptStyle is fim")
        return StyleChoice("prefix", "completion.promptStyle is fim, but the model has no FIM markers")
    if setting == "chat":
        if chat_template:
            return StyleChoice("chat", "completion.promptStyle is chat" + think)
        return StyleChoice("chat", "completion.promptStyle is chat; the model has no chat template (ChatML)")
    if setting == "prefix":
        return StyleChoice("prefix", "completion.promptStyle is prefix")
    if fim:
        return StyleChoice("fim", "auto: the model has FIM markers" + think)
    if chat_template and thinking:
        return StyleChoice("chat", "auto: no FIM markers, and a thinking chat template" + think)
    if chat_template:
        return StyleChoice("prefix", "auto: no FIM markers, and its chat template does not think")
    return StyleChoice("prefix", "auto: no FIM markers and no chat template")


def style_for(info: ModelInfo, setting: str) -> StyleChoice:
    """The style for a loaded model."""
    return choose_prompt_style(
        setting,
        fim=info.fim is not None,
        chat_template=info.chat_template is not None,
        thinking=is_thinking_model(info.architecture, info.chat_template),
    )


def hole_code(prefix: str, suffix: str) -> str:
    """The code shown to a chat model: the text around the cursor with the hole marker at the cursor."""
    return f"{prefix}{HOLE}{suffix}"


def answer_opening(language: str, prefix: str) -> str:
    """How the model's answer is opened: a code fence, then the cursor line's code before the cursor."""
    return f"```{language}\n{prefix.rsplit(chr(10), 1)[-1]}"


def chat_completion_prompt(
    messages: Sequence[Mapping[str, str]], prefill: str, *, heal: bool = False
) -> Callable[[ModelInfo, Tokenizer], PromptLayout]:
    """A prompt builder: ``messages`` in the model's chat template (thinking off), the answer opened.

    ``prefill`` opens the answer, tokenized as plain text (the code it is); with ``heal`` its last token
    is left for the model to spell again, as a completion's prompt end is.
    """
    frozen = [dict(message) for message in messages]

    def build(info: ModelInfo, tok: Tokenizer) -> PromptLayout:
        tokens = chat_tokens(frozen, info, tok)
        opened = tok(prefill) if prefill else []
        healing = ""
        if heal and opened:
            opened, healing = heal_prompt_tail(opened, tok.detokenize, after_dot=True)
        pieces = (PromptPiece("chat", len(tokens)), PromptPiece("answer-start", len(opened)))
        return PromptLayout(
            (*tokens, *opened),
            pieces,
            fim=False,
            messages=tuple((message["role"], message["content"]) for message in frozen),
            prefill=prefill,
            healing=healing,
        )

    return build


def reasoning_tokens(lookup: Callable[[str], int | None]) -> tuple[int, ...]:
    """The ids of the vocabulary's reasoning-block tokens (``lookup``: the one token spelling a text)."""
    found = (lookup(spelling) for spelling in REASONING_SPELLINGS)
    return tuple(token for token in found if token is not None)
