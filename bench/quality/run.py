"""Hole-filling quality benchmark: ``qwen-lsp serve`` over stdio against a llama.vscode-style FIM baseline.

Run (the holes are frozen in ``bench/quality/holes.json``; projects are fetched from PyPI on first use)::

    .venv/bin/python bench/quality/run.py --model 0.5b            # generate, score, print the table
    .venv/bin/python bench/quality/run.py --model 1.5b --limit 40 # a quicker, smaller run
    .venv/bin/python bench/quality/run.py --model 0.5b --score-only

For every hole, in file order, both sides get the same editor state (the file with the hole removed, the
cursor where the hole starts) and the same model, one after the other on the same machine:

* **ours**: one ``qwen-lsp serve --model M`` process for the whole run (the model stays resident), driven
  as an editor drives it: ``didOpen`` of the project modules the file imports (as a user has them open in
  tabs) and of the file itself, then ``textDocument/inlineCompletion`` at the cursor; the item's
  ``insertText`` is the completion. Afterwards the original text is restored with a ``didChange`` (the user
  finished typing it), so later holes see the project as it is.
* **baseline**: the prompt llama.vscode sends to llama-server ``/infill`` (256 lines before, 64 after, the
  cursor line as ``prompt``; ``bench/anchor.py``) laid out as plain FIM tokens
  ``<fim_prefix> prefix <fim_suffix> suffix <fim_middle>`` and run directly through llama-cpp-python,
  greedy, ``n_predict`` 128, stopping at the first newline for single-line holes and at end-of-generation
  for multi-line holes, then llama.vscode's post-processing.

Two more sides compare the server's prompt layouts (``completion.promptLayout``) in one run, each with its
own ``qwen-lsp serve`` (so each keeps its own model cache), driven as ``ours`` is:

* **ours-cursor**: the old layout (``initializationOptions`` ``{"completion": {"promptLayout": "cursor"}}``;
  ``ours`` is the default layout, ``region``).
* **ours-typedK** (``--typed-lines K``): the region layout when K lines were typed since arriving. The file
  is opened with the hole *and* the K whole lines above the hole's line removed, one completion is asked
  for at the cursor there (now K lines higher) and waited for: this makes the place, as a user arriving
  does. Then the K lines are inserted back with one incremental ``didChange`` (a range insert at the start
  of the cursor line, as a paste) and the completion is asked for at the hole, K lines lower. The item's
  provenance says whether that request was still in the place made on arrival with a region of K + 1
  lines (``typed`` in the results file). Holes with fewer than K lines above them are skipped. Its
  latency (``ms``) is the hole's request only (the arrival's is ``typed.arrivalMs``).

Each side waits until the other sides' servers are idle (their speculation after the previous request),
so no two sides share the cores; ``--server-threads 1`` suits a loaded 2-core machine (llama.cpp's results
do not depend on the thread count, only its speed).

    .venv/bin/python bench/quality/run.py --model 0.5b --sides ours,ours-cursor   # region vs cursor
    .venv/bin/python bench/quality/run.py --model 0.5b --typed-lines 8             # side ours-typed8

Two sides score a model served elsewhere (issue 14), the same holes through ``qwen-lsp serve --remote``:
**remote-llama** (llama-server's API) and **remote-openai** (the OpenAI-compatible API), against
``--remote URL`` (any server; the key from ``$QWEN_LSP_API_KEY``) or, without it, a llama-server this
script starts on the same GGUF::

    .venv/bin/python bench/quality/run.py --model 0.5b --sides ours,remote-llama,remote-openai

Three sides compare the completion prompt styles (``completion.promptStyle``, issue 15) on the same holes,
each with its own ``qwen-lsp serve``: **style-fim**, **style-chat** and **style-prefix**::

    .venv/bin/python bench/quality/run.py --model 0.5b --sides style-fim,style-chat,style-prefix --limit 8

Then each completion is written into a scratch copy of its project and the tests of the touched module run
(``bench/quality/oracle.py``): a hole passes when they pass. Results go to
``bench/quality/results/<model>.jsonl`` for the sides ``baseline`` and ``ours``, and to
``bench/quality/results/<model>-layouts.jsonl`` when another side is asked for (``--out`` to choose);
records are kept per hole and side (resumable: finished ones are skipped). The tables go to stdout: each
side's pass and exact counts per kind and project, and each comparison (region against cursor, region
against the baseline, typed against both) in holes, with the holes that flipped.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "bench" / "quality"))

import oracle  # noqa: E402
from anchor import infill_request, postprocess  # noqa: E402

RESULTS = ROOT / "bench" / "quality" / "results"
HOLES = ROOT / "bench" / "quality" / "holes.json"
N_PREDICT = 128
THREADS = 2


def load_holes(path: Path = HOLES) -> list[dict[str, Any]]:
    """The frozen hole set, ordered by project, file and position (so neighbouring holes share a file)."""
    data = json.loads(path.read_text())
    holes: list[dict[str, Any]] = data["holes"] if isinstance(data, dict) else data
    return sorted(holes, key=lambda h: (h["project"], h["file"], h["line"], h["column"]))


def model_path(name: str) -> Path:
    """``0.5b``/``1.5b`` (assembled from PyPI chunks, sha256-checked) or a path to a GGUF."""
    if name in ("0.5b", "1.5b"):
        from models import model_path as bench_model

        return bench_model(name)
    return Path(name).expanduser()


# ------------------------------------------------------------------------------------------ baseline


class Baseline:
    """llama.vscode's ``/infill`` request, laid out as plain FIM tokens, through llama-cpp-python."""

    def __init__(self, model: Path) -> None:
        import llama_cpp

        from lsp_server.engine.llama.backend import _without_extra_buffer_types, model_fim_tokens

        with _without_extra_buffer_types():
            self.llm = llama_cpp.Llama(
                model_path=str(model),
                n_ctx=8192,
                n_batch=512,
                n_threads=THREADS,
                n_threads_batch=THREADS,
                use_mmap=False,
                verbose=False,
            )
        fim = model_fim_tokens(self.llm)
        if fim is None:
            raise SystemExit(f"{model} has no FIM tokens: the baseline needs them")
        self.fim = fim

    def tokens(self, text: str) -> list[int]:
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def complete(self, text: str, line: int, column: int, kind: str) -> tuple[str, float, int]:
        """The completion, its latency in ms and the prompt size in tokens."""
        lines = text.split("\n")
        made = infill_request(lines, line, column)
        if made is None:
            return "", 0.0, 0
        body, context = made
        prompt = [
            self.fim.prefix,
            *self.tokens(body["input_prefix"]),
            *self.tokens(body["prompt"]),
            self.fim.suffix,
            *self.tokens(body["input_suffix"]),
            self.fim.middle,
        ]
        started = time.perf_counter()
        out = self.llm.create_completion(
            prompt=prompt,
            max_tokens=N_PREDICT,
            temperature=0.0,
            top_k=1,
            stop=["\n"] if kind == "single_line" else [],
        )
        elapsed = (time.perf_counter() - started) * 1000
        content = str(out["choices"][0]["text"])  # type: ignore[index]
        return postprocess(content, lines, line, context), elapsed, len(prompt)


