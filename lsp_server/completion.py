"""Inline completion as a pipeline of plain-data stages, with no LSP types in it.

document snapshot -> completion-kind decision (tree-sitter) -> token-budgeted FIM prompt -> engine request
-> post-processing. What the user sees: ghost text that continues the line (single-line) or fills the body
of a block just opened (multi-line), and nothing at all where a suggestion would only get in the way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import tree_sitter

from lsp_server.context.assemble import ContextBudget, FileContext, KeptWindow, assemble_file_context
from lsp_server.context.completion_kind import (
    CompletionDecision,
    CompletionKind,
    decide_completion_kind,
)
from lsp_server.context.languages import detect_language, parse
from lsp_server.context.neighbours import Snippet
from lsp_server.document import Cursor, DocumentSnapshot, locate, offset_of
from lsp_server.model_api import (
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    PromptLayout,
    StopRule,
    Tokenizer,
)
from lsp_server.postprocess.chat_answer import ChatAnswerStop, parse_chat_answer
from lsp_server.postprocess.stops import multi_line_stop, single_line_stop
from lsp_server.postprocess.syntax import PostprocessContext, block_close_stop, first_stop, postprocess
from lsp_server.prompt.context_prompt import (
    PromptInputs,
    StablePrompt,
    build_context_prompt,
    build_stable_prompt,
    region_prompt,
)
from lsp_server.prompt.region import Located, Place, Places, RegionBound
from lsp_server.prompt.styles import (
    HOLE,
    StyleChoice,
    answer_opening,
    chat_completion_prompt,
    hole_code,
    style_for,
)
from lsp_server.prompt.templates import PromptLibrary
from lsp_server.settings import CompletionSettings

logger = logging.getLogger(__name__)


@attrs.frozen
class CompletionPlan:
    """Everything decided about a completion before the model runs."""

    snapshot: DocumentSnapshot
    cursor: Cursor
    language: str | None
    decision: CompletionDecision
    prefix: str
    suffix: str
    tree: tree_sitter.Tree | None = None
    """The document's parse tree for exactly ``snapshot.text`` (None: parsed on the engine's worker)."""
    source: bytes | None = None
    """``snapshot.text`` as UTF-8, when the tree's keeper has it (None: encoded where needed)."""
    snippets: tuple[Snippet, ...] = ()
    """Code from other open files, most useful first."""
    path: str = ""
    repo: str = ""
    planned_ms: float = 0.0
    place: Place | None = None
    """Where the user is typing (the region layout); None: the cursor layout."""
    region: str = ""
    """The text typed in ``place`` so far: from the start of the place's line to the cursor."""
    arrived: bool = False
    """This request made ``place`` (the user arrived, or the region outgrew its bound)."""


@attrs.frozen
class Completion:
    """A suggestion and how it was made (the prompt's pieces, token counts, timings, rules applied)."""

    text: str
    provenance: dict[str, Any] = attrs.field(factory=dict)


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
    *,
    tree: tree_sitter.Tree | None = None,
    tree_current: bool = True,
    source: bytes | None = None,
    neighbours: Callable[[CompletionPlan], Sequence[Snippet]] | None = None,
    path: str = "",
    repo: str = "",
    places: Places | None = None,
    commit: bool = True,
) -> CompletionPlan | Skip:
    """Decide whether and how to complete at a position; never raises for bad input.

    ``tree`` is the parse tree of exactly ``snapshot.text`` when the caller keeps one (incrementally
    updated; ``tree_current`` False: an older parse edited to it), ``source`` that text as UTF-8 when it
    has it; ``neighbours`` picks snippets of other files for the plan. ``places`` (the region layout):
    where the user is typing in each document; ``commit`` False looks a place up without recording one
    (speculation about text the user has not typed).
    """
    started = time.perf_counter()
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
    decision = decide_completion_kind(
        text, cursor.line, cursor.character, language, tree=tree, tree_current=tree_current
    )
    if decision.kind is CompletionKind.NONE:
        return Skip(decision.reason)
    offset = offset_of(text, cursor)
    plan = CompletionPlan(
        snapshot,
        cursor,
        language,
        decision,
        text[:offset],
        text[offset:],
        tree,
        source=source if tree is not None else None,
        path=path,
        repo=repo,
    )
    if places is not None and settings.prompt_layout == "region":
        bound = RegionBound(settings.region_lines, settings.region_chars)
        located: Located = places.locate(snapshot.uri, text, offset, bound, commit=commit)
        plan = attrs.evolve(plan, place=located.place, region=located.region, arrived=located.arrived)
    if neighbours is not None:
        plan = attrs.evolve(plan, snippets=tuple(neighbours(plan)))
    return attrs.evolve(plan, planned_ms=(time.perf_counter() - started) * 1000)


