"""Write tests: unit tests for a function or method, in a new file (never over an existing one).

What the user sees: "Write tests for `name`"; the tests open in a new file named by the language's
convention next to the source (through a workspace edit the client applies), or in the cache dir when the
client cannot create files.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from lsprotocol import types

from lsp_server.actions.tasks import extract_code, module_name, unit_test_file_name, unused_path
from lsp_server.lsp.actions.base import (
    Action,
    ActionError,
    Job,
    Offer,
    action,
    cache_dir,
    cancelled,
    file_name,
    local_path,
)

COMMAND = "qwenLsp.writeTests"


def offer(at: Offer) -> list[types.CodeAction]:
    """Inside a function or method (not a class)."""
    if at.definition is None or at.definition.kind == "class" or not at.wants(types.CodeActionKind.Empty):
        return []
    title = f"Write tests for `{at.definition.name}`"
    return [action(title, types.CodeActionKind.Empty, COMMAND, at.where())]


def _can_create_files(job: Job) -> bool:
    workspace = job.ls.client_capabilities.workspace
    edit_caps = workspace.workspace_edit if workspace is not None else None
    return bool(
        workspace is not None
        and workspace.apply_edit
        and edit_caps is not None
        and edit_caps.document_changes
        and edit_caps.resource_operations
        and types.ResourceOperationKind.Create in edit_caps.resource_operations
    )


def _create_file(uri: str, content: str) -> types.WorkspaceEdit:
    """A workspace edit that creates ``uri`` (failing if it exists) holding ``content``."""
    return types.WorkspaceEdit(
        document_changes=[
            types.CreateFile(
                uri=uri, options=types.CreateFileOptions(overwrite=False, ignore_if_exists=False)
            ),
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
                edits=[
                    types.TextEdit(
                        range=types.Range(start=types.Position(0, 0), end=types.Position(0, 0)),
                        new_text=content,
                    )
                ],
            ),
        ]
    )


def _free_path(folder: Path, name: str) -> Path:
    return Path(str(unused_path(PurePosixPath(folder.as_posix()), name, lambda p: Path(str(p)).exists())))


async def run(job: Job) -> dict[str, Any]:
    """Generate the tests into a new file and open it."""
    target = job.target()
    if target.definition is None or target.context is None:
        raise ActionError("put the cursor inside a function or method")
    source = local_path(target.snapshot.uri)
    source_posix = (
        PurePosixPath(source.as_posix()) if source else PurePosixPath(file_name(target.snapshot.uri))
    )
    name = unit_test_file_name(source_posix, target.language, target.definition.name)
    variables = job.variables(file=source_posix.name) | {
        "module": module_name(source_posix),
        "test_file_name": name,
    }
    symbol = target.definition.name
    prompt, messages = job.prompt(ACTION.template, variables)
    result = await job.generate(f"Writing tests for {symbol}", f"tests {symbol}", messages)
    if result.stop_reason == "cancelled":
        return cancelled(prompt)
    content = extract_code(result.text).rstrip("\n") + "\n"
    applied = False
    if _can_create_files(job) and source is not None:
        uri = _free_path(source.parent, name).as_uri()
        response = await job.ls.workspace_apply_edit_async(
            types.ApplyWorkspaceEditParams(edit=_create_file(uri, content), label=f"tests for {symbol}")
        )
        applied = bool(response.applied)
    if not applied:
        folder = cache_dir() / "tests"
        folder.mkdir(parents=True, exist_ok=True)
        path = _free_path(folder, name)
        with path.open("x", encoding="utf-8") as handle:  # "x": never overwrite
            handle.write(content)
        uri = path.as_uri()
    if job.can_show_documents:
        await job.show(uri)
    else:
        job.message(f"Tests written to {uri}")
    return {
        "symbol": symbol,
        "uri": uri,
        "created": applied,
        "content": content,
        "generated": result.text,
        "prompt": prompt.provenance(),
    }


ACTION = Action(command=COMMAND, order=30, template="tests", offer=offer, run=run)
