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

Then each completion is written into a scratch copy of its project and the tests of the touched module run
(``bench/quality/oracle.py``): a hole passes when they pass. Results go to
``bench/quality/results/<model>.jsonl`` (resumable: finished holes are skipped) and the table to stdout.
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

        from lsp_server.engine.engine import _without_extra_buffer_types, model_fim_tokens

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


class Ours:
    """``qwen-lsp serve`` over stdio, driven the way an editor drives it."""

    def __init__(self, model: Path, log: Path | None) -> None:
        from lsp_server.client.session import ServerOptions, ServerSession

        extra = ["--log-file", str(log)] if log is not None else []
        self.session = ServerSession(ServerOptions(model=str(model), temperature=0.0, extra_args=extra))
        self.versions: dict[str, int] = {}

    async def start(self, root: Path) -> None:
        await self.session.start()
        await self.session.initialize(root=root)
        await self.session.wait_for_model()

    async def stop(self) -> None:
        await self.session.close()

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

    async def complete(
        self, path: Path, root: Path, text: str, original: str, line: int, column: int
    ) -> tuple[str, float, Any]:
        """The completion, its latency in ms and what the server says about how it was made."""
        from lsprotocol import types

        from lsp_server.client.session import plain

        for neighbour in _imported_modules(path, root):
            if neighbour.resolve().as_uri() not in self.versions:
                self._set_text(neighbour, neighbour.read_text(encoding="utf-8"))
        uri = self._set_text(path, text)
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
        self._set_text(path, original)
        return completion, elapsed, provenance


# ------------------------------------------------------------------------------------------ run


def _done(out: Path) -> dict[tuple[str, str], dict[str, Any]]:
    records: dict[tuple[str, str], dict[str, Any]] = {}
    if out.exists():
        for raw in out.read_text().splitlines():
            if raw.strip():
                record = json.loads(raw)
                records[(record["id"], record["side"])] = record
    return records


async def generate(holes: list[dict[str, Any]], model: Path, sides: list[str], out: Path) -> None:
    """Ask each side for a completion at every hole not yet in ``out``."""
    done = _done(out)
    todo = [h for h in holes if any((h["id"], side) not in done for side in sides)]
    if not todo:
        return
    baseline = Baseline(model) if "baseline" in sides else None
    ours: Ours | None = None
    if "ours" in sides:
        ours = Ours(model, out.with_suffix(".server.log"))
        await ours.start(oracle.prepare(todo[0]["project"]))
    try:
        with out.open("a") as sink:
            for index, hole in enumerate(todo):
                root = oracle.prepare(hole["project"])
                path = root / hole["file"]
                original = path.read_text(encoding="utf-8")
                text, line, column = oracle.editor_view(hole)
                for side in sides:
                    if (hole["id"], side) in done:
                        continue
                    record: dict[str, Any] = {"id": hole["id"], "side": side, "kind": hole["kind"]}
                    if side == "baseline":
                        assert baseline is not None
                        completion, ms, prompt_tokens = baseline.complete(text, line, column, hole["kind"])
                        record.update(completion=completion, ms=ms, prompt_tokens=prompt_tokens)
                    else:
                        assert ours is not None
                        completion, ms, provenance = await ours.complete(
                            path, root, text, original, line, column
                        )
                        record.update(completion=completion, ms=ms, provenance=provenance)
                    sink.write(json.dumps(record) + "\n")
                    sink.flush()
                    print(
                        f"[{index + 1}/{len(todo)}] {hole['id']} {side:8} {record['ms']:7.0f} ms "
                        f"{completion[:60]!r}",
                        file=sys.stderr,
                    )
    finally:
        if ours is not None:
            await ours.stop()


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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="0.5b", help="0.5b, 1.5b or a GGUF path")
    parser.add_argument("--limit", type=int, default=0, help="only the first N holes of each kind")
    parser.add_argument("--projects", default="", help="comma-separated project names to keep")
    parser.add_argument("--sides", default="baseline,ours")
    parser.add_argument("--score-only", action="store_true")
    parser.add_argument("--kinds", default="", help="only these hole kinds (single_line, multi_line)")
    parser.add_argument("--ids", type=Path, default=None, help="only the hole ids listed in this file")
    parser.add_argument(
        "--redo", action="store_true", help="drop the selected holes' results of --sides first, then generate"
    )
    parser.add_argument("--out", type=Path, default=None, help="results file (default results/<model>.jsonl)")
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
    label = args.model if args.model in ("0.5b", "1.5b") else Path(args.model).stem
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = args.out or RESULTS / f"{label}.jsonl"
    if args.redo and out.exists():
        redo = {(h["id"], side) for h in holes for side in args.sides.split(",")}
        kept = [r for r in _done(out).values() if (r["id"], r["side"]) not in redo]
        out.write_text("".join(json.dumps(r) + "\n" for r in kept))
    if not args.score_only:
        asyncio.run(generate(holes, model_path(args.model), args.sides.split(","), out))
    records = score(load_holes(), out)
    print(table(label, load_holes(), records))


if __name__ == "__main__":
    main()