def _postprocess_context(plan: CompletionPlan) -> PostprocessContext:
    return PostprocessContext(
        language=plan.language,
        prefix=plan.prefix,
        suffix=plan.suffix,
        multi_line=plan.decision.kind is CompletionKind.MULTI_LINE,
        indent_unit=plan.decision.indent_unit,
    )


def stop_rule_for(plan: CompletionPlan, settings: CompletionSettings) -> StopRule:
    """The rule that ends decoding for this kind of completion (and when the cursor's block closes)."""
    if plan.decision.kind is CompletionKind.MULTI_LINE and plan.decision.block_indent is not None:
        cursor_line = plan.prefix.rsplit("\n", 1)[-1]
        indent = len(cursor_line.expandtabs(4)) - len(cursor_line.expandtabs(4).lstrip())
        rule = multi_line_stop(plan.decision.block_indent, indent, max_lines=settings.max_lines_multi_line)
    else:
        rule = single_line_stop()
    if plan.language is None:
        return rule
    return first_stop(rule, block_close_stop(_postprocess_context(plan)))


def _stable_key(info: ModelInfo, settings: CompletionSettings) -> tuple[object, ...]:
    """What a place's prompt front depends on besides the document: the model, style and budgets."""
    return (
        info,
        settings.prompt_style,
        settings.prefix_tokens,
        settings.suffix_tokens,
        settings.outline_tokens,
        settings.neighbour_tokens,
    )


@attrs.define
class _StyledStop:
    """The completion's stop rule, applied inside the answer once a chat-style prompt is built."""

    inner: StopRule
    chat: ChatAnswerStop | None = None

    def check(self, generated: str) -> int | None:
        """The cut in the generated text (see ``StopRule``)."""
        return (self.chat or self.inner).check(generated)


CHAT_EXTRA_TOKENS = 8
"""Tokens a chat answer spends besides the code (its closing fence and line breaks)."""


def _chat_messages(
    plan: CompletionPlan, context: FileContext, prompts: PromptLibrary
) -> list[dict[str, str]]:
    """The system and user messages of a chat-style completion (templates ``system``, ``completion_chat``)."""
    language = plan.language or "text"
    system = prompts.render("system", language=language)
    user = prompts.render(
        "completion_chat",
        language=language,
        file_name=plan.path.rsplit("/", 1)[-1] or "untitled",
        kind="block" if plan.decision.kind is CompletionKind.MULTI_LINE else "line",
        hole=HOLE,
        code=hole_code(context.prefix, context.suffix),
        snippets=[{"path": snippet.path, "text": snippet.text.rstrip()} for snippet in plan.snippets],
    )
    return [{"role": "system", "content": system.text}, {"role": "user", "content": user.text}]


