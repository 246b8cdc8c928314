"""Keystroke-to-suggestion latency of ``qwen-lsp serve`` against llama-server ``/infill`` (issue 4).

Run (after ``python bench/traces/make.py`` and ``python bench/anchor.py build``)::

    .venv/bin/python bench/latency.py --models 1.5b,qwen35-4b --traces type,edit-middle
    .venv/bin/python bench/latency.py --models 1.5b --traces type --limit 40 --sides ours

Each trace (``bench/traces/*.jsonl``) is replayed in real time against each side, one after the other
with the same model, context size (4,096) and thread count (2):

* **ours**: ``qwen-lsp serve --model M`` over stdio, sent exactly what VS Code sends: ``didOpen``,
  incremental ``didChange`` per keystroke, ``textDocument/inlineCompletion`` per keystroke,
  ``$/cancelRequest`` for the request a new keystroke supersedes, and on accept the item's ``command``
  through ``workspace/executeCommand`` when the item carries one.
* **anchor**: ``llama-server -c 4096 -t 2 --cache-reuse 256 -np 1`` driven like llama.vscode
  (``src/completion.ts``/``src/llama-server.ts``): 256 lines before / 64 after the cursor, the current line
  up to the cursor as ``prompt`` (empty when it is only indentation), ``cache_prompt``, ``n_predict`` 128,
  ``t_max_predict_ms`` 500, no request when more than 8 characters follow the cursor, the same
  post-processing of the returned text. Deviations, for a like-for-like replay: the superseded request
  is aborted (connection closed) instead of waited for, ``top_k`` is 1 (greedy, as ours), ``n_cmpl`` is 1
  and the ring of extra chunks is empty.

The replay logic is shared: the user sees a suggestion when the response for the latest keystroke
arrives before the next keystroke; if it is a prefix of the text the trace is about to type, the user
accepts it (Tab: the text is inserted with one ``didChange``, the keys it covers are skipped) with
probability ``--accept`` (seeded per keystroke, so both sides decide the same way on the same
suggestion), otherwise types through it (the ghost text shrinks) or, when it is wrong, on (reject).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

TRACES = ROOT / "bench" / "traces"
N_CTX = 4096
THREADS = 2

# ------------------------------------------------------------------------------------- models


def resolve_model(name: str) -> tuple[str, Path]:
    """``1.5b``/``0.5b`` (Qwen2.5-Coder Q4_K_M), ``qwen35-4b`` (Qwen3.5-4B shapes, random weights), a path."""
    if name in ("0.5b", "1.5b"):
        from models import model_path

        return f"Qwen2.5-Coder-{name.upper()} Q4_K_M (llama KV)", model_path(name)
    if name == "qwen35-4b":
        from models import cache_dir

        from devtools.qwen35_gguf import QWEN35_4B, write_qwen35_gguf

        path = cache_dir() / "qwen35-4b-shape-q4_k.gguf"
        if not path.exists():  # ~2.4 GB, ~10 s; written to a temporary file and renamed into place
            write_qwen35_gguf(path, QWEN35_4B, quant="q4_k")
        return "Qwen3.5-4B-shaped q4_k, random weights (hybrid)", path
    if name == "tiny-qwen35":  # the tests' tiny random qwen35 (a few MB): checks the harness, not speed
        from devtools.qwen35_gguf import tiny_qwen35_path
        from tests.conftest import model_cache_dir

        return "tiny qwen35 f16 (harness check)", tiny_qwen35_path(model_cache_dir())
    path = Path(name).expanduser()
    return path.name, path


# ------------------------------------------------------------------------------------ the trace


@dataclass
class Event:
    op: str
    dt: float
    line: int = 0
    character: int = 0
    text: str = ""
    remaining: str = ""
    index: int = -1


def load_trace(path: Path) -> tuple[dict[str, Any], list[Event]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    header, events, previous = rows[0], [], 0.0
    for row in rows[1:]:
        events.append(
            Event(
                op=row["op"],
                dt=max(0.0, float(row["t"]) - previous),
                line=row["line"],
                character=row["character"],
                text=row.get("text", ""),
                remaining=row.get("remaining", ""),
                index=row.get("i", -1),
            )
        )
        previous = float(row["t"])
    return header, events


class Doc:
    """The editor's copy of the document (positions are UTF-16 = characters for ASCII sources)."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        self.version = 1

    def insert(self, line: int, col: int, text: str) -> tuple[int, int]:
        current = self.lines[line]
        head, tail = current[:col], current[col:]
        parts = (head + text + tail).split("\n")
        self.lines[line : line + 1] = parts
        self.version += 1
        return line + len(parts) - 1, len(parts[-1]) - len(tail)

    def text(self) -> str:
        return "\n".join(self.lines)


