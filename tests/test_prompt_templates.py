"""Prompt templates (overrides, hot reload, broken-file fallback), the FIM layout template, chat rendering."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lsp_server.model_api import FimTokens
from lsp_server.prompt.chat import EMPTY_THINK, is_thinking_model, render_chat
from lsp_server.prompt.templates import (
    TEMPLATE_NAMES,
    PromptLibrary,
    PromptTemplateError,
    fim_segments,
    layout_fim_prompt,
    package_prompts_dir,
)

VARIABLES = {
    "language": "python",
    "file_name": "a.py",
    "symbol": "f",
    "kind": "function",
    "definition": "def f():\n    return 1",
    "signature": "def f()",
    "enclosing_class": "",
    "imports": ["import os"],
    "callees": [],
    "selection": "",
    "doc_style": "a PEP 257 docstring",
    "test_framework": "pytest",
    "module": "a",
    "test_file_name": "test_a_f.py",
    "diagnostic": "bad",
    "first_line": 1,
    "lines": "return 1",
    "context": "def f():\n    return 1",
}


def test_every_template_ships_and_renders() -> None:
    library = PromptLibrary()
    for name in TEMPLATE_NAMES:
        path, source = library.resolve(name)
        assert source == "package" and path.parent == package_prompts_dir()
    for name in ("system", "explain", "docstring", "fix", "tests"):
        rendered = library.render(name, **VARIABLES)
        assert rendered.text.strip() and len(rendered.sha256) == 64
    assert "def f():" in library.render("explain", **VARIABLES).text


def _bump(path: Path) -> None:
    """Make sure a rewrite within the same mtime tick is still seen as a change."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


def test_workspace_override_wins_and_is_reread_on_change(tmp_path: Path) -> None:
    settings_dir = tmp_path / "settings"
    workspace_dir = tmp_path / "ws"
    settings_dir.mkdir()
    workspace_dir.mkdir()
    (settings_dir / "explain.j2").write_text("from settings {{ symbol }}", encoding="utf-8")
    library = PromptLibrary()
    library.set_override_dirs(settings_dir, workspace_dir)
    assert library.render("explain", **VARIABLES).text == "from settings f"
    override = workspace_dir / "explain.j2"
    override.write_text("one {{ symbol }}", encoding="utf-8")
    first = library.render("explain", **VARIABLES)
    assert (first.text, first.source) == ("one f", "workspace")
    override.write_text("two {{ symbol }}", encoding="utf-8")
    _bump(override)
    assert library.render("explain", **VARIABLES).text == "two f"


def test_broken_template_keeps_the_previous_version_and_reports_it(tmp_path: Path) -> None:
    problems: list[str] = []
    library = PromptLibrary(on_problem=problems.append)
    library.set_override_dirs(None, tmp_path)
    template = tmp_path / "explain.j2"
    template.write_text("good {{ symbol }}", encoding="utf-8")
    assert library.render("explain", **VARIABLES).text == "good f"
    template.write_text("broken {% if %}", encoding="utf-8")
    _bump(template)
    assert library.render("explain", **VARIABLES).text == "good f"
    assert len(problems) == 1 and str(template) in problems[0]
    template.write_text("undefined {{ nothing_like_this }}", encoding="utf-8")
    _bump(template)
    assert library.render("explain", **VARIABLES).text == "good f"
    assert len(problems) == 2 and "nothing_like_this" in problems[1]
    assert library.check() == [] or all(str(template) in problem for problem in library.check())


def test_a_library_without_any_template_raises() -> None:
    library = PromptLibrary(package_dir=Path("/nonexistent"))
    with pytest.raises(PromptTemplateError):
        library.render("explain", **VARIABLES)


def test_fim_template_lays_out_prefix_suffix_middle() -> None:
    fim = FimTokens(prefix=1, suffix=2, middle=3)
    segments = fim_segments(PromptLibrary())
    layout = layout_fim_prompt(
        segments,
        prefix_tokens=[10, 11],
        suffix_tokens=[20],
        fim=fim,
        bos=[0],
        tokenize_special=lambda text: [99],
    )
    assert layout.tokens == (0, 1, 10, 11, 2, 20, 3)
    assert layout.fim


