"""End to end: code actions (explain, docstring) with a real chat model, cancellation, editable prompts."""

from __future__ import annotations

import ast
import asyncio
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled
from pytest_lsp import LanguageClient

from tests.conftest import inline_client_capabilities, lsp_session, open_document, plain, stats, wait_for

SOURCE = """import math


def hypotenuse(a: float, b: float) -> float:
    total = square(a) + square(b)
    return math.sqrt(total)


def square(x: float) -> float:
    return x * x
"""


def action_capabilities(
    *, show_document: bool = True, configuration: bool = False
) -> types.ClientCapabilities:
    caps = inline_client_capabilities()
    caps.window = types.WindowClientCapabilities(
        work_done_progress=True,
        show_document=types.ShowDocumentClientCapabilities(support=True) if show_document else None,
    )
    caps.workspace = types.WorkspaceClientCapabilities(
        apply_edit=True,
        workspace_edit=types.WorkspaceEditClientCapabilities(
            document_changes=True, resource_operations=[types.ResourceOperationKind.Create]
        ),
        configuration=configuration,
        did_change_configuration=types.DidChangeConfigurationClientCapabilities(dynamic_registration=False),
    )
    return caps


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    return root


def private_dirs(tmp_path: Path) -> dict[str, str]:
    """Cache and config dirs of the server under test, away from the user's own."""
    return {"XDG_CACHE_HOME": str(tmp_path / "cache"), "XDG_CONFIG_HOME": str(tmp_path / "config")}


@asynccontextmanager
async def action_session(
    smollm2_path: Path, workspace: Path, tmp_path: Path, max_tokens: int | dict[str, Any]
) -> AsyncIterator[LanguageClient]:
    """A server rooted at ``workspace`` with private dirs, a client that takes edits and shows documents."""
    options = max_tokens if isinstance(max_tokens, dict) else {"actions": {"maxTokens": max_tokens}}
    async with lsp_session(
        smollm2_path,
        root=workspace,
        env=private_dirs(tmp_path),
        capabilities=action_capabilities(),
        options=options,
    ) as (client, _):
        yield client


async def execute(client: LanguageClient, command: str, argument: dict[str, Any]) -> dict[str, Any]:
    result = plain(
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=command, arguments=[argument])
        )
    )
    assert isinstance(result, dict)
    return result


async def code_action_titles(client: LanguageClient, uri: str, line: int, character: int) -> list[str]:
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=types.Position(line, character), end=types.Position(line, character)),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    return [item.title for item in result or []]


async def test_explain_offered_inside_a_function_only(
    smollm2_path: Path, workspace: Path, tmp_path: Path
) -> None:
    async with lsp_session(
        smollm2_path, root=workspace, env=private_dirs(tmp_path), capabilities=action_capabilities()
    ) as (client, init):
        assert init.capabilities.execute_command_provider is not None
        commands = set(init.capabilities.execute_command_provider.commands)
        assert {
            "qwenLsp.explain",
            "qwenLsp.generateDocstring",
            "qwenLsp.fixDiagnostic",
            "qwenLsp.writeTests",
        } <= commands
        uri = (workspace / "geometry.py").as_uri()
        open_document(client, uri, "python", SOURCE)
        inside = await code_action_titles(client, uri, 4, 8)
        assert any(title.startswith("Explain") and "hypotenuse" in title for title in inside), inside
        assert any(title.startswith("Generate docstring") for title in inside)
        assert any(title.startswith("Write tests") for title in inside)
        assert not any(title.startswith("Explain") for title in await code_action_titles(client, uri, 2, 0))
        # A diagnostic in the context is offered as a fix.
        diagnostic = types.Diagnostic(
            range=types.Range(start=types.Position(4, 4), end=types.Position(4, 33)), message="undefined name"
        )
        result = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=diagnostic.range,
                context=types.CodeActionContext(diagnostics=[diagnostic]),
            )
        )
        assert any(item.title.startswith("Fix") for item in result or [])


