"""Explain: what a function, method, class or selection does, as a Markdown page.

What the user sees: "Explain `name`" (or "Explain the selection") in the light bulb; the answer streams
into a cancellable progress and opens as a Markdown page from the cache dir (a message in clients that
cannot open documents).
"""

from __future__ import annotations

import logging
from typing import Any

from lsprotocol import types

from lsp_server.actions.tasks import explain_markdown, safe_file_stem
from lsp_server.lsp.actions.base import Action, ActionError, Job, Offer, action, cache_dir, cancelled

logger = logging.getLogger(__name__)

COMMAND = "qwenLsp.explain"


def offer(at: Offer) -> list[types.CodeAction]:
    """Inside a definition, or on any selection in a supported language."""
    if not at.wants(types.CodeActionKind.Empty) or at.language is None:
        return []
    definition = at.definition
    if definition is not None:
        title = f"Explain `{definition.name}`"
        if at.selected and (at.start.line != definition.anchor_line or at.end.line != definition.end_line):
            title = f"Explain the selection (in `{definition.name}`)"
    elif at.selected:
        title = "Explain the selection"
    else:
        return []
    return [action(title, types.CodeActionKind.Empty, COMMAND, at.where(with_selection=True))]


async def run(job: Job) -> dict[str, Any]:
    """Explain the definition (or selection) and show the answer as Markdown."""
    target = job.target()
    if target.definition is None and target.selection is None:
        raise ActionError("put the cursor inside a function, method or class (or select some code)")
    variables = job.variables(selection=True)
    symbol = str(variables["symbol"])
    prompt, messages = job.prompt(ACTION.template, variables)
    result = await job.generate(f"Explaining {symbol}", f"explain {symbol}", messages)
    if result.stop_reason == "cancelled":
        return cancelled(prompt)
    line = target.definition.start_line if target.definition is not None else target.line
    markdown = explain_markdown(symbol, str(variables["kind"]), job.file_name, line, result.text)
    uri: str | None = None
    if job.can_show_documents:
        folder = cache_dir() / "explanations"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{safe_file_stem(symbol)}.md"
        path.write_text(markdown, encoding="utf-8")
        uri = path.as_uri()
        if not await job.show(uri):
            logger.info("the client did not open %s", uri)
    else:
        job.message(markdown)
    return {
        "symbol": symbol,
        "markdown": markdown,
        "uri": uri,
        "generated": result.text,
        "stopReason": result.stop_reason,
        "prompt": prompt.provenance(),
    }


ACTION = Action(command=COMMAND, order=10, template="explain", offer=offer, run=run)