def test_fim_template_literal_text_is_tokenized_with_special_tokens(tmp_path: Path) -> None:
    (tmp_path / "completion_fim.j2").write_text(
        "<|repo_name|>r\n{{ fim_prefix }}{{ prefix }}{{ fim_suffix }}{{ suffix }}{{ fim_middle }}",
        encoding="utf-8",
    )
    library = PromptLibrary()
    library.set_override_dirs(tmp_path, None)
    seen: list[str] = []

    def special(text: str) -> list[int]:
        seen.append(text)
        return [7]

    layout = layout_fim_prompt(
        fim_segments(library),
        prefix_tokens=[10],
        suffix_tokens=[20],
        fim=FimTokens(1, 2, 3),
        bos=[],
        tokenize_special=special,
    )
    assert seen == ["<|repo_name|>r\n"]
    assert layout.tokens == (7, 1, 10, 2, 20, 3)


QWEN3_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
    "{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}"
    "{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}"
    "{%- endif %}"
)


def test_qwen_chat_prompt_turns_thinking_off() -> None:
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    text = render_chat(QWEN3_TEMPLATE, messages, thinking=True)
    assert (
        text
        == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"
        + EMPTY_THINK
    )
    # A template that knows nothing about thinking (the tiny test model's) still gets the empty block.
    plain = "{% for m in messages %}{{ m['content'] }}{% endfor %}{% if add_generation_prompt %}A:{% endif %}"
    assert render_chat(plain, messages, thinking=True) == "SUA:" + EMPTY_THINK
    # A template that opens a think block itself gets it closed.
    opened = "{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n{% endif %}"
    assert render_chat(opened, messages, thinking=True) == "<|im_start|>assistant\n" + EMPTY_THINK
    assert is_thinking_model("qwen35", None) and is_thinking_model("llama", QWEN3_TEMPLATE)
    assert not is_thinking_model("llama", plain)
    assert not render_chat(plain, messages, thinking=False).endswith(EMPTY_THINK)


def test_chat_without_template_uses_chatml() -> None:
    text = render_chat(None, [{"role": "user", "content": "hi"}])
    assert text == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


class _FakeTokenizer:
    """Records what is tokenized with and without special-token parsing."""

    def __init__(self) -> None:
        self.plain: list[str] = []
        self.special: list[str] = []

    def __call__(self, text: str) -> list[int]:
        self.plain.append(text)
        return [1]

    def with_special(self, text: str) -> list[int]:
        self.special.append(text)
        return [2]


def test_message_contents_are_tokenized_as_plain_text() -> None:
    from lsp_server.prompt.chat import tokenize_rendered

    code = "x = '<|im_end|>'"
    text = render_chat(None, [{"role": "user", "content": "\x000\x00"}])
    tok = _FakeTokenizer()
    assert tokenize_rendered(text, [code], tok) == [2, 1, 2]  # type: ignore[arg-type]
    assert tok.plain == [code]
    assert tok.special == ["<|im_start|>user\n", "<|im_end|>\n<|im_start|>assistant\n"]


def test_fim_template_gives_the_same_tokens_as_the_built_in_layout() -> None:
    from lsp_server.prompt.fim import build_fim_prompt
    from lsp_server.prompt.templates import build_fim_prompt_from_template

    def tokenize(text: str) -> list[int]:
        return [ord(char) for char in text]

    fim = FimTokens(prefix=1, suffix=2, middle=3)
    prefix, suffix = "def f():\n    return ", "\n\nprint(f())\n"
    for model_fim in (fim, None):
        expected = build_fim_prompt(
            prefix, suffix, fim=model_fim, tokenize=tokenize, prefix_budget=10, suffix_budget=5, bos=[0]
        )
        templated = build_fim_prompt_from_template(
            PromptLibrary(),
            prefix,
            suffix,
            fim=model_fim,
            tokenize=tokenize,
            tokenize_special=tokenize,
            prefix_budget=10,
            suffix_budget=5,
            bos=[0],
        )
        assert templated.tokens == expected.tokens
