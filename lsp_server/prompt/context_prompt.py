"""The completion prompt as tokens: other files' snippets, then the file's context around the cursor.

What the user sees: suggestions that call the helpers defined in the other files they have open, with the
right names and arguments, because those definitions are in the prompt. With a model that has repo-level
tokens (Qwen2.5-Coder, Qwen3.5) the layout is the one it was trained on::

    <|repo_name|>name ⏎ <|file_sep|>path ⏎ code ... <|file_sep|>this/file.py ⏎
    <|fim_prefix|>prefix<|fim_suffix|>suffix<|fim_middle|>

and with other FIM models the snippets are comments at the top of the prefix. The snippet section comes
first and changes rarely, so the model's cache of it survives keystrokes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs

from lsp_server.context.assemble import FileContext
from lsp_server.context.neighbours import Snippet
from lsp_server.context.syntax_tree import comment_marker
from lsp_server.model_api import FimTokens, PromptLayout, PromptPiece
from lsp_server.prompt.fim import common_prefix
from lsp_server.prompt.healing import heal_prompt_tail

Tokenize = Callable[[str], list[int]]
Detokenize = Callable[[list[int]], str]


@attrs.frozen
class PromptInputs:
    """What goes into one completion prompt, besides the model's tokens."""

    context: FileContext
    snippets: Sequence[Snippet] = ()
    path: str = ""
    repo: str = ""
    language: str | None = None
    neighbour_budget: int = 0
    heal: bool = False


def _as_comment(snippet: Snippet, marker: str) -> str:
    lines = [f"{marker} Compare this snippet from {snippet.path}:"]
    lines += [f"{marker} {line}".rstrip() for line in snippet.text.rstrip("\n").split("\n")]
    return "\n".join(lines) + "\n"


def _fit_snippets(
    snippets: Sequence[Snippet], budget: int, render: Callable[[Snippet], list[int]]
) -> list[tuple[Snippet, list[int]]]:
    """Rendered snippets in order, skipping any that would overflow ``budget`` tokens."""
    chosen: list[tuple[Snippet, list[int]]] = []
    used = 0
    for snippet in snippets:
        tokens = render(snippet)
        if used + len(tokens) > budget:
            continue
        chosen.append((snippet, tokens))
        used += len(tokens)
    return chosen


def _snippet_piece(snippet: Snippet, tokens: int) -> PromptPiece:
    return PromptPiece(f"{snippet.kind}:{snippet.path}", tokens)


def _front(
    inputs: PromptInputs, fim: FimTokens | None, tokenize: Tokenize, bos: Sequence[int]
) -> tuple[list[int], str, list[PromptPiece]]:
    """The prompt's front: BOS and other files' snippets (repo-level tokens, else comments to put first)."""
    pieces: list[PromptPiece] = []
    head: list[int] = [*bos]
    comment_head = ""
    repo_name = fim.repo_name if fim is not None else None
    file_sep = fim.file_sep if fim is not None else None
    if repo_name is not None and file_sep is not None:
        if inputs.snippets and inputs.neighbour_budget > 0:
            head += [repo_name, *tokenize((inputs.repo or "workspace") + "\n")]
            chosen = _fit_snippets(
                inputs.snippets,
                inputs.neighbour_budget,
                lambda s: [file_sep, *tokenize(f"{s.path}\n{s.text.rstrip()}\n")],
            )
            for snippet, tokens in chosen:
                head += tokens
                pieces.append(_snippet_piece(snippet, len(tokens)))
            head += [file_sep, *tokenize(f"{inputs.path or 'untitled'}\n")]
    elif inputs.snippets and inputs.neighbour_budget > 0:
        marker = comment_marker(inputs.language)
        chosen = _fit_snippets(
            inputs.snippets, inputs.neighbour_budget, lambda s: tokenize(_as_comment(s, marker))
        )
        comment_head = "".join(_as_comment(snippet, marker) for snippet, _ in chosen)
        pieces += [_snippet_piece(snippet, len(tokens)) for snippet, tokens in chosen]
    pieces += [PromptPiece(piece.name, piece.tokens) for piece in inputs.context.pieces]
    return head, comment_head, pieces


