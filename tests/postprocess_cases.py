"""The post-processing cases every language has (``Lang``), shared by tests/test_postprocess_syntax.py and
the per-language tests in tests/languages/ (each of those defines ``POSTPROCESS = Lang(...)``)."""

from __future__ import annotations

import attrs

from lsp_server.context.completion_kind import CompletionKind, decide_completion_kind
from lsp_server.postprocess.syntax import PostprocessContext

CURSOR = "█"


def context(language: str | None, document: str, indent_unit: str | None = None) -> PostprocessContext:
    """Build the context the server would: kind and indent unit decided by completion_kind."""
    prefix, suffix = document.split(CURSOR)
    line = prefix.count("\n")
    character = len(prefix) - (prefix.rfind("\n") + 1)
    decision = decide_completion_kind(prefix + suffix, line, character, language)
    assert decision.kind is not CompletionKind.NONE, decision.reason
    return PostprocessContext(
        language=language,
        prefix=prefix,
        suffix=suffix,
        multi_line=decision.kind is CompletionKind.MULTI_LINE,
        indent_unit=indent_unit or decision.indent_unit,
    )


@attrs.frozen
class Lang:
    """Real-looking code in one language, with recorded-style model outputs and what should be shown."""

    name: str
    # A function whose empty body the cursor starts (multi-line), followed by another function.
    block: str
    # The model writes the body, the closing brace / dedent / `end`, and starts the next function.
    runs_past: str
    runs_past_kept: str
    # The body, nested one level with the wrong indentation unit (or tabs/spaces swapped).
    wrong_indent: str
    wrong_indent_fixed: str
    # The first line is fine, a later line is syntax garbage.
    broken: str
    broken_kept: str
    # The cursor opens a block whose body already ends with a return statement.
    body: str
    repeats: str
    repeats_kept: str
    repeats_only: str
    # Inside a call whose `)` the editor auto-inserted.
    call: str
    call_closes_twice: str
    call_closes_twice_kept: str
    call_unbalanced: str
    call_unbalanced_kept: str


def code(*lines: str) -> str:
    """Join source lines with newlines (keeps the snippets below readable)."""
    return "\n".join(lines)