# ------------------------------------------------------------------------------- the two sides


@dataclass
class Request:
    key: int
    line: int
    col: int
    sent: float
    done: float | None = None
    superseded: bool = False
    skipped: bool = False  # the client sent nothing (anchor: long line suffix)
    text: str = ""
    error: str | None = None  # an error answer (e.g. the server stopped) is not a suggestion
    item: Any = None
    info: dict[str, Any] = field(default_factory=dict)
    handle: Any = None


class Side:
    name = ""
    pid: int | None = None

    async def start(self, model: Path) -> None: ...
    async def stop(self) -> None: ...
    async def open(self, uri: str, language: str, doc: Doc) -> None: ...
    async def change(self, doc: Doc, line: int, col: int, text: str) -> None: ...
    def request(self, doc: Doc, req: Request, done: Callable[[Request], None]) -> None: ...
    def cancel(self, req: Request) -> None: ...
    async def accepted(self, req: Request) -> None: ...
    async def counters(self) -> dict[str, Any]:
        return {}


def proc_kib(pid: int | None, key: str) -> int:
    if pid is None:
        return 0
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def _plain(value: Any) -> Any:
    if hasattr(value, "_asdict"):
        return {key: _plain(item) for key, item in value._asdict().items()}
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


class Ours(Side):
    """``qwen-lsp serve`` over stdio, spoken to as VS Code does."""

    name = "qwen-lsp"

    def __init__(self, log: Path | None = None) -> None:
        self.client: Any = None
        self.uri = ""
        self.log = log

    async def start(self, model: Path) -> None:
        from lsprotocol import types
        from pygls.lsp.client import LanguageClient

        from tests.conftest import inline_client_capabilities

        client = LanguageClient("qwen-lsp-bench", "1")

        @client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def _progress(params: Any) -> None:
            return None

        @client.feature(types.WINDOW_SHOW_MESSAGE)
        def _message(params: Any) -> None:
            print(f"    [qwen-lsp] {params.message}", file=sys.stderr)

        args = ["-m", "lsp_server", "serve", "--model", str(model), "--n-ctx", str(N_CTX)]
        args += ["--threads", str(THREADS)]
        if self.log is not None:
            args += ["-v", "--log-file", str(self.log)]
        await client.start_io(sys.executable, *args, cwd=str(ROOT))
        self.pid = client._server.pid
        await client.initialize_async(
            types.InitializeParams(capabilities=inline_client_capabilities(), initialization_options={})
        )
        client.initialized(types.InitializedParams())
        self.client = client

    async def stop(self) -> None:
        if self.client is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.shutdown_async(None), 20)
            self.client.exit(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.stop(), 20)

    async def open(self, uri: str, language: str, doc: Doc) -> None:
        from lsprotocol import types

        self.uri = uri
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id=language, version=doc.version, text=doc.text()
                )
            )
        )

    async def change(self, doc: Doc, line: int, col: int, text: str) -> None:
        from lsprotocol import types

        at = types.Position(line=line, character=col)
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=self.uri, version=doc.version),
                content_changes=[
                    types.TextDocumentContentChangePartial(range=types.Range(start=at, end=at), text=text)
                ],
            )
        )

    def request(self, doc: Doc, req: Request, done: Callable[[Request], None]) -> None:
        from lsprotocol import types

        params = types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=self.uri),
            position=types.Position(line=req.line, character=req.col),
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
        )
        msg_id = f"bench-{req.key}-{time.monotonic_ns()}"
        future = asyncio.wrap_future(
            self.client.protocol.send_request(types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id=msg_id)
        )
        req.handle = msg_id

        def finished(fut: asyncio.Future[Any]) -> None:
            req.done = time.perf_counter()
            if fut.cancelled() or fut.exception() is not None:
                req.text = ""
                req.error = "cancelled" if fut.cancelled() else repr(fut.exception())
            else:
                result = fut.result()
                items = [] if result is None else list(getattr(result, "items", result) or [])
                if items:
                    item = items[0]
                    insert = item.insert_text
                    req.text = insert if isinstance(insert, str) else getattr(insert, "value", "")
                    req.item = item
            done(req)

        future.add_done_callback(finished)

    def cancel(self, req: Request) -> None:
        from lsprotocol import types

        if req.handle is not None:
            self.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=req.handle))

    async def accepted(self, req: Request) -> None:
        from lsprotocol import types

        command = getattr(req.item, "command", None)
        if command is None:
            return
        req.info["command"] = command.command
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                self.client.workspace_execute_command_async(
                    types.ExecuteCommandParams(command=command.command, arguments=command.arguments)
                ),
                10,
            )

    async def stats(self) -> dict[str, Any]:
        result = await self.client.protocol.send_request_async("qwenLsp/stats", None)
        value = _plain(result)
        return value if isinstance(value, dict) else {}

    async def counters(self) -> dict[str, Any]:
        return await self.stats()