def make_request(
    plan: CompletionPlan, settings: CompletionSettings, prompts: PromptLibrary | None = None
) -> GenerationRequest:
    """The engine request for a plan: context assembled and prompt built on the engine's worker.

    The prompt style (``completion.promptStyle``) is settled there too, once the model is known;
    ``prompts`` renders the chat style's messages (the shipped templates when None).
    """
    notes: dict[str, Any] = {}

    def context_of(
        info: ModelInfo, tokenize: Tokenizer, keep: KeptWindow | None = None, *, suffix: bool = True
    ) -> FileContext:
        tree = plan.tree
        if tree is None and plan.language is not None:
            tree = parse(plan.language, plan.snapshot.text)
        budget = ContextBudget(
            prefix_tokens=settings.prefix_tokens,
            suffix_tokens=settings.suffix_tokens if suffix else 0,
            outline_tokens=settings.outline_tokens,
        )
        return assemble_file_context(
            plan.snapshot.text,
            tree,
            plan.language,
            len(plan.prefix),
            tokenize.count,
            budget,
            source=plan.source if tree is plan.tree else None,
            region_start=None if plan.place is None else plan.place.head_end,
            keep=keep,
        )

    def inputs(context: FileContext, info: ModelInfo) -> PromptInputs:
        return PromptInputs(
            context=context,
            snippets=plan.snippets,
            path=plan.path,
            repo=plan.repo,
            language=plan.language,
            neighbour_budget=settings.neighbour_tokens,
            heal=settings.token_healing and info.token_healing,
        )

    def stable_for(place: Place, info: ModelInfo, tokenize: Tokenizer, choice: StyleChoice) -> StablePrompt:
        key = _stable_key(info, settings)
        stable: StablePrompt | None = place.built.get(key)
        if stable is not None:
            notes["place"]["front"] = "reused"
            return stable
        grew_from: StablePrompt | None = place.inherited.get(key)
        keep = None
        if grew_from is not None:
            keep = KeptWindow(grew_from.context.window_start_line, grew_from.context.outline)
        fim = info.fim if choice.style == "fim" else None
        context = context_of(info, tokenize, keep, suffix=fim is not None)
        stable = build_stable_prompt(inputs(context, info), fim=fim, tokenize=tokenize, bos=info.bos)
        place.built[key] = stable
        kept = keep is not None and context.window_start_line == keep.start_row
        notes["place"]["front"] = "kept window" if kept else "built"
        return stable

    def chat_layout(info: ModelInfo, tokenize: Tokenizer) -> tuple[PromptLayout, FileContext]:
        context = context_of(info, tokenize)
        messages = _chat_messages(plan, context, prompts or PromptLibrary())
        written = answer_opening(plan.language or "", plan.prefix)
        opening = written if info.prefill else ""
        heal = settings.token_healing and info.token_healing
        layout = chat_completion_prompt(messages, opening, heal=heal)(info, tokenize)
        stop.chat = ChatAnswerStop(stop.inner, opening, plan.prefix, HOLE)
        notes["opening"] = opening
        # the fence and line breaks around the code; without the opening the model also writes it
        request.max_tokens += CHAT_EXTRA_TOKENS + (0 if opening else tokenize.count(written))
        return layout, context

    def build(info: ModelInfo, tokenize: Tokenizer) -> PromptLayout:
        started = time.perf_counter()
        place = plan.place
        choice = style_for(info, settings.prompt_style)
        notes["style"] = choice
        if choice.style == "chat":
            layout, context = chat_layout(info, tokenize)
        elif place is None:
            fim = info.fim if choice.style == "fim" else None
            context = context_of(info, tokenize, suffix=fim is not None)
            layout = build_context_prompt(
                inputs(context, info),
                fim=fim,
                tokenize=tokenize,
                detokenize=tokenize.detokenize,
                bos=info.bos,
            )
        else:
            notes["place"] = {
                "id": place.id,
                "lineage": place.lineage,
                "arrived": plan.arrived,
                "regionLines": plan.region.count("\n") + 1,
            }
            stable = stable_for(place, info, tokenize, choice)
            context = stable.context
            layout = region_prompt(
                stable,
                plan.region,
                tokenize=tokenize,
                detokenize=tokenize.detokenize,
                heal=settings.token_healing and info.token_healing,
                bos=info.bos,
            )
        notes["context_ms"] = (time.perf_counter() - started) * 1000
        notes["window"] = [context.window_start_line, context.window_end_line]
        return layout

    multi = plan.decision.kind is CompletionKind.MULTI_LINE
    stop = _StyledStop(stop_rule_for(plan, settings))
    request = GenerationRequest(
        build_prompt=build,
        max_tokens=settings.max_tokens_multi_line if multi else settings.max_tokens_single_line,
        stop_rule=stop,
        temperature=settings.temperature,
        priority=0,
        label=f"inline completion ({plan.decision.kind.value})",
        notes=notes,
        max_predict_ms=float(settings.max_predict_ms) if multi else 0.0,
    )
    return request