def build_context_prompt(
    inputs: PromptInputs,
    *,
    fim: FimTokens | None,
    tokenize: Tokenize,
    detokenize: Detokenize,
    bos: Sequence[int] = (),
) -> PromptLayout:
    """Lay out snippets and file context as the model's tokens, with named pieces and cache points.

    The cursor layout: the prefix ends at the cursor, so a keystroke changes everything after it.
    """
    context = inputs.context
    head, comment_head, pieces = _front(inputs, fim, tokenize, bos)
    prefix_tokens = tokenize(comment_head + context.prefix) if context.prefix or comment_head else []
    healing = ""
    if inputs.heal and prefix_tokens:
        prefix_tokens, healing = heal_prompt_tail(prefix_tokens, detokenize, after_dot=fim is None)
    cursor_line = context.prefix.rsplit("\n", 1)[-1]
    line_tokens = len(tokenize(cursor_line)) if cursor_line else 0
    if fim is None:
        tokens = [*head, *prefix_tokens]
        prefix_end = len(tokens)
    else:
        suffix_tokens = tokenize(context.suffix) if context.suffix else []
        prefix_end = len(head) + 1 + len(prefix_tokens)
        tokens = [*head, fim.prefix, *prefix_tokens, fim.suffix, *suffix_tokens, fim.middle]
        pieces.append(PromptPiece("markers", 3 + len(bos)))
    points = {prefix_end, prefix_end - 1, prefix_end - 2, prefix_end - line_tokens - 1, len(head) + 1}
    return PromptLayout(
        tuple(tokens),
        tuple(pieces),
        fim=fim is not None,
        cache_points=tuple(sorted(p for p in points if 0 < p < len(tokens))),
        healing=healing,
    )


@attrs.frozen
class StablePrompt:
    """Everything in a region-layout prompt before the region: built once per place (see region.py)."""

    tokens: tuple[int, ...]
    """With FIM: up to and including the middle marker. Without: BOS and ``text`` tokenized alone."""
    text: str
    """Without FIM: the text in front of the region (snippet comments, outline, prefix window); the
    region is tokenized together with it, as the file would be."""
    pieces: tuple[PromptPiece, ...]
    context: FileContext
    fim: bool


def build_stable_prompt(
    inputs: PromptInputs, *, fim: FimTokens | None, tokenize: Tokenize, bos: Sequence[int] = ()
) -> StablePrompt:
    """The prompt front of a place: ``inputs.context`` must end its prefix at the region's start.

    With FIM: ``[snippets] <fim_prefix> outline + prefix window <fim_suffix> suffix <fim_middle>``, the
    region to follow as middle already written. Without FIM: the snippets as comments, the outline and the
    prefix window, the region to follow as the rest of the prefix.
    """
    context = inputs.context
    head, comment_head, pieces = _front(inputs, fim, tokenize, bos)
    text = comment_head + context.prefix
    if fim is None:
        return StablePrompt((*head, *tokenize(text)), text, tuple(pieces), context, fim=False)
    prefix_tokens = tokenize(text) if text else []
    suffix_tokens = tokenize(context.suffix) if context.suffix else []
    tokens = (*head, fim.prefix, *prefix_tokens, fim.suffix, *suffix_tokens, fim.middle)
    pieces.append(PromptPiece("markers", 3 + len(bos)))
    return StablePrompt(tokens, "", tuple(pieces), context, fim=True)


def region_prompt(
    stable: StablePrompt,
    region: str,
    *,
    tokenize: Tokenize,
    detokenize: Detokenize,
    heal: bool = False,
    bos: Sequence[int] = (),
) -> PromptLayout:
    """The whole prompt: the place's front, then the region typed there (token healing at its end).

    Cache points (where a hybrid model saves its recurrent state): the end of the front (kept apart:
    every keystroke in the place restores from there at worst), the starts of the region's last two
    lines, and the last tokens before the cursor.
    """
    lead = "" if stable.fim else stable.text
    offset = len(stable.tokens) if stable.fim else len(bos)  # where ``body`` starts in the prompt
    body = tokenize(lead + region) if lead or region else []
    front = len(stable.tokens) if stable.fim else len(bos) + common_prefix(stable.tokens[len(bos) :], body)
    points = {front}
    line_break = region.rfind("\n")
    for _ in range(2):  # the starts of the cursor line and the line above it, when the region has them
        if line_break < 0:
            break
        line_tokens = tokenize(lead + region[: line_break + 1])
        if body[: len(line_tokens)] == line_tokens:
            points.add(offset + len(line_tokens))
        line_break = region.rfind("\n", 0, line_break)
    healing = ""
    if heal and region:
        body, healing = heal_prompt_tail(body, detokenize, after_dot=not stable.fim)
    tokens = (*stable.tokens, *body) if stable.fim else (*bos, *body)
    points |= {len(tokens), len(tokens) - 1, len(tokens) - 2}
    pieces = (*stable.pieces, PromptPiece("region", len(tokens) - front))
    return PromptLayout(
        tokens,
        pieces,
        fim=stable.fim,
        cache_points=tuple(sorted(p for p in points if 0 < p <= len(tokens))),
        pinned_points=(front,) if 0 < front < len(tokens) else (),
        healing=healing,
    )
