"""First-request latency and resident memory of ``qwen-lsp serve`` with real models.

Run: ``.venv/bin/python bench/first_request.py [--runs 3]``. For each model it starts the server as an editor
would (stdio), sends initialize, opens a Python file and asks for an inline completion right away, then
measures:
  * spawn -> initialize result
  * spawn -> first completion (includes model load; the request waits for it)
  * a second completion at the same spot (warm: the prompt is already in the model's cache)
  * VmRSS / VmHWM of the server process read from /proc after the requests.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import (
    inline_client_capabilities,
    items_of,
    model_cache_dir,
    smollm2_gguf,
)

SOURCE = (
    "import os\n\n\ndef list_python_files(folder):\n"
    "    names = os.listdir(folder)\n"
    "    return [name for name in names if name.endswith("
)
LINE, COLUMN = 5, len("    return [name for name in names if name.endswith(")


def _proc_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


async def one_run(model: Path) -> dict[str, float]:
    from pytest_lsp import make_test_lsp_client

    client = make_test_lsp_client()
    started = time.perf_counter()
    await client.start_io(sys.executable, "-m", "lsp_server", "serve", "--model", str(model))
    assert client._server is not None
    pid = client._server.pid
    await client.initialize_session(
        types.InitializeParams(capabilities=inline_client_capabilities(), initialization_options={})
    )
    t_init = time.perf_counter() - started
    uri = "file:///tmp/bench_first_request.py"
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=SOURCE)
        )
    )
    params = types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=LINE, character=COLUMN),
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
    )
    first = items_of(await client.text_document_inline_completion_async(params))
    t_first = time.perf_counter() - started
    before = time.perf_counter()
    second = items_of(await client.text_document_inline_completion_async(params))
    t_second = time.perf_counter() - before
    rss = _proc_kib(pid, "VmRSS")
    hwm = _proc_kib(pid, "VmHWM")
    await client.shutdown_session()
    await client.stop()
    return {
        "init_s": t_init,
        "first_s": t_first,
        "warm_s": t_second,
        "rss_mib": rss / 1024,
        "hwm_mib": hwm / 1024,
        "got_items": float(len(first) == 1 and len(second) == 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from devtools.qwen35_gguf import tiny_qwen35_path

    models = {
        "SmolLM2-135M Q4_1 (llama, no FIM)": smollm2_gguf(),
        "tiny qwen35 f16 (hybrid, FIM)": tiny_qwen35_path(model_cache_dir()),
    }
    print(
        "| model | file MiB | spawn->initialize s | spawn->first completion s | warm completion s "
        "| VmRSS MiB | VmHWM MiB | runs |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, path in models.items():
        runs = [asyncio.run(one_run(path)) for _ in range(args.runs)]
        assert all(run["got_items"] for run in runs), f"{name}: a completion was empty"

        def med(key: str, runs: list[dict[str, float]] = runs) -> float:
            return statistics.median(run[key] for run in runs)

        size = path.stat().st_size / 2**20
        print(
            f"| {name} | {size:.1f} | {med('init_s'):.2f} | {med('first_s'):.2f} | {med('warm_s'):.3f} "
            f"| {med('rss_mib'):.0f} | {med('hwm_mib'):.0f} | {args.runs} |"
        )


if __name__ == "__main__":
    main()
