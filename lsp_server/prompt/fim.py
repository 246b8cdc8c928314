"""Fill-in-the-middle prompts built as token lists from the model's own FIM tokens.

What the user sees: completions that know the code *after* the cursor when the model was trained for it,
and a clear one-time note when the model cannot do that (prefix-only completion).

llama-cpp-python's ``create_completion(suffix=...)`` inserts token id 0 instead of the FIM markers, so the
prompt is assembled here, token by token, from the ids found in the model's vocabulary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from lsp_server.model_api import FimTokens, PromptLayout, PromptPiece
from lsp_server.prompt.healing import heal_prompt_tail

Tokenize = Callable[[str], list[int]]
"""Turns plain text into token ids (no BOS, no special-token parsing)."""

TokenLookup = Callable[[str], int | None]
"""Returns the id of a vocabulary entry whose text is exactly the given string, or None."""

# Marker spellings used by the code-model families llama.cpp knows: Qwen2.5-Coder / Qwen3 style first,
# then StarCoder/SantaCoder, CodeLlama, DeepSeek-Coder, CodeGemma.
FIM_SPELLINGS: tuple[tuple[str, str, str], ...] = (
    ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"),
    ("<fim_prefix>", "<fim_suffix>", "<fim_middle>"),
    ("<fim-prefix>", "<fim-suffix>", "<fim-middle>"),
    ("<PRE>", "<SUF>", "<MID>"),
    ("▁<PRE>", "▁<SUF>", "▁<MID>"),
    ("<|fim▁begin|>", "<|fim▁hole|>", "<|fim▁end|>"),
    ("<|fim_begin|>", "<|fim_hole|>", "<|fim_end|>"),
)
REPO_NAME_SPELLINGS: tuple[str, ...] = ("<|repo_name|>", "<repo_name>", "<reponame>")
FILE_SEP_SPELLINGS: tuple[str, ...] = ("<|file_sep|>", "<file_sep>", "<filename>")


def _first_found(lookup: TokenLookup, spellings: Iterable[str]) -> int | None:
    for text in spellings:
        token = lookup(text)
        if token is not None:
            return token
    return None


def detect_fim_tokens(
    lookup: TokenLookup,
    *,
    native: tuple[int, int, int] | None = None,
) -> FimTokens | None:
    """Find the model's FIM marker tokens: llama.cpp's own detection first, then known spellings."""
    repo = _first_found(lookup, REPO_NAME_SPELLINGS)
    sep = _first_found(lookup, FILE_SEP_SPELLINGS)
    if native is not None and all(token >= 0 for token in native):
        pre, suf, mid = native
        return FimTokens(pre, suf, mid, repo, sep, spelling="llama.cpp vocabulary")
    for pre_text, suf_text, mid_text in FIM_SPELLINGS:
        pre_id, suf_id, mid_id = lookup(pre_text), lookup(suf_text), lookup(mid_text)
        if pre_id is not None and suf_id is not None and mid_id is not None:
            return FimTokens(pre_id, suf_id, mid_id, repo, sep, spelling=pre_text)
    return None


def common_prefix(left: Sequence[int], right: Sequence[int]) -> int:
    """Length of the longest common prefix of two token lists."""
    count = 0
    for a, b in zip(left, right, strict=False):
        if a != b:
            break
        count += 1
    return count


def _select_lines(lines: Sequence[str], budget: int, tokenize: Tokenize) -> int:
    """How many of ``lines`` (taken in order) fit in ``budget``, counting each line on its own."""
    used = 0
    for count, line in enumerate(lines):
        used += len(tokenize(line))
        if used > budget:
            return count
    return len(lines)


def _fit(lines: list[str], budget: int, tokenize: Tokenize, *, keep_end: bool) -> list[int]:
    """Tokenize the joined lines once, dropping whole lines from the far end until they fit."""
    while lines:
        tokens = tokenize("".join(lines))
        if len(tokens) <= budget:
            return tokens
        if keep_end:
            lines = lines[1:]
        else:
            lines = lines[:-1]
    return []


def clip_prefix(text: str, budget: int, tokenize: Tokenize) -> list[int]:
    """Tokens of the end of ``text`` within ``budget`` tokens, cut at a line start (never half a line).

    The cursor line is kept even when it alone is over budget (then only its end is kept), because the
    model must see the characters right before the cursor.
    """
    if budget <= 0 or not text:
        return []
    lines = text.splitlines(keepends=True)
    cursor_line = tokenize(lines[-1])
    if len(cursor_line) >= budget:
        return cursor_line[-budget:]
    earlier = lines[:-1]
    count = _select_lines(list(reversed(earlier)), budget - len(cursor_line), tokenize)
    chosen = [*earlier[len(earlier) - count :], lines[-1]]
    return _fit(chosen, budget, tokenize, keep_end=True)


def clip_suffix(text: str, budget: int, tokenize: Tokenize) -> list[int]:
    """Tokens of the start of ``text`` within ``budget`` tokens, cut at a line end."""
    if budget <= 0 or not text:
        return []
    lines = text.splitlines(keepends=True)
    count = _select_lines(lines, budget, tokenize)
    return _fit(lines[:count], budget, tokenize, keep_end=False)


def build_fim_prompt(
    prefix: str,
    suffix: str,
    *,
    fim: FimTokens | None,
    tokenize: Tokenize,
    prefix_budget: int,
    suffix_budget: int,
    bos: Sequence[int] = (),
    heal: bool = False,
) -> PromptLayout:
    """Lay out a completion prompt as tokens.

    With FIM tokens: ``<pre> prefix <suf> suffix <mid>`` (PSM order, as Qwen2.5-Coder and StarCoder were
    trained). Without: the prefix alone, after the model's BOS when it wants one. With ``heal`` (and a
    ``tokenize`` that has a ``detokenize`` method, as the engine's tokenizer does), a word the cursor stopped
    in is left out of the prefix and recorded in ``PromptLayout.healing`` (see ``prompt.healing``).
    """
    prefix_tokens = clip_prefix(prefix, prefix_budget, tokenize)
    cursor_line = prefix.rsplit("\n", 1)[-1]
    line_tokens = len(tokenize(cursor_line)) if cursor_line else 0
    healing = ""
    detokenize: Callable[[list[int]], str] | None = getattr(tokenize, "detokenize", None)
    if heal and detokenize is not None:
        kept, healing = heal_prompt_tail(prefix_tokens, detokenize)
        line_tokens = max(0, line_tokens - (len(prefix_tokens) - len(kept)))
        prefix_tokens = kept
    if fim is None:
        tokens = [*bos, *prefix_tokens]
        pieces = [PromptPiece("prefix", len(prefix_tokens))]
        return PromptLayout(
            tuple(tokens),
            tuple(pieces),
            fim=False,
            cache_points=_cache_points(len(tokens), line_tokens),
            healing=healing,
        )
    suffix_tokens = clip_suffix(suffix, suffix_budget, tokenize)
    tokens = [
        *bos,
        fim.prefix,
        *prefix_tokens,
        fim.suffix,
        *suffix_tokens,
        fim.middle,
    ]
    pieces = [
        PromptPiece("prefix", len(prefix_tokens)),
        PromptPiece("suffix", len(suffix_tokens)),
        PromptPiece("markers", 3 + len(bos)),
    ]
    prefix_end = len(bos) + 1 + len(prefix_tokens)
    return PromptLayout(
        tuple(tokens),
        tuple(pieces),
        fim=True,
        cache_points=_cache_points(prefix_end, line_tokens),
        healing=healing,
    )


def _cache_points(prefix_end: int, line_tokens: int) -> tuple[int, ...]:
    """Positions where typing at the cursor makes the next prompt diverge.

    At the cursor or a token or two before it (the last word is re-tokenized as it grows), and at the
    start of the cursor line (a bigger edit).
    """
    points = {prefix_end, prefix_end - 1, prefix_end - 2, prefix_end - line_tokens}
    return tuple(sorted(point for point in points if point > 0))