# ------------------------------------------------------------------------------------------ ours


def _imported_modules(path: Path, root: Path) -> list[Path]:
    """Project files that ``path`` imports (absolute or relative), as an editor user has them open."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, OSError):
        return []
    package = path.parent
    names: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            names.append((node.level, base))
            names.extend((node.level, f"{base}.{alias.name}" if base else alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            names.extend((0, alias.name) for alias in node.names)
    found: list[Path] = []
    ancestors = [p for p in path.parents if p == root or root in p.parents]
    for level, dotted in names:
        bases = ancestors if level == 0 else [package.parents[level - 2] if level > 1 else package]
        parts = [p for p in dotted.split(".") if p]
        for base in bases:
            candidate = base.joinpath(*parts) if parts else base
            for file in (candidate.with_suffix(".py"), candidate / "__init__.py"):
                if file.is_file() and file != path and file not in found and "test" not in file.name:
                    found.append(file)
    return found[:6]


def typed_lines(side: str) -> int | None:
    """K of a side ``ours-typedK``; None for any other side."""
    if side.startswith("ours-typed") and side[len("ours-typed") :].isdigit():
        return int(side[len("ours-typed") :])
    return None


def side_settings(side: str) -> dict[str, Any]:
    """The ``initializationOptions`` sections of a side's server (beyond the temperature)."""
    # maxPredictMs 0: the whole suggestion, however long it takes (the baseline has no time limit
    # either); the default cuts a long multi-line suggestion after a whole line for latency.
    if side == "ours-cursor":
        return {"completion": {"promptLayout": "cursor", "maxPredictMs": 0}}
    if side == "ours" or typed_lines(side) is not None or side in REMOTE_SIDES:
        return {"completion": {"maxPredictMs": 0}}
    if side.startswith("style-") and side[len("style-") :] in ("fim", "chat", "prefix"):
        return {"completion": {"maxPredictMs": 0, "promptStyle": side[len("style-") :]}}
    raise SystemExit(
        f"unknown side {side!r}: baseline, ours, ours-cursor, ours-typedK, style-fim, style-chat, "
        "style-prefix, remote-llama or remote-openai"
    )