async def test_explain_streams_progress_and_shows_the_model_answer(
    smollm2_path: Path, workspace: Path, tmp_path: Path
) -> None:
    async with action_session(smollm2_path, workspace, tmp_path, 48) as client:
        uri = (workspace / "geometry.py").as_uri()
        open_document(client, uri, "python", SOURCE)
        result = await execute(client, "qwenLsp.explain", {"uri": uri, "line": 4, "character": 8})
        assert result["symbol"] == "hypotenuse"
        generated = result["generated"].strip()
        assert generated, result
        # The shown document is a file in the cache dir named after the symbol, holding the model's answer.
        assert [shown.uri for shown in client.shown_documents] == [result["uri"]]
        path = Path(urllib.parse.unquote(urllib.parse.urlsplit(result["uri"]).path))
        assert path.name == "hypotenuse.md" and str(path).startswith(str(tmp_path / "cache"))
        body = path.read_text(encoding="utf-8")
        assert body == result["markdown"] and generated in body
        info = await stats(client)
        assert info["decodedTokens"] >= 1
        # The prompt had the definition, the import and the signature it calls.
        prompt = result["prompt"]["text"]
        assert "import math" in prompt and "def square(x: float) -> float" in prompt
        assert "total = square(a) + square(b)" in prompt
        # Progress: begin, at least one report with streamed text, end.
        reports = [values for token, values in client.progress_reports.items() if "action" in str(token)]
        assert len(reports) == 1
        kinds = [type(value).__name__ for value in reports[0]]
        assert kinds[0] == "WorkDoneProgressBegin" and kinds[-1] == "WorkDoneProgressEnd"
        assert "WorkDoneProgressReport" in kinds
        assert reports[0][0].cancellable is True


async def _wait_decoding(client: LanguageClient, label: str) -> None:
    latest: dict[str, Any] = {}

    async def decoding() -> bool:
        latest.update(await stats(client))
        return (
            bool(latest["busy"])
            and str(latest["currentLabel"]).startswith(label)
            and latest["currentDecoded"] >= 3
        )

    deadline = asyncio.get_running_loop().time() + 600
    while not await decoding():
        assert asyncio.get_running_loop().time() < deadline, latest
        await asyncio.sleep(0.01)


async def _wait_idle(client: LanguageClient) -> dict[str, Any]:
    while True:
        info = await stats(client)
        if not info["busy"]:
            return info
        await asyncio.sleep(0.01)


LONG_ACTIONS = {"actions": {"maxTokens": 2000}}


@asynccontextmanager
async def long_explain_session(
    smollm2_path: Path, workspace: Path, tmp_path: Path
) -> AsyncIterator[tuple[LanguageClient, str]]:
    """A server allowed long answers, with geometry.py open: explain runs long enough to be cancelled."""
    async with action_session(smollm2_path, workspace, tmp_path, LONG_ACTIONS) as client:
        uri = (workspace / "geometry.py").as_uri()
        open_document(client, uri, "python", SOURCE)
        yield client, uri


async def test_cancel_request_stops_the_explain_generation(
    smollm2_path: Path, workspace: Path, tmp_path: Path
) -> None:
    async with long_explain_session(smollm2_path, workspace, tmp_path) as (client, uri):
        params = types.ExecuteCommandParams(
            command="qwenLsp.explain", arguments=[{"uri": uri, "line": 4, "character": 8}]
        )
        future = client.protocol.send_request(types.WORKSPACE_EXECUTE_COMMAND, params, msg_id="explain-1")
        await _wait_decoding(client, "explain")
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="explain-1"))
        with pytest.raises(JsonRpcRequestCancelled):
            await asyncio.wrap_future(future)
        info = await _wait_idle(client)
        assert info["cancelled"] == 1
        assert info["lastDecodedAfterCancel"] <= 1
        await asyncio.sleep(0.3)
        assert (await stats(client))["decodedTokens"] == info["decodedTokens"]
        assert client.shown_documents == []


async def test_progress_cancel_stops_the_explain_generation(
    smollm2_path: Path, workspace: Path, tmp_path: Path
) -> None:
    async with long_explain_session(smollm2_path, workspace, tmp_path) as (client, uri):
        running = asyncio.ensure_future(
            execute(client, "qwenLsp.explain", {"uri": uri, "line": 4, "character": 8})
        )
        await _wait_decoding(client, "explain")
        token = next(token for token in client.progress_reports if "action" in str(token))
        client.protocol.notify(
            types.WINDOW_WORK_DONE_PROGRESS_CANCEL, types.WorkDoneProgressCancelParams(token=token)
        )
        result = await running
        assert result["cancelled"] is True
        info = await _wait_idle(client)
        assert info["cancelled"] == 1 and info["lastDecodedAfterCancel"] <= 1
        assert isinstance(client.progress_reports[token][-1], types.WorkDoneProgressEnd)


