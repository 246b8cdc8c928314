"""Chat prompts rendered with the model's own chat template, with "thinking" turned off.

What the user sees: explanations and edits come straight away as the answer, without a hidden reasoning
preamble first. Qwen3/3.5 models are asked the way their template means for ``enable_thinking=false``:
the assistant turn opens with an empty ``<think>`` ... ``</think>`` block. (llama-cpp-python's
``create_chat_completion`` cannot pass that flag, so the template is rendered here.)
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

import jinja2
import jinja2.sandbox

from lsp_server.model_api import ModelInfo, PromptLayout, PromptPiece, Tokenizer

EMPTY_THINK = "<think>\n\n</think>\n\n"

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
"""Used when the model carries no chat template."""


def _raise(message: str) -> NoReturn:
    raise jinja2.TemplateError(message)


def _strftime_now(fmt: str) -> str:
    return datetime.datetime.now().strftime(fmt)


def is_thinking_model(architecture: str, template: str | None) -> bool:
    """Whether the model reasons in ``<think>`` blocks (Qwen3 family, or a template that mentions them)."""
    if architecture.startswith("qwen3"):
        return True
    return template is not None and ("<think>" in template or "enable_thinking" in template)


def render_chat(
    template: str | None,
    messages: Sequence[Mapping[str, str]],
    *,
    bos_token: str = "",
    eos_token: str = "",
    thinking: bool = False,
) -> str:
    """The prompt text for ``messages``, ending with the opened assistant turn (thinking off)."""
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
    )
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = _strftime_now
    compiled = env.from_string(template or CHATML_TEMPLATE)
    variables: dict[str, Any] = {
        "messages": [dict(message) for message in messages],
        "add_generation_prompt": True,
        "enable_thinking": False,
        "bos_token": bos_token,
        "eos_token": eos_token,
        "tools": None,
    }
    text = compiled.render(**variables)
    if thinking:
        if text.endswith("<think>\n"):
            text += "\n</think>\n\n"
        elif not text.endswith(EMPTY_THINK):
            text += EMPTY_THINK
    return text


def tokenize_rendered(text: str, contents: Sequence[str], tok: Tokenizer) -> list[int]:
    """Tokens of a chat rendered with NUL-delimited placeholders; contents are tokenized as plain text."""
    tokens: list[int] = []
    for index, part in enumerate(text.split("\x00")):
        if index % 2 == 1 and part.isdigit() and int(part) < len(contents):
            tokens.extend(tok(contents[int(part)]))
        elif part:
            tokens.extend(tok.with_special(part))
    return tokens


def chat_tokens(messages: Sequence[Mapping[str, str]], info: ModelInfo, tok: Tokenizer) -> list[int]:
    """``messages`` rendered with the loaded model's template (thinking off), as its tokens."""
    bos_text = tok.detokenize(list(info.bos)) if info.bos else ""
    eos_text = tok.detokenize([info.eos]) if info.eos >= 0 else ""
    # Message contents (user code) go through the template as placeholders and are tokenized as plain
    # text, so that a "<|im_end|>" written in the code cannot end the turn.
    placeholders = [{**message, "content": f"\x00{index}\x00"} for index, message in enumerate(messages)]
    text = render_chat(
        info.chat_template,
        placeholders,
        bos_token=bos_text,
        eos_token=eos_text,
        thinking=is_thinking_model(info.architecture, info.chat_template),
    )
    tokens = tokenize_rendered(text, [message["content"] for message in messages], tok)
    if info.bos and (not tokens or tokens[0] != info.bos[0]):
        tokens = [*info.bos, *tokens]
    return tokens


def chat_prompt(messages: Sequence[Mapping[str, str]]) -> Callable[[ModelInfo, Tokenizer], PromptLayout]:
    """A ``GenerationRequest.build_prompt`` that renders ``messages`` with the loaded model's template."""
    frozen = [dict(message) for message in messages]

    def build(info: ModelInfo, tok: Tokenizer) -> PromptLayout:
        tokens = chat_tokens(frozen, info, tok)
        return PromptLayout(tuple(tokens), (PromptPiece("chat", len(tokens)),), fim=False)

    return build