def _style(notes: dict[str, Any]) -> str:
    choice = notes.get("style")
    return choice.style if isinstance(choice, StyleChoice) else ""


def provenance(plan: CompletionPlan, result: GenerationResult, notes: dict[str, Any]) -> dict[str, Any]:
    """How a suggestion was made: the prompt's pieces with their token counts, reuse and timings."""
    layout = result.prompt
    return {
        "kind": plan.decision.kind.value,
        "language": plan.language,
        "pieces": [] if layout is None else [{"name": p.name, "tokens": p.tokens} for p in layout.pieces],
        "promptTokens": 0 if layout is None else layout.size,
        "healing": "" if layout is None else layout.healing,
        "evaluatedTokens": result.prompt_tokens_evaluated,
        "reusedTokens": result.reused_prefix_tokens,
        "reuse": result.reuse,
        "generatedTokens": result.generated_tokens,
        "stopReason": result.stop_reason,
        "window": notes.get("window"),
        "layout": "cursor" if plan.place is None or _style(notes) == "chat" else "region",
        "promptStyle": _style(notes),
        "promptStyleReason": notes["style"].reason if isinstance(notes.get("style"), StyleChoice) else "",
        "place": notes.get("place"),
        "timings": {
            "planMs": round(plan.planned_ms, 3),
            "contextMs": round(float(notes.get("context_ms", 0.0)), 3),
            "queueMs": round(result.queue_ms, 3),
            "promptMs": round(result.prompt_ms, 3),
            "decodeMs": round(result.decode_ms, 3),
        },
    }


def generated_code(plan: CompletionPlan, notes: dict[str, Any], text: str) -> str:
    """The completion in what the model wrote so far: for the chat style, the code of its answer."""
    if _style(notes) == "chat":
        text = parse_chat_answer(str(notes.get("opening", "")) + text, prefix=plan.prefix, suffix=plan.suffix)
    return visible_start(plan, text)


def visible_start(plan: CompletionPlan, text: str) -> str:
    """The model's text without the extra space it puts after indentation the editor already typed.

    A model that saw the indentation as its own token tends to start with one more space (its usual
    ``"   " + " return"`` split) when token healing could not take the indentation back.
    """
    cursor_line = plan.prefix.rsplit("\n", 1)[-1]
    if cursor_line and not cursor_line.strip() and text[:1] in (" ", "\t"):
        return text.lstrip(" \t")
    return text


def finish_completion(
    plan: CompletionPlan, result: GenerationResult, notes: dict[str, Any] | None = None
) -> Completion | None:
    """Post-process the model's text into what the editor shows; None when nothing useful is left."""
    if result.stop_reason in ("cancelled", "not_ready", "error", "prompt_too_long", "unavailable"):
        return None
    started = time.perf_counter()
    text = result.text
    rules: list[str] = []
    if notes is not None and _style(notes) == "chat":
        opening = result.prompt.prefill if result.prompt is not None else ""
        text = parse_chat_answer(opening + text, prefix=plan.prefix, suffix=plan.suffix, hole=HOLE)
        rules.append("chat_answer")
    if plan.decision.kind is CompletionKind.SINGLE_LINE:
        text = text.split("\n", 1)[0].rstrip("\r")
    visible = visible_start(plan, text)
    if visible != text:
        text = visible
        rules.append("leading_space")
    done = postprocess(text, _postprocess_context(plan))
    details = provenance(plan, result, notes or {})
    details["rules"] = [*rules, *done.rules]
    details["timings"]["postprocessMs"] = round((time.perf_counter() - started) * 1000, 3)
    if done.text is None or not done.text.strip():
        logger.debug(
            "no suggestion: the model wrote %r (healing %r), rules %s left nothing",
            result.text,
            details.get("healing"),
            details["rules"],
        )
        return None
    return Completion(done.text, details)