REMOTE_SIDES = {"remote-llama": "llama", "remote-openai": "openai"}
"""Sides served by a model server (``--remote URL``, or a llama-server started on the same GGUF)."""


def applies(side: str, hole: dict[str, Any]) -> bool:
    """Whether a side measures a hole (``ours-typedK`` needs K lines above the hole's line)."""
    k = typed_lines(side)
    return k is None or hole["line"] >= k


class Ours:
    """``qwen-lsp serve`` over stdio, driven the way an editor drives it."""

    def __init__(
        self,
        model: Path,
        log: Path | None,
        settings: dict[str, Any] | None = None,
        threads: int = 0,
        remote: list[str] | None = None,
    ) -> None:
        from lsp_server.client.session import ServerOptions, ServerSession

        extra = ["--log-file", str(log)] if log is not None else []
        if threads:
            extra += ["--threads", str(threads)]
        extra += remote or []
        options = ServerOptions(
            model=None if remote else str(model), temperature=0.0, extra_args=extra, settings=settings or {}
        )
        self.session = ServerSession(options)
        self.versions: dict[str, int] = {}

    async def start(self, root: Path) -> None:
        await self.session.start()
        await self.session.initialize(root=root)
        await self.session.wait_for_model()

    async def stop(self) -> None:
        await self.session.close()

    async def idle(self, limit: float = 600.0) -> None:
        """Wait until the server runs nothing (its speculation or pre-warm after the last request).

        Each side has its own server; without this, one side's background work would share the cores
        with the next side's request (it changes only the timings).
        """
        await self.session.wait_idle(limit, interval=0.4)

    def _set_text(self, path: Path, text: str) -> str:
        from lsprotocol import types

        uri = path.resolve().as_uri()
        client = self.session.client
        if uri not in self.versions:
            self.versions[uri] = 1
            self.session.open_document(uri, "python", text)
            return uri
        self.versions[uri] += 1
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )
        return uri

    def _insert(self, uri: str, line: int, character: int, text: str) -> None:
        """One incremental ``didChange``: ``text`` inserted at a position (a paste)."""
        from lsprotocol import types

        at = types.Position(line=line, character=character)
        self.versions[uri] += 1
        self.session.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
                content_changes=[
                    types.TextDocumentContentChangePartial(range=types.Range(at, at), text=text)
                ],
            )
        )

    def _open_neighbours(self, path: Path, root: Path) -> None:
        for neighbour in _imported_modules(path, root):
            if neighbour.resolve().as_uri() not in self.versions:
                self._set_text(neighbour, neighbour.read_text(encoding="utf-8"))

    async def _request(self, uri: str, text: str, line: int, column: int) -> tuple[str, float, Any]:
        """One inline completion at (line, code-point column) of ``text``: the completion, ms, provenance."""
        from lsprotocol import types

        from lsp_server.client.session import plain

        utf16 = len(text.split("\n")[line][:column].encode("utf-16-le")) // 2
        params = types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=utf16),
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
        )
        started = time.perf_counter()
        result = await self.session.client.text_document_inline_completion_async(params)
        elapsed = (time.perf_counter() - started) * 1000
        completion, provenance = "", None
        items = result.items if isinstance(result, types.InlineCompletionList) else (result or [])
        if items:
            item = items[0]
            insert = item.insert_text
            completion = insert if isinstance(insert, str) else insert.value
            if item.command is not None and item.command.arguments and len(item.command.arguments) > 1:
                provenance = plain(item.command.arguments[1])
        return completion, elapsed, provenance

    async def _arrivals(self) -> int:
        """Places the server has made so far (arrivals and regions that outgrew their bound)."""
        stats = await self.session.stats()
        return int(stats.get("placeArrivals", 0)) + int(stats.get("placesOutgrown", 0))

    async def complete(
        self, path: Path, root: Path, text: str, original: str, line: int, column: int
    ) -> tuple[str, float, Any]:
        """The completion, its latency in ms and what the server says about how it was made."""
        self._open_neighbours(path, root)
        uri = self._set_text(path, text)
        answer = await self._request(uri, text, line, column)
        self._set_text(path, original)
        return answer

    async def complete_typed(
        self, path: Path, root: Path, text: str, original: str, line: int, column: int, k: int
    ) -> tuple[str, float, Any, dict[str, Any]]:
        """As :meth:`complete`, after arriving K lines higher and typing the K lines above the hole there.

        Also returns what the place check found: the places of both requests (from the items'
        provenance) and whether the hole's request was still in the place made on arrival, with a region
        of K + 1 lines (None when the server offered no item at the hole).
        """
        self._open_neighbours(path, root)
        lines = text.split("\n")
        typed = "".join(lines[row] + "\n" for row in range(line - k, line))
        arrival_text = "\n".join(lines[: line - k] + lines[line:])
        uri = self._set_text(path, arrival_text)
        before = await self._arrivals()
        arrival, arrival_ms, arrival_provenance = await self._request(uri, arrival_text, line - k, column)
        middle = await self._arrivals()
        self._insert(uri, line - k, 0, typed)
        completion, elapsed, provenance = await self._request(uri, text, line, column)
        after = await self._arrivals()
        self._set_text(path, original)
        place = (provenance or {}).get("place") or {}
        arrival_place = (arrival_provenance or {}).get("place") or {}
        region_lines = place.get("regionLines")
        same: bool | None = None
        if provenance is not None:
            # Not arrived, K + 1 lines: the place was made on the row the arrival request was at.
            same = (
                place.get("arrived") is False
                and region_lines == k + 1
                and (not arrival_place or arrival_place.get("id") == place.get("id"))
            )
        check = {
            "k": k,
            "arrivalCompletion": arrival,
            "arrivalMs": arrival_ms,
            "arrivalPlace": arrival_place or None,
            "layout": (provenance or {}).get("layout"),
            "place": place or None,
            "regionLines": region_lines,
            "samePlace": same,
            # Places the server made during each request (its pre-warms after didOpen/didChange count too).
            "placesMade": [middle - before, after - middle],
        }
        return completion, elapsed, provenance, check


