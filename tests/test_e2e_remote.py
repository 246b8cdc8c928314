"""End to end: ``qwen-lsp serve --remote URL`` against a real llama-server, through both of its APIs.

Inline completion and explain work through the server and the completion equals the in-process one; a
wrong key and a stopped server each give one clear message and empty answers, never a crash, and
completions come back when the server does; the key never reaches the log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled

from devtools.llama_server import LlamaServer
from tests.conftest import inline_completion, items_of, lsp_session, open_document, stats, wait_for
from tests.remote_fixtures import API_KEY, running_server
from tests.test_e2e_actions import (
    LONG_ACTIONS,
    SOURCE,
    _wait_decoding,
    action_capabilities,
    execute,
    private_dirs,
)

# Deterministic answers: greedy, and no wall-clock cut of long suggestions.
OPTIONS: dict[str, Any] = {"completion": {"maxPredictMs": 0}, "actions": {"maxTokens": 48}}
TYPED = "def fibonacci(n):\n    \n"


@pytest.fixture(scope="module")
def smol_server(smollm2_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    yield from running_server(
        smollm2_path, tmp_path_factory.mktemp("llama-server") / "server.log", n_ctx=4096
    )


def remote_args(server: LlamaServer, api: str, log: Path) -> list[str]:
    return ["--remote", server.url, "--remote-api", api, "--log-file", str(log)]


def remote_session(
    server: LlamaServer,
    api: str,
    tmp_path: Path,
    log: Path,
    *,
    key: str = API_KEY,
    root: Path | None = None,
    options: dict[str, Any] = OPTIONS,
) -> Any:
    """``qwen-lsp serve --remote`` on ``server`` with ``key`` in its environment, logging to ``log``."""
    return lsp_session(
        None,
        root=root,
        env={**private_dirs(tmp_path), "QWEN_LSP_API_KEY": key},
        capabilities=action_capabilities(),
        options=options,
        extra_args=remote_args(server, api, log),
    )


def warnings(client: Any) -> list[str]:
    """Warnings and errors shown, except SmolLM2's expected "no fill-in-the-middle tokens" notice."""
    shown = [m for m in client.messages if m.type in (types.MessageType.Warning, types.MessageType.Error)]
    return [m.message for m in shown if "fill-in-the-middle" not in m.message]


async def completion_text(client: Any, uri: str) -> str:
    items = items_of(await inline_completion(client, uri, 1, 4))
    return str(items[0].insert_text) if items else ""


@pytest.mark.parametrize("api", ["llama", "openai"])
async def test_completion_and_explain_through_a_remote_server(
    smol_server: LlamaServer, smollm2_path: Path, api: str, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    uri = (workspace / "fib.py").as_uri()
    async with lsp_session(smollm2_path, root=workspace, env=private_dirs(tmp_path), options=OPTIONS) as (
        client,
        _,
    ):
        open_document(client, uri, "python", TYPED)
        local = await completion_text(client, uri)
    assert local.strip()

    log = tmp_path / "server.log"
    async with remote_session(smol_server, api, tmp_path, log, root=workspace) as (client, _):
        open_document(client, uri, "python", TYPED)
        assert await completion_text(client, uri) == local  # same model, prompt and greedy settings
        info = await stats(client)
        assert info["remote"]["api"] == api and info["remote"]["url"] == smol_server.url
        assert info["model"]["fim"] is False  # SmolLM2: prefix-only, as in-process
        geometry = (workspace / "geometry.py").as_uri()
        open_document(client, geometry, "python", SOURCE)
        result = await execute(client, "qwenLsp.explain", {"uri": geometry, "line": 4, "character": 8})
        assert result["symbol"] == "hypotenuse" and result["generated"].strip(), result
        assert not warnings(client)
    text = log.read_text(encoding="utf-8")
    assert "remote model ready" in text and API_KEY not in text


async def test_wrong_key_gives_one_message_and_no_crash(smol_server: LlamaServer, tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    wrong = "not-the-key-0123456789"
    async with remote_session(smol_server, "auto", tmp_path, log, key=wrong) as (client, _):
        await wait_for(lambda: warnings(client), timeout=60)
        assert len(warnings(client)) == 1 and "refused the API key" in warnings(client)[0]
        uri = "file:///tmp/qwen_lsp_remote_key.py"
        open_document(client, uri, "python", TYPED)
        assert await completion_text(client, uri) == ""
        info = await stats(client)
        assert info["state"] == "loading" and "HTTP 401" in info["outage"]
        assert all(wrong not in message for message in warnings(client))
    assert wrong not in log.read_text(encoding="utf-8")


async def test_completions_come_back_when_the_server_does(smollm2_path: Path, tmp_path: Path) -> None:
    for server in running_server(smollm2_path, tmp_path / "llama.log", n_ctx=4096):
        log = tmp_path / "server.log"
        async with remote_session(server, "llama", tmp_path, log) as (client, _):
            uri = "file:///tmp/qwen_lsp_remote_back.py"
            open_document(client, uri, "python", TYPED)
            before = await completion_text(client, uri)
            assert before.strip()
            server.stop()
            down = "file:///tmp/qwen_lsp_remote_down.py"  # another file: no suggestion cached for it
            open_document(client, down, "python", "def add(a, b):\n    \n")
            assert await completion_text(client, down) == ""
            await wait_for(lambda: warnings(client), timeout=30)
            assert "cannot reach the model server" in warnings(client)[0]
            server.start()
            deadline = asyncio.get_running_loop().time() + 60
            again, attempt = "", 0
            while not again.strip() and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(1.0)
                attempt += 1
                back = f"file:///tmp/qwen_lsp_remote_back_{attempt}.py"
                open_document(client, back, "python", TYPED)
                again = await completion_text(client, back)
            assert again.strip()
            info = await stats(client)
            assert info["outage"] == "" and info["unavailable"] >= 1
            assert len(warnings(client)) == 1  # one message for the whole outage
        assert API_KEY not in log.read_text(encoding="utf-8")


@pytest.mark.parametrize("api", ["llama", "openai"])
async def test_cancel_request_stops_the_servers_generation(
    smol_server: LlamaServer, api: str, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    async with remote_session(
        smol_server, api, tmp_path, tmp_path / "server.log", root=workspace, options=LONG_ACTIONS
    ) as (client, _):
        uri = (workspace / "geometry.py").as_uri()
        open_document(client, uri, "python", SOURCE)
        params = types.ExecuteCommandParams(
            command="qwenLsp.explain", arguments=[{"uri": uri, "line": 4, "character": 8}]
        )
        future = client.protocol.send_request(
            types.WORKSPACE_EXECUTE_COMMAND, params, msg_id="explain-remote"
        )
        await _wait_decoding(client, "explain")
        assert any(slot.get("is_processing") for slot in smol_server.slots_state())
        cancelled_at = asyncio.get_running_loop().time()
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="explain-remote"))
        with pytest.raises(JsonRpcRequestCancelled):
            await asyncio.wrap_future(future)
        while any(slot.get("is_processing") for slot in smol_server.slots_state()):
            assert asyncio.get_running_loop().time() - cancelled_at < 5, "the server kept generating"
            await asyncio.sleep(0.05)
        info = await stats(client)
        assert info["cancelled"] == 1 and info["decodedTokens"] < 2000