DOC_SOURCE = """def add(a: int, b: int) -> int:
    return a + b
"""


def change(client: LanguageClient, uri: str, version: int, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def _track_edits(
    client: LanguageClient, texts: dict[str, tuple[int, str]]
) -> list[types.ApplyWorkspaceEditParams]:
    """Act as an editor that applies versioned edits to its own copy of the documents."""
    received: list[types.ApplyWorkspaceEditParams] = []

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        received.append(params)
        for change in params.edit.document_changes or []:
            assert isinstance(change, types.TextDocumentEdit)
            version, text = texts[change.text_document.uri]
            if change.text_document.version != version:
                return types.ApplyWorkspaceEditResult(applied=False, failure_reason="stale version")
            lines = text.split("\n")
            for edit in change.edits:
                assert isinstance(edit, types.TextEdit)
                start, end = edit.range.start.line, edit.range.end.line
                head = "\n".join(lines[:start]) + ("\n" if start else "")
                text = head + edit.new_text + "\n".join(lines[end:])
            texts[change.text_document.uri] = (version + 1, text)
        return types.ApplyWorkspaceEditResult(applied=True)

    return received


async def test_docstring_is_applied_under_the_def_and_refused_when_stale(
    smollm2_path: Path, workspace: Path, tmp_path: Path
) -> None:
    async with action_session(smollm2_path, workspace, tmp_path, 32) as client:
        uri = (workspace / "calc.py").as_uri()
        texts = {uri: (1, DOC_SOURCE)}
        received = _track_edits(client, texts)
        open_document(client, uri, "python", DOC_SOURCE)
        result = await execute(client, "qwenLsp.generateDocstring", {"uri": uri, "line": 1, "character": 4})
        assert result["applied"] is True, result
        new_text = texts[uri][1]
        lines = new_text.split("\n")
        assert lines[0] == "def add(a: int, b: int) -> int:"
        assert lines[1].startswith('    """')
        assert new_text.endswith("    return a + b\n")
        tree = ast.parse(new_text)
        function = tree.body[0]
        assert isinstance(function, ast.FunctionDef) and ast.get_docstring(function)
        assert result["edit"]["documentChanges"][0]["textDocument"]["version"] == 1

        change(client, uri, 2, new_text)  # the editor reports its edit

        # Stale: the user types while the docstring is being written.
        stale = asyncio.ensure_future(
            execute(client, "qwenLsp.generateDocstring", {"uri": uri, "line": 1, "character": 4})
        )
        await wait_for(lambda: sum("action" in str(token) for token in client.progress_reports) == 2)
        change(client, uri, 3, new_text + "\n# edited\n")
        outcome = await stale
        assert outcome["applied"] is False and outcome["reason"] == "stale"
        assert len(received) == 1
        await wait_for(
            lambda: any("changed while" in message.message for message in client.messages), timeout=10
        )


async def test_edited_prompt_file_changes_the_very_next_request(
    smollm2_path: Path, workspace: Path, tmp_path: Path
) -> None:
    prompts = workspace / ".qwen-lsp" / "prompts"
    prompts.mkdir(parents=True)
    template = prompts / "explain.j2"
    template.write_text("Explain `{{ symbol }}` briefly. MARKER-ONE\n{{ definition }}\n", encoding="utf-8")
    async with action_session(smollm2_path, workspace, tmp_path, 8) as client:
        uri = (workspace / "geometry.py").as_uri()
        open_document(client, uri, "python", SOURCE)
        argument = {"uri": uri, "line": 9, "character": 4}
        first = await execute(client, "qwenLsp.explain", argument)
        assert first["prompt"]["source"] == "workspace" and first["prompt"]["template"] == str(template)
        assert "MARKER-ONE" in first["prompt"]["text"] and "def square" in first["prompt"]["text"]
        template.write_text(
            "Explain `{{ symbol }}` in one line. MARKER-TWO\n{{ definition }}\n", encoding="utf-8"
        )
        second = await execute(client, "qwenLsp.explain", argument)
        assert "MARKER-TWO" in second["prompt"]["text"] and "MARKER-ONE" not in second["prompt"]["text"]
        assert second["prompt"]["sha256"] != first["prompt"]["sha256"]
        # A template that fails keeps the previous one and says so in the editor.
        template.write_text("Explain {{ symbol | no_such_filter }} MARKER-THREE\n", encoding="utf-8")
        third = await execute(client, "qwenLsp.explain", argument)
        assert "MARKER-TWO" in third["prompt"]["text"]
        await wait_for(
            lambda: any(str(template) in message.message for message in client.messages), timeout=10
        )


async def test_write_tests_opens_a_new_file_and_never_overwrites(
    qwen35_path: Path, workspace: Path, tmp_path: Path
) -> None:
    existing = workspace / "test_geometry_hypotenuse.py"
    existing.write_text("# the user's own tests\n", encoding="utf-8")
    async with lsp_session(
        qwen35_path,
        root=workspace,
        env=private_dirs(tmp_path),
        capabilities=action_capabilities(),
        options={"actions": {"maxTokens": 16}},
    ) as (client, _):
        edits: list[types.WorkspaceEdit] = []

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            edits.append(params.edit)
            for change in params.edit.document_changes or []:
                if isinstance(change, types.CreateFile):
                    assert change.options is not None and not change.options.overwrite
                    path = Path(urllib.parse.unquote(urllib.parse.urlsplit(change.uri).path))
                    with path.open("x", encoding="utf-8"):
                        pass
                elif isinstance(change, types.TextDocumentEdit):
                    path = Path(urllib.parse.unquote(urllib.parse.urlsplit(change.text_document.uri).path))
                    path.write_text("".join(edit.new_text for edit in change.edits), encoding="utf-8")
            return types.ApplyWorkspaceEditResult(applied=True)

        uri = (workspace / "geometry.py").as_uri()
        open_document(client, uri, "python", SOURCE)
        result = await execute(client, "qwenLsp.writeTests", {"uri": uri, "line": 4, "character": 8})
        assert result["created"] is True, result
        created = workspace / "test_geometry_hypotenuse_2.py"
        assert result["uri"] == created.as_uri()
        assert created.read_text(encoding="utf-8") == result["content"]
        assert existing.read_text(encoding="utf-8") == "# the user's own tests\n"
        assert [shown.uri for shown in client.shown_documents] == [created.as_uri()]
        assert "def hypotenuse" in result["prompt"]["text"] and "pytest" in result["prompt"]["text"]


async def test_explain_without_show_document_uses_a_message(
    qwen35_path: Path, workspace: Path, tmp_path: Path
) -> None:
    async with lsp_session(
        qwen35_path,
        root=workspace,
        env=private_dirs(tmp_path),
        capabilities=action_capabilities(show_document=False),
        options={"actions": {"maxTokens": 8}},
    ) as (client, _):
        uri = (workspace / "geometry.py").as_uri()
        open_document(client, uri, "python", SOURCE)
        result = await execute(client, "qwenLsp.explain", {"symbol": "square", "uri": uri})
        assert result["symbol"] == "square" and result["uri"] is None
        assert client.shown_documents == []
        await wait_for(
            lambda: any(message.message == result["markdown"] for message in client.messages), timeout=10
        )
        # A selection inside a function is explained as a selection of it.
        selected = await execute(
            client,
            "qwenLsp.explain",
            {"uri": uri, "line": 4, "character": 4, "endLine": 4, "endCharacter": 33},
        )
        assert selected["symbol"] == "hypotenuse"
        assert (
            "selection" in selected["markdown"]
            and "total = square(a) + square(b)" in selected["prompt"]["text"]
        )
        assert "return math.sqrt(total)" not in selected["prompt"]["text"]
        # Outside any definition the command explains nothing and says why.
        outside = await execute(client, "qwenLsp.explain", {"uri": uri, "line": 2, "character": 0})
        assert "error" in outside