# ------------------------------------------------------------------------------------------ run


def _done(out: Path) -> dict[tuple[str, str], dict[str, Any]]:
    records: dict[tuple[str, str], dict[str, Any]] = {}
    if out.exists():
        for raw in out.read_text().splitlines():
            if raw.strip():
                record = json.loads(raw)
                records[(record["id"], record["side"])] = record
    return records


async def generate(
    holes: list[dict[str, Any]],
    model: Path,
    sides: list[str],
    out: Path,
    threads: int = 0,
    remote_url: str | None = None,
) -> None:
    """Ask each side for a completion at every hole not yet in ``out`` (each ``ours*`` side: a server)."""
    done = _done(out)
    todo = [h for h in holes if any((h["id"], side) not in done and applies(side, h) for side in sides)]
    if not todo:
        return
    baseline = Baseline(model) if "baseline" in sides else None
    servers: dict[str, Ours] = {}
    llama_server = None
    if remote_url is None and any(side in REMOTE_SIDES for side in sides):
        from devtools.llama_server import LlamaServer

        # The same GGUF behind a llama-server built from the same llama.cpp, as a team's GPU box would be.
        llama_server = LlamaServer(model, threads=threads or 2, log=out.with_suffix(".llama-server.log"))
        remote_url = llama_server.start().url
    try:
        for side in sides:
            if side != "baseline":
                log = out.with_suffix(".server.log" if side == "ours" else f".{side}.server.log")
                remote = (
                    ["--remote", str(remote_url), "--remote-api", REMOTE_SIDES[side]]
                    if side in REMOTE_SIDES
                    else None
                )
                servers[side] = Ours(model, log, side_settings(side), threads, remote)
                await servers[side].start(oracle.prepare(todo[0]["project"]))
        with out.open("a") as sink:
            for index, hole in enumerate(todo):
                root = oracle.prepare(hole["project"])
                path = root / hole["file"]
                original = path.read_text(encoding="utf-8")
                text, line, column = oracle.editor_view(hole)
                for side in sides:
                    if (hole["id"], side) in done or not applies(side, hole):
                        continue
                    record: dict[str, Any] = {"id": hole["id"], "side": side, "kind": hole["kind"]}
                    for other, server in servers.items():
                        if other != side:
                            await server.idle()
                    k = typed_lines(side)
                    if side == "baseline":
                        assert baseline is not None
                        completion, ms, prompt_tokens = baseline.complete(text, line, column, hole["kind"])
                        record.update(completion=completion, ms=ms, prompt_tokens=prompt_tokens)
                    elif k is not None:
                        completion, ms, provenance, check = await servers[side].complete_typed(
                            path, root, text, original, line, column, k
                        )
                        record.update(completion=completion, ms=ms, provenance=provenance, typed=check)
                    else:
                        completion, ms, provenance = await servers[side].complete(
                            path, root, text, original, line, column
                        )
                        record.update(completion=completion, ms=ms, provenance=provenance)
                    sink.write(json.dumps(record) + "\n")
                    sink.flush()
                    note = ""
                    if "typed" in record:
                        found = record["typed"]
                        note = f" same place: {found['samePlace']} ({found['regionLines']} lines)"
                    print(
                        f"[{index + 1}/{len(todo)}] {hole['id']} {side:11} {record['ms']:7.0f} ms "
                        f"{completion[:60]!r}{note}",
                        file=sys.stderr,
                    )
    finally:
        for server in servers.values():
            await server.stop()
        if llama_server is not None:
            llama_server.stop()


