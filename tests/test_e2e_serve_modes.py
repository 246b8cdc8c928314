"""End to end: the console script, TCP transport, and the default model resolved through the hub cache."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import make_test_lsp_client

from tests.conftest import (
    inline_client_capabilities,
    inline_completion,
    items_of,
    lsp_session,
    open_document,
    stats,
)
from tests.test_model_source import make_hub_cache

SOURCE = "import os\n\nprint(os.path.join(\n"


def _console_script() -> str:
    return str(Path(sys.executable).with_name("qwen-lsp"))


def test_console_script_and_module_entry_points() -> None:
    for command in ([_console_script()], [sys.executable, "-m", "lsp_server"]):
        result = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0
        assert result.stdout.startswith("qwen-lsp ")
        usage = subprocess.run([*command, "serve", "--help"], capture_output=True, text=True, timeout=60)
        assert "--tcp" in usage.stdout and "--hf-repo" in usage.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("transport", ["--tcp", "--ws"])
async def test_network_transports_bind_loopback(transport: str, smollm2_path: Path) -> None:
    port = _free_port()
    server = await asyncio.create_subprocess_exec(
        _console_script(),
        "serve",
        transport,
        str(port),
        "--model",
        str(smollm2_path),
        stderr=asyncio.subprocess.DEVNULL,
    )
    client = make_test_lsp_client()
    try:
        for _ in range(300):
            try:
                if transport == "--tcp":
                    await client.start_tcp("127.0.0.1", port)
                else:
                    await client.start_ws("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        listening = Path("/proc/net/tcp").read_text()
        assert f"0100007F:{port:04X}" in listening  # 127.0.0.1, not 0.0.0.0
        await client.initialize_session(types.InitializeParams(capabilities=inline_client_capabilities()))
        uri = "file:///tmp/qwen_lsp_network.py"
        open_document(client, uri, "python", SOURCE)
        assert len(items_of(await inline_completion(client, uri, 2, 19))) == 1
        await client.shutdown_session()
    finally:
        await client.stop()
        if server.returncode is None:
            server.kill()
        await server.wait()


async def test_default_model_comes_from_the_hub_cache(tmp_path: Path, qwen35_path: Path) -> None:
    # The real default (Qwen3.5-4B Q4_K_M) cannot be downloaded here; a qwen35 GGUF stands in for it under
    # the default repo and file name in a huggingface_hub cache, and the server finds it offline.
    cache = tmp_path / "hub"
    make_hub_cache(cache, "unsloth/Qwen3.5-4B-GGUF", "Qwen3.5-4B-Q4_K_M.gguf", qwen35_path.read_bytes())
    env = {"HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    async with lsp_session(None, env=env) as (client, _):
        uri = "file:///tmp/qwen_lsp_default.py"
        open_document(client, uri, "python", SOURCE)
        await inline_completion(client, uri, 2, 19)
        info = await stats(client)
        assert info["state"] == "ready", info
        assert info["model"]["architecture"] == "qwen35"


async def test_hf_repo_and_file_override(tmp_path: Path, smollm2_path: Path) -> None:
    cache = tmp_path / "hub"
    make_hub_cache(cache, "someone/small-models", "smol.gguf", smollm2_path.read_bytes())
    env = {"HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    args = ["--hf-repo", "someone/small-models", "--hf-file", "smol.gguf"]
    async with lsp_session(None, extra_args=args, env=env) as (client, _):
        uri = "file:///tmp/qwen_lsp_override.py"
        open_document(client, uri, "python", SOURCE)
        assert len(items_of(await inline_completion(client, uri, 2, 19))) == 1
        assert (await stats(client))["model"]["architecture"] == "llama"


async def test_missing_default_model_offline_is_reported(tmp_path: Path) -> None:
    env = {"HF_HUB_CACHE": str(tmp_path / "empty-hub"), "HF_HUB_OFFLINE": "1"}
    async with lsp_session(None, env=env) as (client, _):
        for _ in range(600):
            if any(m.type == types.MessageType.Error for m in client.messages):
                break
            await asyncio.sleep(0.05)
        errors = [m.message for m in client.messages if m.type == types.MessageType.Error]
        assert errors and "Qwen3.5-4B-Q4_K_M.gguf" in errors[0] and "--model" in errors[0]


def test_network_serve_off_loopback_needs_a_token(smollm2_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "QWEN_LSP_TOKEN"}
    command = [_console_script(), "serve", "--tcp", str(_free_port()), "--host", "0.0.0.0"]
    done = subprocess.run(
        [*command, "--model", str(smollm2_path)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "QWEN_LSP_TOKEN" in done.stderr and "refusing to listen on 0.0.0.0" in done.stderr


def _rpc(sock: socket.socket, msg_id: int, method: str, params: Any) -> dict[str, Any]:
    """Send one JSON-RPC request over a raw socket and read its answer."""
    body = json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}).encode()
    sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    length = int(
        next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")).split(b":")[
            1
        ]
    )
    while len(rest) < length:
        rest += sock.recv(65536)
    answer: dict[str, Any] = json.loads(rest[:length])
    return answer


def _connect(port: int) -> socket.socket:
    for _ in range(300):
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=30)
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not listen")


@pytest.mark.parametrize("presented", [None, "wrong-token", "right-token-5d1c"])
async def test_network_client_must_present_the_token(smollm2_path: Path, presented: str | None) -> None:
    port = _free_port()
    server = await asyncio.create_subprocess_exec(
        _console_script(),
        "serve",
        "--tcp",
        str(port),
        "--host",
        "0.0.0.0",
        "--model",
        str(smollm2_path),
        env={**os.environ, "QWEN_LSP_TOKEN": "right-token-5d1c"},
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        options = {} if presented is None else {"authToken": presented}
        if presented != "right-token-5d1c":
            with _connect(port) as sock:
                answer = _rpc(sock, 1, "initialize", {"capabilities": {}, "initializationOptions": options})
                assert "needs its token" in answer["error"]["message"]
                answer = _rpc(sock, 2, "qwenLsp/stats", None)  # and nothing else is served
                assert "needs its token" in answer["error"]["message"] and "result" not in answer
            return
        client = make_test_lsp_client()
        for _ in range(300):
            try:
                await client.start_tcp("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        try:
            params = types.InitializeParams(
                capabilities=inline_client_capabilities(), initialization_options=options
            )
            await client.initialize_session(params)
            uri = "file:///tmp/qwen_lsp_token.py"
            open_document(client, uri, "python", SOURCE)
            assert len(items_of(await inline_completion(client, uri, 2, 19))) == 1
            assert not [m for m in client.messages if "authToken" in m.message]  # not taken for a setting
            await client.shutdown_session()
        finally:
            await client.stop()
    finally:
        if server.returncode is None:
            server.kill()
        _, stderr = await server.communicate()
        assert b"right-token-5d1c" not in stderr
