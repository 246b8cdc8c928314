"""Keystroke-to-suggestion latency of ``qwen-lsp serve`` against llama-server ``/infill`` (issues 4, 13).

Run (after ``python bench/anchor.py build``; ``bench/traces/make.py`` remakes the committed traces)::

    .venv/bin/python bench/latency.py --models 0.5b,1.5b,qwen35-4b          # the mid-* traces, both replays
    .venv/bin/python bench/latency.py --models 1.5b --traces type --limit 40 --sides ours --replay realtime

Each trace (``bench/traces/*.jsonl``) is replayed against each side, one after the other with the same
model, context size (4,096) and thread count (2):

* **ours**: ``qwen-lsp serve --model M`` over stdio with its default prompt layout, sent exactly what
  VS Code sends: ``didOpen``, incremental ``didChange`` per keystroke, ``textDocument/inlineCompletion``
  per keystroke, ``$/cancelRequest`` for the request a new keystroke supersedes, and on accept the item's
  ``command`` through ``workspace/executeCommand`` when the item carries one.
* **ours-cursor**: the same server with ``initializationOptions`` ``{"completion": {"promptLayout":
  "cursor"}}``, the prompt layout before issue 13 (the prefix/suffix split at the cursor; ``"region"`` is
  the new default). A server without the setting warns about the unknown key and uses its one layout.
* **anchor**: ``llama-server -c 4096 -t 2 --cache-reuse 256 -np 1`` driven like llama.vscode
  (``src/completion.ts``/``src/llama-server.ts``): 256 lines before / 64 after the cursor, the current line
  up to the cursor as ``prompt`` (empty when it is only indentation), ``cache_prompt``, ``n_predict`` 128,
  ``t_max_predict_ms`` 500, no request when more than 8 characters follow the cursor, the same
  post-processing of the returned text. Deviations, for a like-for-like replay: the superseded request
  is aborted (connection closed) instead of waited for, ``top_k`` is 1 (greedy, as ours), ``n_cmpl`` is 1
  and the ring of extra chunks is empty.

Two replay models (``--replay realtime,pause``, both by default), with the same accept rule:

* **realtime**: keys at the trace's times, whatever the answers do. The user sees a suggestion when the
  response for the latest keystroke arrives before the next keystroke.
* **pause**: the same, but at the keys the trace marks (``"pause": "mid"`` after a word with text left
  on the line, ``"eol"`` after Enter and its auto-indent; ~36 a trace, ``bench/traces/make.py``
  ``mark_pauses``, applied here to traces made without marks) the typist stops and waits for the answer
  to that keystroke (at most ``--pause-cap`` s), reads it, and goes on with the next key after its usual
  delay. An accept that covers a marked key is itself such a stop. Reported per side: pause latency
  (keystroke, just before its ``didChange``, to the answer) p50/p95 over the answered pauses, pauses
  answered and with a non-empty suggestion, prompt tokens evaluated per keystroke and per keystroke within
  a line (not Enter, not an accept, not the first key after an accept or a jump), and one pooled table
  per model over the traces.

Accept rule: if a shown suggestion is a prefix of the text the trace is about to type, the user accepts
it (Tab: the text is inserted with one ``didChange``, the keys it covers are skipped) with probability
``--accept`` (seeded per keystroke, so every side decides the same way on the same suggestion), otherwise
types through it (the ghost text shrinks) or, when it is wrong, on (reject).

Prompt tokens per keystroke: ours samples ``qwenLsp/stats`` ``promptTokensEvaluated`` just before each
keystroke's ``didChange`` and when its answer arrives (answered on the server's protocol thread, not the
engine's); a key is charged what the counter grew until its answer or the next key. The anchor's
``/metrics`` waits for the batch in progress, so it is read only before and after the trace; per answer
it reports ``timings.prompt_n``.
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
    """A model name (or a GGUF path) -> (label, path).

    ``0.5b``/``1.5b``: Qwen2.5-Coder Q4_K_M (bench/models.py). ``qwen35-4b``: Qwen3.5-4B's shapes with
    random q4_k weights and Qwen3.5's real tokenizer (devtools/qwen35_gguf.py), so prompts have the real
    model's token counts; ``qwen35-4b-synthetic``: the same shapes with the generator's small synthetic
    tokenizer (the earlier runs). ``tiny-qwen35``: the tests' tiny random qwen35, to check the harness.
    """
    if name in ("0.5b", "1.5b"):
        from models import model_path

        return f"Qwen2.5-Coder-{name.upper()} Q4_K_M (llama KV)", model_path(name)
    if name in ("qwen35-4b", "qwen35-4b-synthetic"):
        from models import cache_dir

        from devtools.qwen35_gguf import QWEN35_4B, write_qwen35_gguf

        if name == "qwen35-4b":
            path = cache_dir() / "qwen35-4b-shape-q4_k-qwentok.gguf"
            if not path.exists():  # ~2.5 GB; written to a temporary file and renamed into place
                write_qwen35_gguf(path, QWEN35_4B, quant="q4_k", tokenizer="qwen3.5")
            return "Qwen3.5-4B-shaped q4_k, random weights, Qwen3.5 tokenizer (hybrid)", path
        path = cache_dir() / "qwen35-4b-shape-q4_k.gguf"
        if not path.exists():  # ~2.4 GB, ~10 s
            write_qwen35_gguf(path, QWEN35_4B, quant="q4_k")
        return "Qwen3.5-4B-shaped q4_k, random weights, synthetic tokenizer (hybrid)", path
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
    pause: str = ""  # "mid" / "eol": the typist waits for the answer to this key (--replay pause)


def load_trace(path: Path) -> tuple[dict[str, Any], list[Event]]:
    """The header and the events; ``remaining`` is rebuilt from ``target`` + ``offset`` where a trace
    stores it that way (the mid-* traces), and pause marks are added with the trace maker's rule where
    the trace has none."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    header, events, previous = rows[0], [], 0.0
    target = header.get("target")
    keys = [row for row in rows[1:] if row["op"] == "key"]
    for row in keys:
        if "remaining" not in row and target is not None:
            row["remaining"] = target[row["offset"] :]
    if keys and not any("pause" in row for row in keys):
        from traces.make import mark_pauses

        segments: list[list[dict[str, Any]]] = [[]]  # per typed place (edit-middle jumps between places)
        for row in rows[1:]:
            if row["op"] == "move" and segments[-1]:
                segments.append([])
            elif row["op"] == "key":
                segments[-1].append(row)
        for segment in segments:
            language = header.get("languageId", "python")
            mark_pauses(segment, int(header.get("seed", 0)), max(2, 36 // len(segments)), language)
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
                pause=row.get("pause", ""),
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
    kind: str = "inline"  # inline (a key within a line), enter, accept, after (first key after an accept
    # or a jump), first (the trace's first key)
    eval_start: float | None = None  # ours: promptTokensEvaluated just before the didChange
    eval_end: float | None = None  # ... at the answer, or at the next key when superseded


class Side:
    name = ""
    kind = ""  # "ours" or "anchor"
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
    kind = "ours"

    def __init__(
        self,
        log: Path | None = None,
        name: str = "qwen-lsp",
        options: dict[str, Any] | None = None,
        server_args: list[str] | None = None,
    ) -> None:
        self.client: Any = None
        self.uri = ""
        self.log = log
        self.name = name
        self.options = options or {}
        self.server_args = server_args
        """Where the model comes from instead of ``--model M`` (e.g. ``--remote URL``; bench/team.py)."""

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

        source = self.server_args if self.server_args is not None else ["--model", str(model)]
        args = ["-m", "lsp_server", "serve", *source, "--n-ctx", str(N_CTX)]
        args += ["--threads", str(THREADS)]
        if self.log is not None:
            args += ["-v", "--log-file", str(self.log)]
        await client.start_io(sys.executable, *args, cwd=str(ROOT))
        self.pid = client._server.pid
        await client.initialize_async(
            types.InitializeParams(
                capabilities=inline_client_capabilities(), initialization_options=self.options
            )
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

    def sample_evaluated(self, *targets: tuple[Request, str]) -> None:
        """Send ``qwenLsp/stats`` now (before what is sent next) and store ``promptTokensEvaluated`` in
        each (request, "eval_start" | "eval_end") target that has none yet."""
        future = asyncio.wrap_future(self.client.protocol.send_request("qwenLsp/stats", None))

        def store(fut: asyncio.Future[Any]) -> None:
            if fut.cancelled() or fut.exception() is not None:
                return
            value = _plain(fut.result())
            evaluated = value.get("promptTokensEvaluated") if isinstance(value, dict) else None
            for req, slot in targets:
                if evaluated is not None and getattr(req, slot) is None:
                    setattr(req, slot, float(evaluated))

        future.add_done_callback(store)

    async def counters(self) -> dict[str, Any]:
        return await self.stats()


class Anchor(Side):
    """llama-server ``/infill`` driven like llama.vscode (request body, post-processing: bench/anchor.py)."""

    name = "llama-server"
    kind = "anchor"

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
class Pause:
    kind: str  # "mid" / "eol" (an accept that covers a marked key keeps that key's mark)
    req: Request
    waited_s: float = 0.0


@dataclass
class RunResult:
    side: str
    which: str = ""
    kind: str = ""
    keys: int = 0
    requests: list[Request] = field(default_factory=list)
    pauses: list[Pause] = field(default_factory=list)
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
    pause_cap: float | None = None,
) -> RunResult:
    """Replay the trace; with ``pause_cap`` (the pause model) wait up to that long at marked keys."""
    result = RunResult(side.name, kind=side.kind)
    doc = Doc(header["text"])
    uri, language = header["uri"], header.get("languageId", "python")
    await side.open(uri, language, doc)
    loop_clock = time.perf_counter
    first_key = next(e for e in events if e.op == "key")
    sampling = isinstance(side, Ours)

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
    answered = asyncio.Event()  # set when the latest request is answered

    def on_done(req: Request) -> None:
        nonlocal shown, shown_req, rejected_shown
        if req is latest and not req.superseded and req.text:
            shown, shown_req, rejected_shown = req.text, req, False
        if isinstance(side, Ours) and req is latest and not req.superseded:
            side.sample_evaluated((req, "eval_end"))

            async def sample() -> None:
                with contextlib.suppress(Exception):
                    stats = await side.stats()
                    req.info.update({k: v for k, v in stats.items() if k.startswith("last")})

            background.add(asyncio.ensure_future(sample()))
        if req is latest:
            answered.set()

    def supersede() -> None:
        nonlocal latest
        if latest is not None and latest.done is None and not latest.superseded:
            latest.superseded = True
            side.cancel(latest)

    async def edit_and_request(line: int, col: int, text: str, key: int, kind: str) -> None:
        nonlocal latest
        sent = loop_clock()
        previous = latest
        supersede()
        end_line, end_col = doc.insert(line, col, text)
        request = Request(key, end_line, end_col, sent, kind=kind)
        if sampling:  # the counter now: this key's start, and the end of a superseded previous one
            assert isinstance(side, Ours)
            targets = [(request, "eval_start")]
            if previous is not None and previous.eval_end is None:
                targets.append((previous, "eval_end"))
            side.sample_evaluated(*targets)
        await side.change(doc, line, col, text)
        latest = request
        answered.clear()
        result.requests.append(latest)
        side.request(doc, latest, on_done)

    async def wait_for_answer(mark: str) -> None:
        """The pause model: the typist waits for the answer to the latest keystroke, then reads it."""
        nonlocal scheduled
        if latest is None:
            return
        waited = loop_clock()
        if latest.done is None and pause_cap is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(answered.wait(), pause_cap)
        result.pauses.append(Pause(mark, latest, loop_clock() - waited))
        scheduled = loop_clock()  # the next key comes its usual delay after the answer

    t0 = loop_clock()
    scheduled = t0
    i = 0
    keys_done = 0
    next_kind = "first"
    while i < len(events) and keys_done < limit:
        event = events[i]
        scheduled += event.dt * time_scale
        delay = scheduled - loop_clock()
        if delay > 0:
            await asyncio.sleep(delay)
        if event.op == "move":
            supersede()
            shown, shown_req = None, None
            next_kind = "after"
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
                await edit_and_request(event.line, event.character, text, event.index, "accept")
                if accepted is not None:
                    await side.accepted(accepted)
                next_kind = "after"
                marks = [e.pause for e in events[i:j] if e.pause]
                i = j
                if pause_cap is not None and marks and i < len(events):
                    await wait_for_answer(marks[-1])
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
        kind = "enter" if "\n" in event.text else next_kind
        next_kind = "inline"
        await edit_and_request(event.line, event.character, event.text, event.index, kind)
        i += 1
        if pause_cap is not None and event.pause and i < len(events) and keys_done < limit:
            await wait_for_answer(event.pause)

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


def mean(values: list[float]) -> float | None:
    return statistics.mean(values) if values else None


def _is_answer(req: Request) -> bool:
    return not req.skipped and not req.superseded and req.done is not None and not req.error


def summarize(result: RunResult, anchor_min: dict[int, tuple[int, int]] | None = None) -> dict[str, Any]:
    reqs = result.requests
    sent = [r for r in reqs if not r.skipped]
    answered = [r for r in sent if _is_answer(r)]
    shown = [r for r in answered if r.text]
    lat_all = [(r.done - r.sent) * 1000 for r in answered if r.done is not None]
    lat_shown = [(r.done - r.sent) * 1000 for r in shown if r.done is not None]
    s: dict[str, Any] = {
        "side": result.side,
        "which": result.which,
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
    # the pause model: one row per stop, kept raw so that traces can be pooled
    s["pauses"] = [
        {
            "kind": p.kind,
            "key": p.req.key,
            "answered": _is_answer(p.req),
            "ms": (p.req.done - p.req.sent) * 1000 if _is_answer(p.req) and p.req.done else None,
            "text": p.req.text if _is_answer(p.req) else None,
            "waited_s": p.waited_s,
        }
        for p in result.pauses
    ]
    before, after = result.before, result.after

    def delta(key: str) -> float | None:
        if key in after and key in before and after[key] is not None and before[key] is not None:
            return float(after[key]) - float(before[key])
        return None

    inline = [r for r in sent if r.kind == "inline"]
    if result.kind == "ours":
        evaluated = delta("promptTokensEvaluated")
        s["eval_total"] = evaluated
        s["eval_per_key"] = None if evaluated is None or not result.keys else evaluated / result.keys
        # per key: what the counter grew from the key's didChange to its answer (or the next key)
        per_key = {
            r.key: r.eval_end - r.eval_start
            for r in sent
            if r.eval_start is not None and r.eval_end is not None
        }
        s["inline_eval"] = [per_key[r.key] for r in inline if r.key in per_key]
        s["inline_answer_eval"] = [per_key[r.key] for r in inline if r.key in per_key and _is_answer(r)]
        lasts = [r.info for r in answered if "lastPromptTokensEvaluated" in r.info]
        mins = [r.info for r in answered if "lastMinimumPromptTokens" in r.info]
        s["eval_per_answer"] = mean([i["lastPromptTokensEvaluated"] for i in lasts])
        s["min_per_answer"] = mean([i["lastMinimumPromptTokens"] for i in mins])
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
        s["inline_eval"] = []  # /metrics waits for the batch in progress: not sampled per key
        s["inline_answer_eval"] = [
            float(r.info["prompt_n"]) for r in inline if _is_answer(r) and r.info.get("prompt_n") is not None
        ]
        pn = [r.info["prompt_n"] for r in answered if r.info.get("prompt_n") is not None]
        s["eval_per_answer"] = mean(pn)
        if anchor_min:
            s["min_per_answer"] = mean([anchor_min[r.key][1] for r in answered if r.key in anchor_min])
            s["min_per_key"] = statistics.mean(v[1] for v in anchor_min.values())
            s["inline_min"] = [anchor_min[r.key][1] for r in inline if r.key in anchor_min]
        else:
            s["min_per_answer"] = s["min_per_key"] = None
        s["after_cancel"] = None
        s["hits"] = {}
        cached = [r.info.get("cache_n") or 0 for r in answered]
        total = [(r.info.get("cache_n") or 0) + (r.info.get("prompt_n") or 0) for r in answered]
        s["kv_reuse"] = sum(cached) / sum(total) if sum(total) else None
        s["decoded"] = delta("tokens_predicted_total")
    s["eval_per_inline_key"] = mean(s["inline_eval"])
    s["eval_per_inline_answer"] = mean(s["inline_answer_eval"])
    s["inline_keys"] = len(inline)
    return s


def _ratio_lines(rows: list[dict[str, Any]], keys: list[tuple[str, str]]) -> list[str]:
    """``ours/anchor: p50 0.49, ...`` for each qwen-lsp side against the anchor."""
    anchor = next((row for row in rows if row["which"] == "anchor"), None)
    out = []
    for row in rows:
        if row["which"] == "anchor":
            continue
        parts = []
        for key, label in keys:
            a, b = row.get(key), None if anchor is None else anchor.get(key)
            parts.append(f"{label} {'n/a' if not a or not b else f'{a / b:.2f}'}")
        out.append(f"{row['which']}/anchor: " + ", ".join(parts))
    return out


def table(model: str, trace: str, rows: list[dict[str, Any]]) -> str:
    """The real-time replay: one row per side."""
    out = [f"**{model}, trace `{trace}`, real-time replay**", ""]
    out.append(
        "| side | keys | sent / superseded / answered / shown | p50 ms | p95 ms | p50 ms (any answer) "
        "| prompt tok eval / key | eval / in-line key | eval / answer | min / answer | eval÷min "
        "| KV reuse | hits / request | decoded after cancel | accept / type-through / reject "
        "| RSS MiB (HWM) | warm-up s |"
    )
    out.append("|" + "---|" * 17)
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
            f"| {fmt(row['eval_per_key'], '.1f')} | {fmt(row['eval_per_inline_key'], '.1f')} "
            f"| {fmt(row['eval_per_answer'], '.1f')} "
            f"| {fmt(row['min_per_answer'], '.1f')} | {evr} | {fmt(row['kv_reuse'], '.2f')} | {hits} "
            f"| {fmt(row['after_cancel'], '.0f')} "
            f"| {row['accepts']} / {row['typed_through']} / {row['rejects']} "
            f"| {row['rss_mib']:.0f} ({row['hwm_mib']:.0f}) | {row['warmup_s']:.1f} |"
        )
    out.append("")
    keys = [("p50_ms", "p50"), ("p95_ms", "p95"), ("p50_all_ms", "p50 any answer")]
    out += _ratio_lines(rows, [*keys, ("eval_per_key", "prompt tokens evaluated per key")])
    return "\n".join(out)


def pause_row(side: str, which: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One side's pause-model numbers over one or more traces (pooled)."""
    pauses = [p for row in rows for p in row["pauses"]]
    answered = [p for p in pauses if p["answered"]]
    ms = [p["ms"] for p in answered]
    keys = sum(row["keys"] for row in rows)
    evaluated = [row["eval_total"] for row in rows]
    return {
        "side": side,
        "which": which,
        "keys": keys,
        "pauses": len(pauses),
        "answered": len(answered),
        "nonempty": sum(1 for p in answered if p["text"]),
        "p50_ms": pct(ms, 0.5),
        "p95_ms": pct(ms, 0.95),
        "p50_mid_ms": pct([p["ms"] for p in answered if p["kind"] == "mid"], 0.5),
        "p50_eol_ms": pct([p["ms"] for p in answered if p["kind"] == "eol"], 0.5),
        "max_ms": max(ms) if ms else None,
        "eval_per_key": None if None in evaluated or not keys else sum(evaluated) / keys,
        "eval_per_inline_key": mean([v for row in rows for v in row["inline_eval"]]),
        "eval_per_inline_answer": mean([v for row in rows for v in row["inline_answer_eval"]]),
        "accepts": sum(row["accepts"] for row in rows),
        "typed_through": sum(row["typed_through"] for row in rows),
        "rejects": sum(row["rejects"] for row in rows),
        "rss_mib": max(row["rss_mib"] for row in rows),
        "hwm_mib": max(row["hwm_mib"] for row in rows),
        "warmup_s": sum(row["warmup_s"] for row in rows) / len(rows),
        "wall_s": sum(row["wall_s"] for row in rows),
    }


def pause_table(title: str, rows: list[dict[str, Any]]) -> str:
    """The pause model: one row per side (``rows`` from :func:`pause_row`)."""
    out = [f"**{title}**", ""]
    out.append(
        "| side | keys | pauses: answered / non-empty / all | pause p50 ms | pause p95 ms | p50 mid-line / "
        "line start ms | max ms | prompt tok eval / key | eval / in-line key | eval / in-line answer "
        "| accept / type-through / reject | RSS MiB (HWM) | warm-up s | wall s |"
    )
    out.append("|" + "---|" * 14)
    for row in rows:
        out.append(
            f"| {row['side']} | {row['keys']} | {row['answered']} / {row['nonempty']} / {row['pauses']} "
            f"| {fmt(row['p50_ms'])} | {fmt(row['p95_ms'])} "
            f"| {fmt(row['p50_mid_ms'])} / {fmt(row['p50_eol_ms'])} | {fmt(row['max_ms'])} "
            f"| {fmt(row['eval_per_key'], '.1f')} | {fmt(row['eval_per_inline_key'], '.1f')} "
            f"| {fmt(row['eval_per_inline_answer'], '.1f')} "
            f"| {row['accepts']} / {row['typed_through']} / {row['rejects']} "
            f"| {row['rss_mib']:.0f} ({row['hwm_mib']:.0f}) | {row['warmup_s']:.1f} | {row['wall_s']:.0f} |"
        )
    out.append("")
    out += _ratio_lines(rows, [("p50_ms", "pause p50"), ("p95_ms", "pause p95")])
    return "\n".join(out)


# ------------------------------------------------------------------------------------------ main

SIDES = {
    "ours": ("qwen-lsp", {}),
    "ours-cursor": ("qwen-lsp cursor", {"completion": {"promptLayout": "cursor"}}),
    "anchor": ("llama-server", None),
}
DEFAULT_TRACES = "mid-inspect,mid-mypy,mid-click,mid-llama"


def side_setup(name: str) -> tuple[str, dict[str, Any] | None]:
    """A side's display name and initializationOptions (None: the anchor).

    Besides ``SIDES``, ``ours+key=value[+key=value]`` is ours with completion settings changed, e.g.
    ``ours+regionLines=4`` (integers are sent as numbers).
    """
    if name in SIDES:
        return SIDES[name]
    base, _, rest = name.partition("+")
    if base != "ours" or not rest:
        raise KeyError(name)
    settings: dict[str, Any] = {}
    for pair in rest.split("+"):
        key, _, value = pair.partition("=")
        settings[key] = int(value) if value.lstrip("-").isdigit() else value
    return f"qwen-lsp {rest}", {"completion": settings}


async def run_side(
    side: Side, model: Path, header: dict[str, Any], events: list[Event], args: Any, mode: str
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
            pause_cap=args.pause_cap if mode == "pause" else None,
        )
    finally:
        await side.stop()


def main() -> None:
    global THREADS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--models",
        default="1.5b,qwen35-4b",
        help="comma list: 0.5b, 1.5b, qwen35-4b, qwen35-4b-synthetic, tiny-qwen35 or GGUF paths",
    )
    parser.add_argument("--traces", default=DEFAULT_TRACES, help="comma list of bench/traces/NAME.jsonl")
    parser.add_argument(
        "--sides",
        default="ours,ours-cursor,anchor",
        help="comma list: ours, ours-cursor, anchor, ours+key=value (completion settings; the order "
        "rotates per trace and replay)",
    )
    parser.add_argument("--replay", default="pause,realtime", help="comma list: pause, realtime")
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
        "--pause-cap", type=float, default=120.0, help="pause replay: wait at most this long at a stop, s"
    )
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
    modes = [m.strip() for m in args.replay.split(",") if m.strip()]
    for name in sides:
        try:
            side_setup(name)
        except (KeyError, ValueError):
            sys.exit(f"unknown side {name!r}: {', '.join(SIDES)}, or ours+key=value")
    for mode in modes:
        if mode not in ("pause", "realtime"):
            sys.exit(f"unknown replay model {mode!r}: pause, realtime")
    if "anchor" in sides and not binary.exists():
        sys.exit(f"{binary} is missing: run `python bench/anchor.py build` first")
    args.logs.mkdir(parents=True, exist_ok=True)
    tables: list[str] = []
    raw: list[dict[str, Any]] = []
    rotation = 0
    for model_name in [m.strip() for m in args.models.split(",") if m.strip()]:
        label, model = resolve_model(model_name)
        setup = f"{label}; {THREADS} threads, n_ctx {N_CTX}, time scale {args.time_scale:g}"
        pooled: dict[str, list[dict[str, Any]]] = {}
        traces = [t.strip() for t in args.traces.split(",") if t.strip()]
        for trace_name in traces:
            header, events = load_trace(TRACES / f"{trace_name}.jsonl")
            for mode in modes:
                shift = rotation % len(sides)
                rotation += 1
                rows: list[dict[str, Any]] = []
                for which in sides[shift:] + sides[:shift]:
                    tag = f"{model_name}-{trace_name}-{mode}-{which}"
                    display, options = side_setup(which)
                    if options is not None:
                        side: Side = Ours(args.logs / f"{tag}.log", display, options)
                    else:
                        side = Anchor(binary, args.anchor_args.split(), args.logs / f"{tag}.log")
                    print(f"== {label} / {trace_name} / {mode} / {display}", file=sys.stderr, flush=True)
                    result = asyncio.run(run_side(side, model, header, events, args, mode))
                    result.which = which
                    anchor_min = None
                    if isinstance(side, Anchor) and side.payloads:
                        anchor_min = anchor_minimum_tokens(model, side.payloads)
                    row = summarize(result, anchor_min)
                    rows.append(row)
                    entry = {
                        "model": label,
                        "trace": trace_name,
                        "replay": mode,
                        "threads": THREADS,
                        "time_scale": args.time_scale,
                        **row,
                    }
                    raw.append(entry)
                    brief = {
                        k: v
                        for k, v in entry.items()
                        if k not in ("pauses", "inline_eval", "inline_answer_eval", "inline_min")
                    }
                    print(f"   {json.dumps(brief, default=str)}", file=sys.stderr, flush=True)
                    if args.json is not None:  # after every run: a long session keeps what it measured
                        args.json.write_text(json.dumps(raw, indent=1, default=str))
                rows.sort(key=lambda r: sides.index(r["which"]))
                if mode == "pause":
                    for row in rows:
                        pooled.setdefault(row["which"], []).append(row)
                    summary = [pause_row(row["side"], row["which"], [row]) for row in rows]
                    tables.append(pause_table(f"{setup}, trace `{trace_name}`, pause replay", summary))
                else:
                    tables.append(table(setup, trace_name, rows))
                print(tables[-1] + "\n", flush=True)
        if pooled and len(traces) > 1:
            summary = [pause_row(rows[0]["side"], which, rows) for which, rows in pooled.items()]
            summary.sort(key=lambda r: sides.index(r["which"]))
            title = f"{setup}, pause replay pooled over {', '.join(f'`{t}`' for t in traces)}"
            tables.append(pause_table(title, summary))
            print(tables[-1] + "\n", flush=True)
    print("\n\n".join(tables))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
