"""Unit tests: the completion prompt's token layout with other files' snippets and the file context."""

from __future__ import annotations

from typing import Any

from lsp_server.context.assemble import ContextBudget, assemble_file_context
from lsp_server.context.languages import parse
from lsp_server.context.neighbours import Snippet
from lsp_server.model_api import FimTokens, PromptLayout
from lsp_server.prompt.context_prompt import PromptInputs, build_context_prompt

QWEN_FIM = FimTokens(151659, 151661, 151660, 151663, 151664)
PLAIN_FIM = FimTokens(1, 3, 2)


class CharTokenizer:
    """One token per character (ids are code points): easy to read back and exact to count."""

    def __call__(self, text: str) -> list[int]:
        return [ord(char) for char in text]

    def detokenize(self, tokens: list[int]) -> str:
        return "".join(chr(token) if token < 0x110000 else "<special>" for token in tokens)


SOURCE = '''import math
from .geometry import area_of


def scale(shape, factor):
    """Scale a shape."""
    return [(x * factor, y * factor) for x, y in shape]


def report(shape):
    size = area_of(shape)
    return f"{size:.2f}"
'''

GEOMETRY = Snippet(
    uri="file:///proj/pkg/geometry.py",
    path="pkg/geometry.py",
    text="def area_of(points):\n    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in pairs(points)))\n",  # noqa: E501
    score=1.0,
    kind="definition",
)


TOKENIZER = CharTokenizer()


def layout_at(marker: str, fim: FimTokens | None, bos: tuple[int, ...] = (), **fields: Any) -> PromptLayout:
    """Lay out the prompt for a cursor right after ``marker`` in SOURCE; ``fields`` go to PromptInputs."""
    cursor = SOURCE.index(marker) + len(marker)
    context = assemble_file_context(
        SOURCE, parse("python", SOURCE), "python", cursor, lambda t: len(TOKENIZER(t)), ContextBudget()
    )
    inputs = PromptInputs(context=context, **fields)
    return build_context_prompt(inputs, fim=fim, tokenize=TOKENIZER, detokenize=TOKENIZER.detokenize, bos=bos)


def test_repo_level_layout_puts_snippets_before_the_file() -> None:
    tokenizer = TOKENIZER
    layout = layout_at(
        "size = area_of(",
        QWEN_FIM,
        snippets=[GEOMETRY],
        path="pkg/shapes.py",
        repo="proj",
        language="python",
        neighbour_budget=400,
    )
    tokens = list(layout.tokens)
    assert tokens[0] == QWEN_FIM.repo_name
    assert tokens.count(QWEN_FIM.file_sep) == 2  # the snippet's file, then this file
    text = tokenizer.detokenize(tokens)
    assert "proj\n" in text and "pkg/geometry.py\ndef area_of(points):" in text
    assert text.index("pkg/geometry.py") < text.index("pkg/shapes.py") < text.index("import math")
    # FIM part: prefix ends exactly at the cursor, suffix follows, middle last.
    assert tokens[-1] == QWEN_FIM.middle
    prefix_start = tokens.index(QWEN_FIM.prefix) + 1
    suffix_at = tokens.index(QWEN_FIM.suffix)
    assert tokenizer.detokenize(tokens[prefix_start:suffix_at]).endswith("size = area_of(")
    assert tokenizer.detokenize(tokens[suffix_at + 1 : -1]).startswith("shape)")
    names = [piece.name for piece in layout.pieces]
    assert "definition:pkg/geometry.py" in names and "prefix" in names and "suffix" in names
    snippet_piece = next(p for p in layout.pieces if p.name == "definition:pkg/geometry.py")
    assert snippet_piece.tokens == 1 + len(f"pkg/geometry.py\n{GEOMETRY.text.rstrip()}\n")
    # a checkpoint right after the snippets, which change less often than the file around the cursor
    assert prefix_start in layout.cache_points


def test_snippets_over_budget_are_left_out() -> None:
    tokenizer = TOKENIZER
    layout = layout_at("size = area_of(", QWEN_FIM, snippets=[GEOMETRY], path="a.py", neighbour_budget=20)
    assert not [p for p in layout.pieces if p.name.startswith("definition:")]
    assert "area_of(points)" not in tokenizer.detokenize(list(layout.tokens))


def test_without_repo_tokens_snippets_become_comments() -> None:
    tokenizer = TOKENIZER
    layout = layout_at(
        "size = area_of(",
        PLAIN_FIM,
        snippets=[GEOMETRY],
        path="a.py",
        language="python",
        neighbour_budget=400,
    )
    text = tokenizer.detokenize(list(layout.tokens))
    assert layout.tokens[0] == PLAIN_FIM.prefix
    assert "# Compare this snippet from pkg/geometry.py:\n# def area_of(points):" in text
    assert text.index("# def area_of") < text.index("import math")


def test_healing_takes_back_the_partial_word() -> None:
    tokenizer = TOKENIZER
    layout = layout_at("size = area", PLAIN_FIM, path="a.py", heal=True)
    assert layout.healing == "ea"  # one character per token: at most two tokens go back
    prefix_end = list(layout.tokens).index(PLAIN_FIM.suffix)
    assert tokenizer.detokenize(list(layout.tokens)[1:prefix_end]).endswith("size = ar")


def test_no_fim_model_gets_the_prefix_only() -> None:
    tokenizer = TOKENIZER
    layout = layout_at("size = area_of(", None, bos=(7,), path="a.py")
    assert layout.tokens[0] == 7 and not layout.fim
    assert tokenizer.detokenize(list(layout.tokens[1:])).endswith("size = area_of(")