class Anchor(Side):
    """llama-server ``/infill`` driven like llama.vscode (request body, post-processing: bench/anchor.py)."""

    name = "llama-server"

    def __init__(self, binary: Path, extra: list[str], log: Path | None = None) -> None:
        self.binary, self.extra, self.log = binary, extra, log
        self.server: Any = None
        self.payloads: list[tuple[int, dict[str, Any]]] = []

    async def start(self, model: Path) -> None:
        from anchor import LlamaServer

        self.server = LlamaServer(model, N_CTX, THREADS, self.extra, self.log, self.binary)
        await self.server.start()
        self.pid = self.server.pid

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()

    def request(self, doc: Doc, req: Request, done: Callable[[Request], None]) -> None:
        from anchor import infill_request, postprocess

        built = infill_request(doc.lines, req.line, req.col)
        if built is None:  # llama.vscode sends nothing with more than 8 characters after the cursor
            req.skipped = True
            req.done = req.sent
            done(req)
            return
        body, context = built
        self.payloads.append((req.key, body))
        lines = list(doc.lines)

        async def run() -> None:
            try:
                data = await self.server.infill(body)
            except asyncio.CancelledError:
                raise
            except (OSError, ValueError, RuntimeError) as exc:
                data = {"error": str(exc)}
            req.done = time.perf_counter()
            req.error = data.get("error") and str(data["error"])
            req.text = postprocess(str(data.get("content") or ""), lines, req.line, context)
            timings = data.get("timings") or {}
            req.info = {
                "prompt_n": timings.get("prompt_n"),
                "cache_n": timings.get("cache_n"),
                "predicted_n": timings.get("predicted_n"),
                "tokens_cached": data.get("tokens_cached"),
                "tokens_evaluated": data.get("tokens_evaluated"),
                "error": data.get("error"),
            }
            done(req)

        req.handle = asyncio.ensure_future(run())

    def cancel(self, req: Request) -> None:
        if isinstance(req.handle, asyncio.Future) and not req.handle.done():
            req.handle.cancel()  # closes the connection: llama-server drops the task

    async def counters(self) -> dict[str, Any]:
        return dict(await self.server.metrics())


# ------------------------------------------------------------------------------------ the replay


@dataclass
class RunResult:
    side: str
    keys: int = 0
    requests: list[Request] = field(default_factory=list)
    accepts: int = 0
    accepted_chars: int = 0
    typed_through: int = 0
    rejects: int = 0
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    rss_kib: int = 0
    hwm_kib: int = 0
    warmup_s: float = 0.0
    wall_s: float = 0.0
    stats_per_request: list[dict[str, Any]] = field(default_factory=list)


def _accept_coin(seed: int, key: int, probability: float) -> bool:
    return random.Random(seed * 100003 + key).random() < probability


