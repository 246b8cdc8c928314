"""Generate docstring: document a definition in its language's convention (from its profile).

What the user sees: "Generate docstring for `name`"; the doc arrives as an edit for the version of the
file it was written for (refused if the file changed meanwhile), replacing the doc the definition had.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from lsp_server.actions.docstring import place_doc
from lsp_server.lsp.actions.base import Action, ActionError, Job, Offer, action, cancelled

COMMAND = "qwenLsp.generateDocstring"


def offer(at: Offer) -> list[types.CodeAction]:
    """Inside a definition."""
    if at.definition is None or not at.wants(types.CodeActionKind.RefactorRewrite):
        return []
    title = f"Generate docstring for `{at.definition.name}`"
    return [action(title, types.CodeActionKind.RefactorRewrite, COMMAND, at.where())]


async def run(job: Job) -> dict[str, Any]:
    """Write the doc and apply it if the document is still the one it was written for."""
    target = job.target()
    if target.definition is None or target.context is None:
        raise ActionError("put the cursor inside a function, method or class")
    symbol = target.definition.name
    prompt, messages = job.prompt(ACTION.template, job.variables())
    result = await job.generate(f"Documenting {symbol}", f"docstring {symbol}", messages)
    if result.stop_reason == "cancelled":
        return cancelled(prompt)
    placed = place_doc(target.snapshot.text, target.definition, result.text)
    if isinstance(placed, str):
        raise ActionError(f"no docstring for '{symbol}': {placed}")
    outcome = await job.apply_if_current(placed, f"docstring for {symbol}")
    return outcome | {"symbol": symbol, "generated": result.text, "prompt": prompt.provenance()}


ACTION = Action(command=COMMAND, order=20, template="docstring", offer=offer, run=run)