def score(holes: list[dict[str, Any]], out: Path) -> list[dict[str, Any]]:
    """Run the tests for every generated completion not yet scored; return all records."""
    by_id = {h["id"]: h for h in holes}
    records = list(_done(out).values())
    changed = False
    for record in records:
        if "passed" in record or record["id"] not in by_id:
            continue
        hole = by_id[record["id"]]
        outcome = oracle.check(hole, record["completion"], oracle.prepare(hole["project"]))
        record.update(passed=outcome.passed, exact=outcome.exact, test_seconds=round(outcome.seconds, 2))
        changed = True
        print(f"scored {record['id']} {record['side']:8} passed={outcome.passed}", file=sys.stderr)
    if changed:
        out.write_text(
            "".join(json.dumps(r) + "\n" for r in sorted(records, key=lambda r: (r["id"], r["side"])))
        )
    return [r for r in records if r["id"] in by_id]


def _rate(rows: list[dict[str, Any]], key: str) -> str:
    if not rows:
        return "-"
    return f"{100 * sum(bool(r.get(key)) for r in rows) / len(rows):.1f}%"


def table(model: str, holes: list[dict[str, Any]], records: list[dict[str, Any]]) -> str:
    """Markdown: pass rate and exact match per kind, ours vs baseline, plus median latency."""
    project_of = {h["id"]: h["project"] for h in holes}
    lines = [
        f"Model: {model}; {len({r['id'] for r in records})} holes",
        "",
        "| holes | n | baseline pass | ours pass | delta | baseline exact | ours exact "
        "| baseline median ms | ours median ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    groups: list[tuple[str, Any]] = [
        ("single-line", lambda r: r["kind"] == "single_line"),
        ("multi-line", lambda r: r["kind"] == "multi_line"),
        ("all", lambda r: True),
    ]
    for project in sorted(set(project_of.values())):
        groups.append((f"{project}", lambda r, p=project: project_of[r["id"]] == p))
    for name, keep in groups:
        base = [r for r in records if r["side"] == "baseline" and keep(r)]
        ours = [r for r in records if r["side"] == "ours" and keep(r)]
        ids = {r["id"] for r in base} & {r["id"] for r in ours}
        base = [r for r in base if r["id"] in ids]
        ours = [r for r in ours if r["id"] in ids]
        if not ids:
            continue

        def pct(rows: list[dict[str, Any]]) -> float:
            return 100 * sum(bool(r.get("passed")) for r in rows) / len(rows)

        delta = pct(ours) - pct(base)
        lines.append(
            f"| {name} | {len(ids)} | {_rate(base, 'passed')} | {_rate(ours, 'passed')} | {delta:+.1f} "
            f"| {_rate(base, 'exact')} | {_rate(ours, 'exact')} "
            f"| {statistics.median(r['ms'] for r in base):.0f} "
            f"| {statistics.median(r['ms'] for r in ours):.0f} |"
        )
    return "\n".join(lines)


