"""End to end: ``$/cancelRequest`` and superseding requests stop the engine within one token."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled

from tests.conftest import inline_completion, items_of, lsp_session, open_document, stats

# Greedy SmolLM2 fills this class body with a long repetitive run (measured: 1,000 tokens without
# leaving the block), so the generation is reliably still decoding when the cancel arrives.
LONG = {"completion": {"maxTokensMultiLine": 1000, "maxLinesMultiLine": 500}}
SOURCE = "class Matrix:\n    \n"


def _params(uri: str) -> types.InlineCompletionParams:
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=1, character=4),
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
    )


async def test_cancel_request_stops_decoding_within_one_token(smollm2_path: Path) -> None:
    async with lsp_session(smollm2_path, options=LONG) as (client, _):
        uri = "file:///tmp/qwen_lsp_cancel.py"
        open_document(client, uri, "python", SOURCE)
        future = client.protocol.send_request(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, _params(uri), msg_id="cancel-me"
        )
        latest: dict[str, object] = {}

        async def decoding() -> bool:
            latest.update(await stats(client))
            return bool(latest["busy"]) and int(str(latest["currentDecoded"])) >= 5

        deadline = asyncio.get_running_loop().time() + 600
        while not await decoding():
            assert asyncio.get_running_loop().time() < deadline, latest
            await asyncio.sleep(0.01)
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="cancel-me"))
        with pytest.raises(JsonRpcRequestCancelled):
            await asyncio.wrap_future(future)

        async def idle() -> bool:
            latest.update(await stats(client))
            return not latest["busy"]

        while not await idle():
            await asyncio.sleep(0.01)
        after_cancel = latest["decodedTokens"]
        assert latest["cancelled"] == 1
        assert int(str(latest["lastDecodedAfterCancel"])) <= 1
        # Nothing keeps decoding in the background.
        await asyncio.sleep(0.3)
        assert (await stats(client))["decodedTokens"] == after_cancel


async def test_newer_request_supersedes_older(smollm2_path: Path) -> None:
    async with lsp_session(smollm2_path, options=LONG) as (client, _):
        uri = "file:///tmp/qwen_lsp_supersede.py"
        open_document(client, uri, "python", SOURCE + "\n\ndef helper():\n    \n")
        first = asyncio.ensure_future(inline_completion(client, uri, 1, 4))
        info: dict[str, object] = {}
        while not info.get("busy"):
            info = await stats(client)
            await asyncio.sleep(0.01)
        # A request elsewhere in the document cannot reuse the running generation: it supersedes it.
        second = client.protocol.send_request(
            types.TEXT_DOCUMENT_INLINE_COMPLETION,
            types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=5, character=4),
                context=types.InlineCompletionContext(
                    trigger_kind=types.InlineCompletionTriggerKind.Automatic
                ),
            ),
            msg_id="second",
        )
        assert items_of(await first) == []  # superseded: answered empty, not an error
        info = await stats(client)
        assert info["cancelled"] == 1
        assert int(str(info["maxDecodedAfterCancel"])) <= 1
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="second"))
        with pytest.raises(JsonRpcRequestCancelled):
            await asyncio.wrap_future(second)
