"""End to end: bad models and bad documents get a clear message or an empty result; the server stays up."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lsprotocol import types

from tests.conftest import (
    inline_completion,
    items_of,
    lsp_session,
    open_document,
    stats,
    wait_for,
)

SOURCE = "import os\n\nprint(os.path.join(\n"


def _unknown_arch_gguf(path: Path) -> Path:
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(str(path), "nosucharch")
    writer.add_name("mystery")
    writer.add_tensor("token_embd.weight", np.zeros((8, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _truncated_copy(source: Path, target: Path) -> Path:
    shutil.copyfile(source, target)
    with target.open("r+b") as handle:
        handle.truncate(source.stat().st_size // 2)
    return target


@pytest.fixture
def bad_models(tmp_path: Path, smollm2_path: Path) -> dict[str, tuple[Path, str]]:
    not_gguf = tmp_path / "model.gguf"
    not_gguf.write_text("this is a text file, not a model\n")
    return {
        "missing": (tmp_path / "nope.gguf", "does not exist"),
        "not_gguf": (not_gguf, "not a GGUF"),
        "truncated": (_truncated_copy(smollm2_path, tmp_path / "half.gguf"), "truncated"),
        "unknown_arch": (_unknown_arch_gguf(tmp_path / "arch.gguf"), "nosucharch"),
    }


@pytest.mark.parametrize("case", ["missing", "not_gguf", "truncated", "unknown_arch"])
async def test_bad_model_is_reported_and_server_stays_up(
    case: str, bad_models: dict[str, tuple[Path, str]]
) -> None:
    path, phrase = bad_models[case]
    async with lsp_session(path) as (client, _):
        await wait_for(lambda: any(m.type == types.MessageType.Error for m in client.messages))
        errors = [m.message for m in client.messages if m.type == types.MessageType.Error]
        assert len(errors) == 1
        assert phrase.lower() in errors[0].lower(), errors[0]
        uri = "file:///tmp/qwen_lsp_bad_model.py"
        open_document(client, uri, "python", SOURCE)
        assert items_of(await inline_completion(client, uri, 2, 19)) == []
        info = await stats(client)
        assert info["state"] == "failed"


async def test_bad_documents_get_empty_results(smollm2_path: Path) -> None:
    async with lsp_session(smollm2_path) as (client, _):
        uri = "file:///tmp/qwen_lsp_doc.py"
        open_document(client, uri, "python", SOURCE)
        # Out-of-range positions.
        assert items_of(await inline_completion(client, uri, 50, 0)) == []
        assert items_of(await inline_completion(client, uri, 2, 500)) == []
        # Unknown language.
        weird = "file:///tmp/qwen_lsp_doc.xyz"
        open_document(client, weird, "plaintext-xyz", "some words here\nmore wor")
        assert items_of(await inline_completion(client, weird, 1, 8)) == []
        # Binary content.
        binary = "file:///tmp/qwen_lsp_doc.bin.py"
        open_document(client, binary, "python", "x = 1\x00\x01\x02\nprint(")
        assert items_of(await inline_completion(client, binary, 1, 6)) == []
        # Huge document (> 5 MB).
        huge = "file:///tmp/qwen_lsp_huge.py"
        line = "value = compute(1, 2, 3)  # filler to make a very large file\n"
        open_document(client, huge, "python", line * (6 * 1024 * 1024 // len(line)) + "x = (")
        last_line = 6 * 1024 * 1024 // len(line)
        assert items_of(await inline_completion(client, huge, last_line, 5)) == []
        # Still serving normal requests afterwards.
        assert len(items_of(await inline_completion(client, uri, 2, 19))) == 1
        assert (await stats(client))["state"] == "ready"
