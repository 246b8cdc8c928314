"""Inline completion as a pipeline of plain-data stages, with no LSP types in it.

document snapshot -> completion-kind decision (tree-sitter) -> token-budgeted FIM prompt -> engine request
-> post-processing. What the user sees: ghost text that continues the line (single-line) or fills the body
of a block just opened (multi-line), and nothing at all where a suggestion would only get in the way.
"""

from __future__ import annotations

import attrs

from lsp_server.context.completion_kind import (
    CompletionDecision,
    CompletionKind,
    decide_completion_kind,
)
from lsp_server.context.languages import detect_language
from lsp_server.document import Cursor, DocumentSnapshot, locate, offset_of
from lsp_server.engine.engine import (
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    ModelTokenizer,
    StopRule,
)
from lsp_server.postprocess.stops import multi_line_stop, single_line_stop
from lsp_server.postprocess.trim import finalize_completion, is_useless, trim_suffix_overlap
from lsp_server.prompt.fim import PromptLayout, build_fim_prompt
from lsp_server.settings import CompletionSettings


@attrs.frozen
class CompletionPlan:
    """Everything decided about a completion before the model runs."""

    snapshot: DocumentSnapshot
    cursor: Cursor
    language: str | None
    decision: CompletionDecision
    prefix: str
    suffix: str


@attrs.frozen
class Skip:
    """Why no completion is offered here."""

    reason: str


def plan_completion(
    snapshot: DocumentSnapshot,
    line: int,
    column: int,
    settings: CompletionSettings,
    encoding: str = "utf-16",
) -> CompletionPlan | Skip:
    """Decide whether and how to complete at a position; never raises for bad input."""
    text = snapshot.text
    if len(text) > settings.max_document_bytes or (
        len(text) * 4 > settings.max_document_bytes
        and len(text.encode("utf-8", errors="replace")) > settings.max_document_bytes
    ):
        return Skip(f"document is larger than {settings.max_document_bytes} bytes")
    if "\x00" in text:
        return Skip("document looks binary (contains NUL bytes)")
    cursor = locate(text, line, column, encoding)
    if cursor is None:
        return Skip(f"position {line}:{column} is outside the document")
    language = detect_language(snapshot.language_id, snapshot.uri)
    if language is None:
        return Skip(f"unknown language '{snapshot.language_id}'")
    decision = decide_completion_kind(text, cursor.line, cursor.character, language)
    if decision.kind is CompletionKind.NONE:
        return Skip(decision.reason)
    offset = offset_of(text, cursor)
    return CompletionPlan(snapshot, cursor, language, decision, text[:offset], text[offset:])


def stop_rule_for(plan: CompletionPlan, settings: CompletionSettings) -> StopRule:
    """The rule that ends decoding for this kind of completion."""
    if plan.decision.kind is CompletionKind.MULTI_LINE and plan.decision.block_indent is not None:
        cursor_line = plan.prefix.rsplit("\n", 1)[-1]
        indent = len(cursor_line.expandtabs(4)) - len(cursor_line.expandtabs(4).lstrip())
        return multi_line_stop(plan.decision.block_indent, indent, max_lines=settings.max_lines_multi_line)
    return single_line_stop()


def make_request(plan: CompletionPlan, settings: CompletionSettings) -> GenerationRequest:
    """The engine request for a plan: prompt built on the engine's worker, with its tokenizer."""

    def build(info: ModelInfo, tokenize: ModelTokenizer) -> PromptLayout:
        return build_fim_prompt(
            plan.prefix,
            plan.suffix,
            fim=info.fim,
            tokenize=tokenize,
            prefix_budget=settings.prefix_tokens,
            suffix_budget=settings.suffix_tokens if info.fim else 0,
            bos=info.bos,
        )

    multi = plan.decision.kind is CompletionKind.MULTI_LINE
    return GenerationRequest(
        build_prompt=build,
        max_tokens=settings.max_tokens_multi_line if multi else settings.max_tokens_single_line,
        stop_rule=stop_rule_for(plan, settings),
        temperature=settings.temperature,
        priority=0,
        label=f"inline completion ({plan.decision.kind.value})",
    )


def finish_completion(plan: CompletionPlan, result: GenerationResult) -> str | None:
    """Post-process the model's text into what the editor shows; None when nothing useful is left."""
    if result.stop_reason in ("cancelled", "not_ready", "error", "prompt_too_long"):
        return None
    text = result.text
    if plan.decision.kind is CompletionKind.SINGLE_LINE:
        text = text.split("\n", 1)[0].rstrip("\r")
    text = trim_suffix_overlap(text, plan.suffix)
    text = finalize_completion(text)
    if is_useless(text):
        return None
    return text