async def replay(
    side: Side,
    header: dict[str, Any],
    events: list[Event],
    *,
    limit: int,
    accept_probability: float,
    min_accept_chars: int,
    tail_timeout: float,
    time_scale: float = 1.0,
) -> RunResult:
    result = RunResult(side.name)
    doc = Doc(header["text"])
    uri, language = header["uri"], header.get("languageId", "python")
    await side.open(uri, language, doc)
    loop_clock = time.perf_counter
    first_key = next(e for e in events if e.op == "key")

    # warm-up: the user was at the first place before typing; one request, awaited, not measured
    started = loop_clock()
    warm = asyncio.get_running_loop().create_future()
    side.request(
        doc,
        Request(-1, first_key.line, first_key.character, started),
        lambda r: None if warm.done() else warm.set_result(r),
    )
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(warm, 900)
    result.warmup_s = loop_clock() - started
    result.before = await side.counters()

    latest: Request | None = None
    background: set[asyncio.Future[None]] = set()
    shown: str | None = None  # ghost text visible at the cursor
    shown_req: Request | None = None
    rejected_shown = False

    def on_done(req: Request) -> None:
        nonlocal shown, shown_req, rejected_shown
        if req is latest and not req.superseded and req.text:
            shown, shown_req, rejected_shown = req.text, req, False
        if isinstance(side, Ours) and req is latest and not req.superseded:

            async def sample() -> None:
                with contextlib.suppress(Exception):
                    stats = await side.stats()
                    req.info.update({k: v for k, v in stats.items() if k.startswith("last")})

            background.add(asyncio.ensure_future(sample()))

    def supersede() -> None:
        nonlocal latest
        if latest is not None and latest.done is None and not latest.superseded:
            latest.superseded = True
            side.cancel(latest)

    async def edit_and_request(line: int, col: int, text: str, key: int) -> None:
        nonlocal latest
        sent = loop_clock()
        supersede()
        end_line, end_col = doc.insert(line, col, text)
        await side.change(doc, line, col, text)
        latest = Request(key, end_line, end_col, sent)
        result.requests.append(latest)
        side.request(doc, latest, on_done)

    t0 = loop_clock()
    scheduled = t0
    i = 0
    keys_done = 0
    while i < len(events) and keys_done < limit:
        event = events[i]
        scheduled += event.dt * time_scale
        delay = scheduled - loop_clock()
        if delay > 0:
            await asyncio.sleep(delay)
        if event.op == "move":
            supersede()
            shown, shown_req = None, None
            i += 1
            continue
        # Tab? the ghost text must be exactly what the user is about to type
        if shown and event.remaining.startswith(shown) and len(shown) >= min_accept_chars:
            covered, j = 0, i
            while j < len(events) and events[j].op == "key" and covered + len(events[j].text) <= len(shown):
                covered += len(events[j].text)
                j += 1
            if covered >= min_accept_chars and _accept_coin(
                int(header.get("seed", 0)), event.index, accept_probability
            ):
                accepted = shown_req
                text = event.remaining[:covered]
                shown, shown_req = None, None
                result.accepts += 1
                result.accepted_chars += covered
                keys_done += 1
                result.keys += 1
                await edit_and_request(event.line, event.character, text, event.index)
                if accepted is not None:
                    await side.accepted(accepted)
                i = j
                continue
        if shown:
            if shown.startswith(event.text):
                shown = shown[len(event.text) :] or None
                result.typed_through += 1
            else:
                if not rejected_shown:
                    result.rejects += 1
                shown, shown_req, rejected_shown = None, None, True
        keys_done += 1
        result.keys += 1
        await edit_and_request(event.line, event.character, event.text, event.index)
        i += 1

    # let the last request finish (it is not superseded), bounded
    deadline = loop_clock() + tail_timeout
    while latest is not None and latest.done is None and loop_clock() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # pending stats samples
    result.wall_s = loop_clock() - t0
    try:  # llama-server answers /metrics from its task loop: it waits for a batch in progress
        result.after = await side.counters()
    except (TimeoutError, OSError, ValueError) as exc:
        print(f"    counters unavailable after the trace: {exc!r}", file=sys.stderr)
    result.rss_kib = proc_kib(side.pid, "VmRSS")
    result.hwm_kib = proc_kib(side.pid, "VmHWM")
    return result


# --------------------------------------------------------------------------------- anchor tokens


