"""A real llama-server for the remote-engine tests (built by ``python -m devtools.llama_server build``).

Without the binary the tests skip, unless ``QWEN_LSP_REQUIRE_LLAMA_SERVER`` is set (CI builds it and sets
it), so a missing build can never pass silently there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.llama_server import LlamaServer, server_binary

API_KEY = "qwen-lsp-test-key-7f3a9c"


def llama_server_binary() -> Path:
    """The built llama-server; skip (or, in CI, fail) when it is missing."""
    binary = Path(os.environ.get("QWEN_LSP_LLAMA_SERVER") or server_binary())
    if not binary.exists():
        message = f"llama-server not built at {binary}: python -m devtools.llama_server build"
        if os.environ.get("QWEN_LSP_REQUIRE_LLAMA_SERVER"):
            pytest.fail(message)
        pytest.skip(message)
    return binary


def running_server(model: Path, log: Path, *, slots: int = 1, n_ctx: int = 1024) -> Iterator[LlamaServer]:
    """A llama-server on ``model`` with the test key, stopped afterwards."""
    server = LlamaServer(
        model, api_key=API_KEY, n_ctx=n_ctx, threads=2, slots=slots, log=log, binary=llama_server_binary()
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()
