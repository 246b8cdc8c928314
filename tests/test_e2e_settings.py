"""End to end: layered settings over LSP, invalid values, qwen-lsp.toml hot reload, model reload."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.conftest import lsp_session, plain, stats, wait_for
from tests.test_e2e_actions import action_capabilities, private_dirs


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


async def effective(client: LanguageClient) -> dict[str, Any]:
    result = plain(await client.protocol.send_request_async("qwenLsp/config", None))
    assert isinstance(result, dict)
    return result


async def test_invalid_setting_is_reported_and_keeps_its_old_value(
    smollm2_path: Path, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    async with lsp_session(
        smollm2_path,
        root=workspace,
        env=private_dirs(tmp_path),
        options={"completion": {"maxTokensSingleLine": 32}},
    ) as (client, _):
        before = await effective(client)
        assert before["settings"]["completion"]["max_tokens_single_line"] == 32
        assert before["sources"]["completion"]["max_tokens_single_line"] == "initializationOptions"
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(
                settings={
                    "qwenLsp": {"completion": {"maxTokensSingleLine": "lots"}, "actions": {"maxTokens": 99}}
                }
            )
        )
        await wait_for(
            lambda: any(
                "completion.max_tokens_single_line" in message.message for message in client.messages
            ),
            timeout=30,
        )
        message = next(m for m in client.messages if "completion.max_tokens_single_line" in m.message)
        assert "'lots'" in message.message and "keeping the previous value" in message.message
        after = await effective(client)
        assert after["settings"]["completion"]["max_tokens_single_line"] == 32
        assert after["settings"]["actions"]["max_tokens"] == 99
        assert after["sources"]["actions"]["max_tokens"] == "workspace/configuration"


async def test_workspace_configuration_is_pulled_and_toml_edits_apply(
    smollm2_path: Path, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    toml = workspace / "qwen-lsp.toml"
    toml.write_text(
        "[actions]\nmax_tokens = 21\n[completion]\nmax_tokens_single_line = 5\n", encoding="utf-8"
    )
    async with lsp_session(
        smollm2_path,
        root=workspace,
        env=private_dirs(tmp_path),
        capabilities=action_capabilities(configuration=True),
    ) as (client, _):
        client.set_configuration({"completion": {"maxTokensSingleLine": 6}}, section="qwenLsp")
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))

        async def settled(key: str, value: Any) -> bool:
            section, name = key.split(".")
            return (await effective(client))["settings"][section][name] == value

        await eventually(lambda: settled("completion.max_tokens_single_line", 6))
        config = await effective(client)
        assert config["sources"]["completion"]["max_tokens_single_line"] == "workspace/configuration"
        assert config["settings"]["actions"]["max_tokens"] == 21
        assert config["sources"]["actions"]["max_tokens"].startswith("workspace config")
        toml.write_text("[actions]\nmax_tokens = 22\n", encoding="utf-8")
        await eventually(lambda: settled("actions.max_tokens", 22))


async def test_changing_the_model_path_reloads_in_the_background(
    smollm2_path: Path, qwen35_path: Path, tmp_path: Path
) -> None:
    async with lsp_session(smollm2_path, env=private_dirs(tmp_path)) as (client, _):
        info: dict[str, Any] = {}

        async def model_is(arch: str) -> bool:
            info.update(await stats(client))
            model = info.get("model") or {}
            return info.get("state") == "ready" and model.get("architecture") == arch

        await eventually(lambda: model_is("llama"), timeout=120)
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"qwenLsp": {"model": {"path": str(qwen35_path)}}})
        )
        await eventually(lambda: model_is("qwen35"), timeout=180)
        assert any("Switched to" in message.message for message in client.log_messages)