def anchor_minimum_tokens(
    model: Path, payloads: list[tuple[int, dict[str, Any]]]
) -> dict[int, tuple[int, int]]:
    """Per /infill request: (prompt tokens, tokens not shared with the previous request's prompt).

    The prompt is rebuilt offline as llama-server's ``format_prompt_infill`` lays it out (n_batch 2048:
    prefix <= 1536 tokens, suffix <= 510 - prompt tokens, no extra chunks) with the model's own tokenizer.
    """
    import llama_cpp

    llm = llama_cpp.Llama(str(model), vocab_only=True, verbose=False)
    vocab = llama_cpp.llama_model_get_vocab(llm.model)

    def tok(text: str, special: bool = False) -> list[int]:
        return llm.tokenize(text.encode(), add_bos=False, special=special) if text else []

    fim_pre, fim_suf, fim_mid = (
        llama_cpp.llama_vocab_fim_pre(vocab),
        llama_cpp.llama_vocab_fim_suf(vocab),
        llama_cpp.llama_vocab_fim_mid(vocab),
    )
    fim_rep, fim_sep = llama_cpp.llama_vocab_fim_rep(vocab), llama_cpp.llama_vocab_fim_sep(vocab)
    head: list[int] = []
    if fim_rep >= 0:
        head = [fim_rep, *tok("myproject\n")]
    if fim_sep >= 0:
        head += [fim_sep, *tok("filename\n")]
    n_batch = 2048
    out: dict[int, tuple[int, int]] = {}
    previous: list[int] = []
    for key, body in payloads:
        prefix, suffix, prompt = (
            tok(body["input_prefix"]),
            tok(body["input_suffix"]),
            tok(body["prompt"], True),
        )
        prefix = prefix[max(0, len(prefix) - 3 * (n_batch // 4)) :]
        suffix = suffix[: max(0, n_batch // 4 - (2 + len(prompt)))]
        tokens = [*head, fim_pre, *prefix, *prompt, fim_suf, *suffix, fim_mid]
        common = 0
        for a, b in zip(previous, tokens, strict=False):
            if a != b:
                break
            common += 1
        out[key] = (len(tokens), len(tokens) - common)
        previous = tokens
    return out


# ------------------------------------------------------------------------------------- the report


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def fmt(value: float | None, spec: str = ".0f") -> str:
    return "n/a" if value is None else format(value, spec)


def summarize(result: RunResult, anchor_min: dict[int, tuple[int, int]] | None = None) -> dict[str, Any]:
    reqs = result.requests
    sent = [r for r in reqs if not r.skipped]
    answered = [r for r in sent if not r.superseded and r.done is not None and not r.error]
    shown = [r for r in answered if r.text]
    lat_all = [(r.done - r.sent) * 1000 for r in answered if r.done is not None]
    lat_shown = [(r.done - r.sent) * 1000 for r in shown if r.done is not None]
    s: dict[str, Any] = {
        "side": result.side,
        "keys": result.keys,
        "sent": len(sent),
        "skipped": len(reqs) - len(sent),
        "superseded": sum(r.superseded for r in sent),
        "answered": len(answered),
        "errors": sum(1 for r in sent if not r.superseded and r.error),
        "unfinished": sum(1 for r in sent if not r.superseded and r.done is None),  # tail timeout
        "shown": len(shown),
        "p50_ms": pct(lat_shown, 0.5),
        "p95_ms": pct(lat_shown, 0.95),
        "p50_all_ms": pct(lat_all, 0.5),
        "p95_all_ms": pct(lat_all, 0.95),
        "accepts": result.accepts,
        "accepted_chars": result.accepted_chars,
        "typed_through": result.typed_through,
        "rejects": result.rejects,
        "rss_mib": result.rss_kib / 1024,
        "hwm_mib": result.hwm_kib / 1024,
        "warmup_s": result.warmup_s,
        "wall_s": result.wall_s,
    }
    before, after = result.before, result.after

    def delta(key: str) -> float | None:
        if key in after and key in before and after[key] is not None and before[key] is not None:
            return float(after[key]) - float(before[key])
        return None

    if result.side == "qwen-lsp":
        evaluated = delta("promptTokensEvaluated")
        s["eval_total"] = evaluated
        s["eval_per_key"] = None if evaluated is None or not result.keys else evaluated / result.keys
        lasts = [r.info for r in answered if "lastPromptTokensEvaluated" in r.info]
        mins = [r.info for r in answered if "lastMinimumPromptTokens" in r.info]
        s["eval_per_answer"] = (
            statistics.mean(i["lastPromptTokensEvaluated"] for i in lasts) if lasts else None
        )
        s["min_per_answer"] = statistics.mean(i["lastMinimumPromptTokens"] for i in mins) if mins else None
        cumulative_min = delta("minimumPromptTokens")
        s["min_total"] = cumulative_min
        s["min_per_key"] = None if cumulative_min is None or not result.keys else cumulative_min / result.keys
        s["after_cancel"] = after.get("maxDecodedAfterCancel")
        hits = {}
        for key in ("typedAheadHits", "inflightHits", "speculationHits", "checkpointRestores"):
            d = delta(key)
            hits[key] = None if d is None else d / max(1, len(sent))
        s["hits"] = hits
        s["counts"] = {
            key: delta(key)
            for key in (
                "requests",
                "completed",
                "cancelled",
                "speculations",
                "prewarms",
                "debounceDrops",
                "accepted",
                "preemptions",
                "abandoned",
                "checkpointSaves",
                "kvReusedTokens",
                "minimumPromptTokens",
            )
        }
        reused = delta("kvReusedTokens")
        s["kv_reuse"] = None if reused is None or evaluated is None else reused / max(1.0, reused + evaluated)
        s["decoded"] = delta("decodedTokens")
    else:
        evaluated = delta("prompt_tokens_total")
        s["eval_total"] = evaluated
        s["eval_per_key"] = None if evaluated is None or not result.keys else evaluated / result.keys
        pn = [r.info["prompt_n"] for r in answered if r.info.get("prompt_n") is not None]
        s["eval_per_answer"] = statistics.mean(pn) if pn else None
        if anchor_min:
            mins = [anchor_min[r.key][1] for r in answered if r.key in anchor_min]
            s["min_per_answer"] = statistics.mean(mins) if mins else None
            s["min_per_key"] = statistics.mean(v[1] for v in anchor_min.values())
        else:
            s["min_per_answer"] = s["min_per_key"] = None
        s["after_cancel"] = None
        s["hits"] = {}
        cached = [r.info.get("cache_n") or 0 for r in answered]
        total = [(r.info.get("cache_n") or 0) + (r.info.get("prompt_n") or 0) for r in answered]
        s["kv_reuse"] = sum(cached) / sum(total) if sum(total) else None
        s["decoded"] = delta("tokens_predicted_total")
    return s


def table(model: str, trace: str, rows: list[dict[str, Any]]) -> str:
    by = {row["side"]: row for row in rows}
    ours, anchor = by.get("qwen-lsp"), by.get("llama-server")

    def ratio(key: str) -> str:
        if not ours or not anchor or not ours.get(key) or not anchor.get(key):
            return "n/a"
        return f"{ours[key] / anchor[key]:.2f}"

    out = [f"**{model}, trace `{trace}`**", ""]
    out.append(
        "| side | keys | sent / superseded / answered / shown | p50 ms | p95 ms | p50 ms (any answer) "
        "| prompt tok eval / key | eval / answer | min / answer | eval÷min | KV reuse | hits / request "
        "| decoded after cancel | accept / type-through / reject | RSS MiB (HWM) | warm-up s |"
    )
    out.append("|" + "---|" * 16)
    for row in rows:
        evr = (
            f"{row['eval_per_answer'] / row['min_per_answer']:.2f}"
            if row.get("eval_per_answer") is not None and row.get("min_per_answer")
            else "n/a"
        )
        hits = ", ".join(f"{k} {v:.2f}" for k, v in row["hits"].items() if v is not None) or "n/a"
        lost = row.get("unfinished", 0) + row.get("errors", 0)
        unfinished = f" (+{lost} unanswered)" if lost else ""
        out.append(
            f"| {row['side']} | {row['keys']} | {row['sent']} / {row['superseded']} / {row['answered']} / "
            f"{row['shown']}{unfinished} | {fmt(row['p50_ms'])} | {fmt(row['p95_ms'])} "
            f"| {fmt(row['p50_all_ms'])} "
            f"| {fmt(row['eval_per_key'], '.1f')} | {fmt(row['eval_per_answer'], '.1f')} "
            f"| {fmt(row['min_per_answer'], '.1f')} | {evr} | {fmt(row['kv_reuse'], '.2f')} | {hits} "
            f"| {fmt(row['after_cancel'], '.0f')} "
            f"| {row['accepts']} / {row['typed_through']} / {row['rejects']} "
            f"| {row['rss_mib']:.0f} ({row['hwm_mib']:.0f}) | {row['warmup_s']:.1f} |"
        )
    out.append("")
    out.append(
        f"ours/anchor: p50 {ratio('p50_ms')}, p95 {ratio('p95_ms')}, p50 any answer {ratio('p50_all_ms')}, "
        f"prompt tokens evaluated per key {ratio('eval_per_key')}"
    )
    return "\n".join(out)


# ------------------------------------------------------------------------------------------ main


async def run_side(
    side: Side, model: Path, header: dict[str, Any], events: list[Event], args: Any
) -> RunResult:
    await side.start(model)
    try:
        return await replay(
            side,
            header,
            events,
            limit=args.limit,
            accept_probability=args.accept,
            min_accept_chars=args.min_accept_chars,
            tail_timeout=args.tail_timeout,
            time_scale=args.time_scale,
        )
    finally:
        await side.stop()


def main() -> None:
    global THREADS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--models",
        default="1.5b,qwen35-4b",
        help="comma list: 0.5b, 1.5b, qwen35-4b, tiny-qwen35 or GGUF paths",
    )
    parser.add_argument("--traces", default="type,edit-middle", help="comma list of bench/traces/NAME.jsonl")
    parser.add_argument(
        "--sides", default="ours,anchor", help="comma list: ours, anchor (the order alternates per trace)"
    )
    parser.add_argument("--threads", type=int, default=THREADS, help="threads for both servers")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="stretch the trace's pauses (2 = a typist half as fast) when the machine is too slow for any "
        "suggestion to arrive between keystrokes",
    )
    parser.add_argument("--limit", type=int, default=1000, help="keystrokes per trace at most")
    parser.add_argument(
        "--accept", type=float, default=0.5, help="probability of Tab on a matching suggestion"
    )
    parser.add_argument("--min-accept-chars", type=int, default=3)
    parser.add_argument("--tail-timeout", type=float, default=120.0, help="wait for the last answer, s")
    parser.add_argument(
        "--anchor-bin", type=Path, default=None, help="llama-server (default: bench/anchor.py's)"
    )
    parser.add_argument(
        "--anchor-args",
        default="--no-repack",
        help="extra llama-server flags (default --no-repack: same CPU kernels as qwen-lsp, which loads "
        "without extra buffer types)",
    )
    parser.add_argument("--logs", type=Path, default=Path("/tmp/qwen-lsp-latency"), help="server logs here")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw summaries here")
    args = parser.parse_args()
    THREADS = args.threads

    from anchor import server_binary

    binary = args.anchor_bin or server_binary()
    sides = [s.strip() for s in args.sides.split(",") if s.strip()]
    if "anchor" in sides and not binary.exists():
        sys.exit(f"{binary} is missing: run `python bench/anchor.py build` first")
    args.logs.mkdir(parents=True, exist_ok=True)
    tables: list[str] = []
    raw: list[dict[str, Any]] = []
    flip = False
    for model_name in [m.strip() for m in args.models.split(",") if m.strip()]:
        label, model = resolve_model(model_name)
        for trace_name in [t.strip() for t in args.traces.split(",") if t.strip()]:
            header, events = load_trace(TRACES / f"{trace_name}.jsonl")
            order = list(reversed(sides)) if flip else sides
            flip = not flip
            rows: list[dict[str, Any]] = []
            for which in order:
                tag = f"{model_name}-{trace_name}-{which}"
                if which == "ours":
                    side: Side = Ours(args.logs / f"{tag}.log")
                else:
                    side = Anchor(binary, args.anchor_args.split(), args.logs / f"{tag}.log")
                print(f"== {label} / {trace_name} / {side.name}", file=sys.stderr, flush=True)
                result = asyncio.run(run_side(side, model, header, events, args))
                anchor_min = None
                if isinstance(side, Anchor) and side.payloads:
                    anchor_min = anchor_minimum_tokens(model, side.payloads)
                row = summarize(result, anchor_min)
                rows.append(row)
                raw.append(
                    {
                        "model": label,
                        "trace": trace_name,
                        "threads": THREADS,
                        "time_scale": args.time_scale,
                        **row,
                    }
                )
                print(f"   {json.dumps(row, default=str)}", file=sys.stderr, flush=True)
                if args.json is not None:  # after every run: a long session keeps what it measured
                    args.json.write_text(json.dumps(raw, indent=1, default=str))
            rows.sort(key=lambda r: r["side"] != "qwen-lsp")
            setup = f"{label}; {THREADS} threads, n_ctx {N_CTX}, time scale {args.time_scale:g}"
            tables.append(table(setup, trace_name, rows))
            print(tables[-1] + "\n", flush=True)
    print("\n\n".join(tables))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