def label(side: str, layouts: bool = True) -> str:
    """How the tables name a side: the layout it measures (``layouts`` False: ``ours`` stays ``ours``)."""
    k = typed_lines(side)
    if k is not None:
        return f"region+typed{k}"
    if side == "ours" and not layouts:
        return side
    return {"ours": "region", "ours-cursor": "cursor"}.get(side, side)


def _layouts(records: list[dict[str, Any]]) -> bool:
    """Whether the records compare layouts (else ``ours`` is named as before, whatever its layout was)."""
    return any(r["side"].startswith("ours-") for r in records)


def _short(text: str, limit: int = 240) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _side_order(side: str) -> tuple[int, int, str]:
    order = {"baseline": 0, "ours-cursor": 1, "ours": 2}
    return (order.get(side, 3), typed_lines(side) or 0, side)


def _groups(holes: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """Row names and record filters: per kind, all, per project."""
    project_of = {h["id"]: h["project"] for h in holes}
    groups: list[tuple[str, Any]] = [
        ("single-line", lambda r: r["kind"] == "single_line"),
        ("multi-line", lambda r: r["kind"] == "multi_line"),
        ("all", lambda r: True),
    ]
    for project in sorted(set(project_of.values())):
        groups.append((project, lambda r, p=project: project_of.get(r["id"]) == p))
    return groups


def _count(rows: list[dict[str, Any]], key: str) -> int:
    return sum(bool(r.get(key)) for r in rows)


def side_table(model: str, holes: list[dict[str, Any]], records: list[dict[str, Any]]) -> str:
    """Markdown: each side's passes and exact matches (holes and %) per kind and project, median latency."""
    sides = sorted({r["side"] for r in records}, key=_side_order)
    names = {s: label(s, _layouts(records)) for s in sides}
    head = "| holes |" + "".join(
        f" {names[s]} pass | {names[s]} exact | {names[s]} median ms |" for s in sides
    )
    lines = [
        f"Model: {model}; {len({r['id'] for r in records})} holes; sides: "
        + ", ".join(f"{s} ({names[s]})" for s in sides),
        "",
        head,
        "|---|" + "---|---|---|" * len(sides),
    ]
    for name, keep in _groups(holes):
        if not any(keep(r) for r in records):
            continue
        cells = []
        for side in sides:
            rows = [r for r in records if r["side"] == side and keep(r)]
            if not rows:
                cells.append(" - | - | - |")
                continue
            passed, exact, n = _count(rows, "passed"), _count(rows, "exact"), len(rows)
            cells.append(
                f" {passed}/{n} ({100 * passed / n:.1f}%) | {exact}/{n} "
                f"| {statistics.median(r['ms'] for r in rows):.0f} |"
            )
        lines.append(f"| {name} |" + "".join(cells))
    return "\n".join(lines)


def _signed(value: int) -> str:
    return f"{value:+d}" if value else "0"


def compare(holes: list[dict[str, Any]], records: list[dict[str, Any]], new: str, old: str) -> str:
    """``new`` against ``old`` on the holes both have, in holes per kind and project, then the flips."""
    by_side: dict[str, dict[str, dict[str, Any]]] = {new: {}, old: {}}
    for record in records:
        if record["side"] in by_side:
            by_side[record["side"]][record["id"]] = record
    common = sorted(set(by_side[new]) & set(by_side[old]))
    a, b = label(new, _layouts(records)), label(old, _layouts(records))
    lines = [f"{a} ({new}) vs {b} ({old}), {len(common)} holes both have:"]
    for name, keep in _groups(holes):
        ids = [i for i in common if keep(by_side[new][i])]
        if not ids:
            continue
        ours = [by_side[new][i] for i in ids]
        theirs = [by_side[old][i] for i in ids]
        p, q = _count(ours, "passed"), _count(theirs, "passed")
        x, y = _count(ours, "exact"), _count(theirs, "exact")
        n = len(ids)
        lines.append(
            f"- {name}: {a} {p}/{n} vs {b} {q}/{n} ({_signed(p - q)}); "
            f"exact {x}/{n} vs {y}/{n} ({_signed(x - y)})"
        )
    flips = [i for i in common if bool(by_side[new][i].get("passed")) != bool(by_side[old][i].get("passed"))]
    if flips:
        lines.append(f"  holes that flipped ({len(flips)}):")
    for hole_id in flips:
        mine, other = by_side[new][hole_id], by_side[old][hole_id]
        verdict = "passes" if mine.get("passed") else "fails"
        mine_text, other_text = _short(mine["completion"]), _short(other["completion"])
        lines.append(f"  - {hole_id}: {a} {verdict}: {a} {mine_text} / {b} {other_text}")
    return "\n".join(lines)


def typed_summary(records: list[dict[str, Any]]) -> str:
    """For each ``ours-typedK`` side: how often the hole's request was in the place made on arrival."""
    lines: list[str] = []
    for side in sorted({r["side"] for r in records if typed_lines(r["side"]) is not None}, key=_side_order):
        k = typed_lines(side) or 0
        rows = [r for r in records if r["side"] == side]
        checks = [r.get("typed") or {} for r in rows]
        with_item = [c for c in checks if c.get("samePlace") is not None]
        arrivals = [c["arrivalPlace"] for c in checks if isinstance(c.get("arrivalPlace"), dict)]
        evaluated = [
            int(r["provenance"]["evaluatedTokens"])
            for r in rows
            if r.get("provenance") and r["provenance"].get("evaluatedTokens") is not None
        ]
        lines.append(
            f"{side}: {len(rows)} holes; the arrival request offered an item (its place known) at "
            f"{len(arrivals)}, a new place at {sum(bool(a.get('arrived')) for a in arrivals)}; the hole's "
            f"request was in the place made on arrival with regionLines == {k + 1} at "
            f"{sum(bool(c.get('samePlace')) for c in with_item)} of {len(with_item)} holes with an item "
            f"({len(checks) - len(with_item)} without: place unknown); median prompt tokens evaluated "
            f"for the hole's request: {statistics.median(evaluated) if evaluated else '-'}"
        )
        other = sorted(
            {
                (c.get("layout"), bool((c.get("place") or {}).get("arrived")), c.get("regionLines"))
                for c in with_item
                if not c.get("samePlace")
            },
            key=str,
        )
        if other:
            lines.append(f"  not in the place (layout, arrived, regionLines): {other}")
    return "\n".join(lines)


def report(model: str, holes: list[dict[str, Any]], records: list[dict[str, Any]]) -> str:
    """Every table the records allow: per side, the comparisons between sides, the typed-lines check."""
    sides = {r["side"] for r in records}
    parts = [side_table(model, holes, records)]
    if {"baseline", "ours"} <= sides:
        parts.append(table(model, holes, records))
    pairs = [
        ("ours", "ours-cursor"),
        ("ours", "baseline"),
        ("remote-llama", "ours"),
        ("remote-openai", "ours"),
    ]
    for side in sorted(sides, key=_side_order):
        if typed_lines(side) is not None:
            pairs += [(side, "ours-cursor"), (side, "ours")]
    parts += [compare(holes, records, new, old) for new, old in pairs if {new, old} <= sides]
    typed = typed_summary(records)
    if typed:
        parts.append(typed)
    return "\n\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="0.5b", help="0.5b, 1.5b or a GGUF path")
    parser.add_argument("--limit", type=int, default=0, help="only the first N holes of each kind")
    parser.add_argument("--projects", default="", help="comma-separated project names to keep")
    parser.add_argument(
        "--sides",
        default=None,
        help="comma-separated: baseline, ours (region layout), ours-cursor, ours-typedK "
        "(default baseline,ours; with --typed-lines only ours-typedK)",
    )
    parser.add_argument(
        "--typed-lines",
        type=int,
        default=0,
        metavar="K",
        help="add the side ours-typedK: K lines typed since arriving at the place (region layout)",
    )
    parser.add_argument("--score-only", action="store_true")
    parser.add_argument("--kinds", default="", help="only these hole kinds (single_line, multi_line)")
    parser.add_argument("--ids", type=Path, default=None, help="only the hole ids listed in this file")
    parser.add_argument(
        "--redo", action="store_true", help="drop the selected holes' results of --sides first, then generate"
    )
    parser.add_argument(
        "--server-threads",
        type=int,
        default=0,
        help="the servers' --threads (default: theirs); the outputs do not depend on it, only the timings",
    )
    parser.add_argument("--out", type=Path, default=None, help="results file (default results/<model>.jsonl)")
    parser.add_argument(
        "--remote",
        default=None,
        metavar="URL",
        help="the server of the sides remote-llama / remote-openai (key: $QWEN_LSP_API_KEY); default: a "
        "llama-server started on --model (python -m devtools.llama_server build)",
    )
    args = parser.parse_args()

    holes = load_holes()
    if args.projects:
        keep = set(args.projects.split(","))
        holes = [h for h in holes if h["project"] in keep]
    if args.limit:
        picked: list[dict[str, Any]] = []
        for kind in ("single_line", "multi_line"):
            of_kind = [h for h in holes if h["kind"] == kind]
            step = max(1, len(of_kind) // args.limit)
            picked.extend(of_kind[::step][: args.limit])
        holes = sorted(picked, key=lambda h: (h["project"], h["file"], h["line"], h["column"]))
    if args.kinds:
        holes = [h for h in holes if h["kind"] in set(args.kinds.split(","))]
    if args.ids is not None:
        wanted = set(args.ids.read_text().split())
        holes = [h for h in holes if h["id"] in wanted]
    if args.sides is None:
        sides = [] if args.typed_lines else ["baseline", "ours"]
    else:
        sides = [side for side in args.sides.split(",") if side]
    if args.typed_lines and f"ours-typed{args.typed_lines}" not in sides:
        sides.append(f"ours-typed{args.typed_lines}")
    for side in sides:
        if side != "baseline":
            side_settings(side)
    label = args.model if args.model in ("0.5b", "1.5b") else Path(args.model).stem
    RESULTS.mkdir(parents=True, exist_ok=True)
    plain_sides = set(sides) <= {"baseline", "ours"}
    if set(sides) & set(REMOTE_SIDES) and args.out is None:
        args.out = RESULTS / f"{label}-remote.jsonl"
    out = args.out or RESULTS / (f"{label}.jsonl" if plain_sides else f"{label}-layouts.jsonl")
    if args.redo and out.exists():
        redo = {(h["id"], side) for h in holes for side in sides}
        kept = [r for r in _done(out).values() if (r["id"], r["side"]) not in redo]
        out.write_text("".join(json.dumps(r) + "\n" for r in kept))
    if not args.score_only:
        asyncio.run(generate(holes, model_path(args.model), sides, out, args.server_threads, args.remote))
    records = score(load_holes(), out)
    print(report(label, load_holes(), records))


if __name__ == "__main__":
    main()
