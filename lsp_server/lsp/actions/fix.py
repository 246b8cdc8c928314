"""Fix a diagnostic: a replacement for the lines a diagnostic covers.

What the user sees: "Fix: <message>" on each diagnostic in the request; the fix arrives as an edit for the
version of the file it was made for (refused if the file changed meanwhile).
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from lsp_server.actions.tasks import context_lines, fix_edit
from lsp_server.lsp.actions.base import Action, ActionError, Job, Offer, action, cancelled

COMMAND = "qwenLsp.fixDiagnostic"


def offer(at: Offer) -> list[types.CodeAction]:
    """One fix per diagnostic the client sent along."""
    if at.language is None or not at.wants(types.CodeActionKind.QuickFix):
        return []
    fixes = []
    for diagnostic in at.diagnostics:
        message = diagnostic.message.strip().splitlines()[0] if diagnostic.message.strip() else "problem"
        argument = {
            "uri": at.snapshot.uri,
            "line": diagnostic.range.start.line,
            "character": diagnostic.range.start.character,
            "endLine": diagnostic.range.end.line,
            "endCharacter": diagnostic.range.end.character,
            "message": diagnostic.message,
        }
        fix = action(f"Fix: {message[:80]}", types.CodeActionKind.QuickFix, COMMAND, argument)
        fix.diagnostics = [diagnostic]
        fixes.append(fix)
    return fixes


async def run(job: Job) -> dict[str, Any]:
    """Ask for the corrected lines and apply them if the document is unchanged."""
    # The diagnostic's lines, not a selection: the end column does not matter.
    target = job.target({key: value for key, value in job.argument.items() if key != "endCharacter"})
    lines = target.snapshot.text.split("\n")
    end_line = min(max(target.end_line, target.line), len(lines) - 1)
    message = job.argument.get("message")
    variables = job.variables() | {
        "diagnostic": message if isinstance(message, str) and message else "the code here is wrong",
        "first_line": target.line + 1,
        "lines": "\n".join(lines[target.line : end_line + 1]),
        "context": context_lines(target.snapshot.text, target.definition, target.line, end_line),
    }
    prompt, messages = job.prompt(ACTION.template, variables)
    result = await job.generate("Fixing a diagnostic", f"fix line {target.line + 1}", messages)
    if result.stop_reason == "cancelled":
        return cancelled(prompt)
    edit = fix_edit(target.snapshot.text, target.line, end_line, result.text)
    if isinstance(edit, str):
        raise ActionError(f"no fix: {edit}")
    outcome = await job.apply_if_current(edit, "fix")
    return outcome | {"generated": result.text, "prompt": prompt.provenance()}


ACTION = Action(command=COMMAND, order=40, template="fix", offer=offer, run=run)
