"""A next-edit prediction: the user's last edit repeated, or one engine request (no LSP types here).

What the user sees: a suggested replacement after an edit settles. When the last edit's old text is
still somewhere in the file (a rename's next usage, the next call still written the old way) the same
edit is offered there at once, with no model (``nextEdit.repeat``); otherwise the model rewrites the
region around the cursor, at a lower priority than the completion of what they are typing (typing
preempts it), cancelled when they type on. Each carries its own provenance (the edits it was based on,
where the suggestion came from, the region, the tokens it cost, what was dropped).
"""

from __future__ import annotations

import time
from typing import Any

import attrs

from lsp_server.model_api import GenerationRequest, GenerationResult, ModelInfo, PromptLayout, Tokenizer
from lsp_server.next_edit.predict import (
    REGION_START,
    Edit,
    NextEditInputs,
    NextEditStop,
    PreparedPrompt,
    fence_opening,
    filter_edits,
    predicted_edits,
    prepare,
    repeat_edit,
    template_variables,
    text_prompt,
)
from lsp_server.prompt.styles import chat_completion_prompt
from lsp_server.prompt.templates import PromptLibrary
from lsp_server.settings import NextEditSettings

NEXT_EDIT_PRIORITY = 10
"""Below a typing completion (0), above speculation (20) and pre-warm (30)."""


@attrs.define
class _Stop:
    rule: NextEditStop | None = None

    def check(self, generated: str) -> int | None:
        return None if self.rule is None else self.rule.check(generated)


@attrs.frozen
class Prediction:
    """The edits a prediction offers and how it was made."""

    edits: tuple[Edit, ...]
    provenance: dict[str, Any] = attrs.field(factory=dict)


def make_next_edit_request(
    inputs: NextEditInputs, settings: NextEditSettings, prompts: PromptLibrary
) -> GenerationRequest:
    """The engine request: the region and prompt are chosen on the worker, with the model's tokenizer."""
    notes: dict[str, Any] = {}
    stop = _Stop()

    def build(info: ModelInfo, tok: Tokenizer) -> PromptLayout:
        started = time.perf_counter()
        prepared = prepare(inputs, tok.count)
        variables = template_variables(inputs, prepared)
        if settings.prompt_style == "zeta":
            text = prompts.render("next_edit_zeta", **variables).text
            opening = f"{REGION_START}\n{prepared.opening}"
            layout = text_prompt(text, opening)(info, tok)
        else:
            system = prompts.render("system", language=variables["language"]).text
            user = prompts.render("next_edit", **variables).text
            messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
            opening = fence_opening(inputs.language) + prepared.opening
            layout = chat_completion_prompt(messages, opening)(info, tok)
        stop.rule = NextEditStop(prepared.following)
        notes["prepared"] = prepared
        notes["context_ms"] = (time.perf_counter() - started) * 1000
        return layout

    return GenerationRequest(
        build_prompt=build,
        max_tokens=settings.max_tokens,
        stop_rule=stop,
        temperature=0.0,
        priority=NEXT_EDIT_PRIORITY,
        label="next edit",
        notes=notes,
        preemption="abandon",
    )


def repeated_prediction(inputs: NextEditInputs) -> Prediction | None:
    """The user's last edit made again at its next place, when there is one: no model needed.

    On the release-diff benchmark this is the right next edit far more often than a small model's
    rewrite, and it costs a text search instead of seconds of decoding (docs/BENCHMARKS.md).
    """
    repeat = repeat_edit(inputs.text, inputs.units, inputs.cursor)
    if repeat is None:
        return None
    kept, dropped = filter_edits(inputs.text, [repeat], inputs.units, inputs.language)
    if not kept:
        return None
    provenance = {"kind": "nextEdit", "edits": len(inputs.units), "sources": ["repeat"], "dropped": dropped}
    return Prediction(tuple(kept), provenance)


def finish_next_edit(inputs: NextEditInputs, result: GenerationResult, notes: dict[str, Any]) -> Prediction:
    """The edits of a finished request (filtered: see ``predict.filter_edits``)."""
    prepared: PreparedPrompt | None = notes.get("prepared")
    layout = result.prompt
    provenance: dict[str, Any] = {
        "kind": "nextEdit",
        "edits": len(inputs.units),
        "stopReason": result.stop_reason,
        "promptTokens": 0 if layout is None else layout.size,
        "evaluatedTokens": result.prompt_tokens_evaluated,
        "generatedTokens": result.generated_tokens,
        "timings": {
            "contextMs": round(float(notes.get("context_ms", 0.0)), 3),
            "queueMs": round(result.queue_ms, 3),
            "promptMs": round(result.prompt_ms, 3),
            "decodeMs": round(result.decode_ms, 3),
        },
    }
    if prepared is None or result.stop_reason in ("cancelled", "not_ready", "error", "prompt_too_long"):
        return Prediction((), provenance)
    provenance["region"] = [prepared.region.start_row, prepared.region.end_row]
    finished = result.stop_reason in ("stop_rule", "eos")
    edits = predicted_edits(prepared, result.text, finished)
    kept, dropped = filter_edits(inputs.text, edits, inputs.units, inputs.language)
    provenance["dropped"] = dropped
    provenance["sources"] = ["model"] * len(kept)
    return Prediction(tuple(kept), provenance)
