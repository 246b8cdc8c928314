"""Next-edit benchmark: replay real edits into ``qwen-lsp serve`` and score its ``copilotInlineEdit`` answer.

Run (the targets are frozen in ``bench/next_edit/targets.json``, made by ``extract.py``)::

    .venv/bin/python bench/next_edit/run.py --model 0.5b                     # all targets, then the table
    .venv/bin/python bench/next_edit/run.py --model 1.5b --limit 40          # 40 targets spread evenly
    .venv/bin/python bench/next_edit/run.py --model 0.5b --setting nextEdit.enabled=true
    .venv/bin/python bench/next_edit/run.py --dry-run target    # scoring check: 100% exact
    .venv/bin/python bench/next_edit/run.py --dry-run none      # scoring check: 0% exact, 0 false
    .venv/bin/python bench/next_edit/run.py --dry-run repeat    # LSP check: a model-free stub server
    .venv/bin/python bench/next_edit/run.py --model 0.5b --table-only   # the table of what is there

One ``qwen-lsp serve --model M`` runs for the whole run (temperature 0; ``--setting KEY=VALUE`` adds
``initializationOptions``, the key's first dotted part being the section, the value JSON or a string). For
every target, as an editor would: ``textDocument/didOpen`` of the file as it was before the user's edits
(version 1; the same text is written under ``~/.cache/qwen-lsp/next-edit-work``, the workspace folder),
each replayed edit as one incremental ``textDocument/didChange`` (a range and its new text, versions 2, 3,
...), a pause of ``--settle`` seconds (0.3: the user settles), then ``textDocument/copilotInlineEdit`` with
``{"textDocument": {"uri", "version"}, "position": cursor}`` (the end of the last edit's text, UTF-16
columns), timed, given up after ``--timeout`` seconds (120), and ``textDocument/didClose``. Before each
target the runner waits until the server is idle (``qwenLsp/stats``), so the previous target's background
work does not share the cores with the next request.

Scores, from the answer's ``edits`` (the first one counts):

* **exact**: the first edit applied to the document gives exactly the document the target gives;
* **location**: the first edit's line range overlaps or touches the target's line range;
* **false**: an edit was returned that is not exact (per 100 targets, and per 100 replayed edits: how
  often the user would see a wrong suggestion);
* **none**: no edit (an empty list, null, a timeout or an error).

Results: one JSON line per target in ``bench/next_edit/results/<model>.jsonl`` (``--out`` to choose;
resumable: targets already there are skipped), then Markdown tables on stdout: per project, kind, number
of replayed edits and distance to the target. ``--dry-run target`` answers with the target itself and
``--dry-run none`` with nothing, through the same replay and scoring code, without a server or model (their
results go to a temporary file, started afresh, unless ``--out`` is given). ``--dry-run repeat`` drives
``stub_server.py`` (no model) over stdio exactly as the real server: it repeats the user's last edit at the
next occurrence of the replaced text after the cursor, and so checks the LSP side of the runner (pygls's
document store applies the ``didChange`` ranges there) and gives a floor a model should beat.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "bench" / "next_edit"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

TARGETS = HERE / "targets.json"
RESULTS = HERE / "results"
METHOD = "textDocument/copilotInlineEdit"
NEAR_LINES = 30


# ------------------------------------------------------------------------------------------ documents


def offset(text: str, position: dict[str, int]) -> int:
    """Code-point offset of an LSP position (0-based line, UTF-16 character; clamped to the line's end)."""
    lines = text.split("\n")
    line, character = int(position["line"]), int(position["character"])
    if line < 0 or line >= len(lines) or character < 0:
        raise ValueError(f"position {position} is outside the document ({len(lines)} lines)")
    start = sum(len(row) + 1 for row in lines[:line])
    units = 0
    for index, char in enumerate(lines[line]):
        if units >= character:
            return start + index
        units += 2 if ord(char) > 0xFFFF else 1
    return start + len(lines[line])


def apply_edit(text: str, range_: dict[str, Any], new_text: str) -> str:
    """``text`` with an LSP range replaced by ``new_text``."""
    start, end = offset(text, range_["start"]), offset(text, range_["end"])
    if end < start:
        raise ValueError(f"range {range_} ends before it starts")
    return text[:start] + new_text + text[end:]


def replay(text: str, edits: list[dict[str, Any]]) -> str:
    """The document after the replayed edits, applied in order."""
    for edit in edits:
        text = apply_edit(text, edit["range"], edit["text"])
    return text


def _lines(range_: dict[str, Any]) -> tuple[int, int]:
    return int(range_["start"]["line"]), int(range_["end"]["line"])


def score(document: str, target: dict[str, Any], edits: list[dict[str, Any]]) -> dict[str, Any]:
    """exact / location / false / none for the answer's edits (the first one counts)."""
    if not edits:
        return {"outcome": "none", "exact": False, "location": False, "false": False}
    first = edits[0]
    expected = apply_edit(document, target["range"], target["text"])
    try:
        exact = apply_edit(document, first["range"], str(first.get("text", ""))) == expected
    except (KeyError, TypeError, ValueError):
        exact = False
    try:
        (a, b), (c, d) = _lines(first["range"]), _lines(target["range"])
        location = a <= d and c <= b
    except (KeyError, TypeError, ValueError):
        location = False
    return {
        "outcome": "exact" if exact else "false",
        "exact": exact,
        "location": location,
        "false": not exact,
    }


# ------------------------------------------------------------------------------------------ predictors


class DryRun:
    """No server: answers with the target itself (``target``) or with nothing (``none``)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    async def start(self, root: Path) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def predict(
        self,
        uri: str,
        before: str,
        edits: list[dict[str, Any]],
        cursor: dict[str, int],
        target: dict[str, Any],
    ) -> dict[str, Any]:
        version = 1 + len(edits)
        answer = []
        if self.mode == "target":
            answer = [
                {
                    "range": target["range"],
                    "text": target["text"],
                    "textDocument": {"uri": uri, "version": version},
                    "command": None,
                }
            ]
        return {"edits": answer, "ms": 0.0, "version": version}


class Server:
    """``qwen-lsp serve`` over stdio, driven the way an editor drives it (one process for the whole run)."""

    def __init__(self, options: Any, settle: float, gap: float, timeout: float) -> None:
        from lsp_server.client.session import ServerSession

        self.session = ServerSession(options)
        self.settle, self.gap, self.timeout = settle, gap, timeout

    async def start(self, root: Path) -> None:
        await self.session.start()
        await self.session.initialize(root=root)
        await self.session.wait_for_model()

    async def stop(self) -> None:
        await self.session.close()

    async def idle(self, limit: float = 120.0) -> None:
        """Wait until the server runs nothing (background work after the previous target)."""
        await self.session.wait_idle(limit, interval=0.2)

    async def predict(
        self,
        uri: str,
        before: str,
        edits: list[dict[str, Any]],
        cursor: dict[str, int],
        target: dict[str, Any],
    ) -> dict[str, Any]:
        from lsprotocol import types
        from pygls.exceptions import JsonRpcException, JsonRpcMethodNotFound

        from lsp_server.client.session import ServerError, plain

        await self.idle()
        client = self.session.client
        self.session.open_document(uri, "python", before)
        version = 1
        for index, edit in enumerate(edits):
            if index and self.gap:
                await asyncio.sleep(self.gap)
            version += 1
            start, end = edit["range"]["start"], edit["range"]["end"]
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[
                        types.TextDocumentContentChangePartial(
                            range=types.Range(
                                start=types.Position(line=start["line"], character=start["character"]),
                                end=types.Position(line=end["line"], character=end["character"]),
                            ),
                            text=edit["text"],
                        )
                    ],
                )
            )
        await asyncio.sleep(self.settle)
        params = {"textDocument": {"uri": uri, "version": version}, "position": dict(cursor)}
        record: dict[str, Any] = {"version": version}
        started = time.perf_counter()
        try:
            result = await asyncio.wait_for(self.session.request(METHOD, params), self.timeout)
        except TimeoutError:
            record.update(edits=[], timedOut=True)
        except JsonRpcMethodNotFound:
            raise SystemExit(f"the server does not implement {METHOD}") from None
        except JsonRpcException as exc:
            record.update(edits=[], error=f"{type(exc).__name__}: {exc}")
        except ServerError as exc:
            raise SystemExit(str(exc)) from None
        else:
            answer = plain(result)
            found = answer.get("edits") if isinstance(answer, dict) else answer
            record["edits"] = [e for e in (found or []) if isinstance(e, dict)]
        record["ms"] = (time.perf_counter() - started) * 1000
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        return record


# ------------------------------------------------------------------------------------------ run


def load(path: Path = TARGETS) -> tuple[dict[str, str], list[dict[str, Any]]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return data["files"], data["targets"]


def work_dir() -> Path:
    path = Path(
        os.environ.get("QWEN_LSP_NEXT_EDIT_WORK") or os.path.expanduser("~/.cache/qwen-lsp/next-edit-work")
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def done(out: Path) -> dict[str, dict[str, Any]]:
    records: dict[str, dict[str, Any]] = {}
    if out.exists():
        for raw in out.read_text(encoding="utf-8").splitlines():
            if raw.strip():
                record = json.loads(raw)
                records[record["id"]] = record
    return records


async def generate(
    files: dict[str, str], targets: list[dict[str, Any]], predictor: Any, out: Path, label: str
) -> None:
    """Replay and ask for every target not yet in ``out``; one JSON line each."""
    finished = done(out)
    todo = [t for t in targets if t["id"] not in finished]
    if not todo:
        return
    root = work_dir()
    for name, text in files.items():  # the files on disk as they are before the edits (the workspace)
        path = root / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    await predictor.start(root)
    try:
        with out.open("a", encoding="utf-8") as sink:
            for index, target in enumerate(todo):
                before = files[target["file"]]
                document = replay(before, target["edits"])
                wanted = target["target"]
                start, end = (
                    offset(document, wanted["range"]["start"]),
                    offset(document, wanted["range"]["end"]),
                )
                if document[start:end] != wanted["old_text"]:
                    raise SystemExit(f"{target['id']}: the target's old_text is not at its range")
                uri = (root / target["file"]).as_uri()
                answer = await predictor.predict(uri, before, target["edits"], target["cursor"], wanted)
                record = {
                    "id": target["id"],
                    "model": label,
                    "project": target["project"],
                    "versions": target["versions"],
                    "kind": target["kind"],
                    "k": target["k"],
                    "distance": target["distance"],
                    "replayed": len(target["edits"]),
                    **score(document, wanted, answer["edits"]),
                    "ms": round(answer["ms"], 1),
                    "edits": answer["edits"][:3],
                }
                for key in ("timedOut", "error"):
                    if key in answer:
                        record[key] = answer[key]
                sink.write(json.dumps(record, ensure_ascii=False) + "\n")
                sink.flush()
                first = answer["edits"][0]["text"] if answer["edits"] else None
                sys.stderr.write(
                    f"[{index + 1}/{len(todo)}] {target['id']} {record['outcome']:5} {record['ms']:8.0f} ms "
                    f"want {wanted['text'][:40]!r} got {first if first is None else first[:40]!r}\n"
                )
    finally:
        await predictor.stop()


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _row(name: str, rows: list[dict[str, Any]]) -> str:
    n = len(rows)
    exact = sum(r["exact"] for r in rows)
    location = sum(r["location"] for r in rows)
    false = sum(r["false"] for r in rows)
    none = sum(r["outcome"] == "none" for r in rows)
    replayed = sum(r["replayed"] for r in rows)
    ms = [float(r["ms"]) for r in rows]
    return (
        f"| {name} | {n} | {exact} ({100 * exact / n:.1f}%) | {location} ({100 * location / n:.1f}%) "
        f"| {100 * false / n:.1f} | {100 * false / replayed:.1f} | {none} ({100 * none / n:.1f}%) "
        f"| {statistics.median(ms):.0f} | {_p95(ms):.0f} |"
    )


def _where(key: str, value: Any) -> Callable[[dict[str, Any]], bool]:
    return lambda record: bool(record[key] == value)


def table(label: str, targets: list[dict[str, Any]], records: list[dict[str, Any]]) -> str:
    """Markdown: exact, location, false suggestions and latency, overall and per group."""
    wanted = {t["id"] for t in targets}
    rows = [r for r in records if r["id"] in wanted]
    if not rows:
        return f"Model: {label}; no results"
    timeouts = sum(bool(r.get("timedOut")) for r in rows)
    errors = sum(bool(r.get("error")) for r in rows)
    lines = [
        f"Model: {label}; {len(rows)} of {len(targets)} targets, {sum(r['replayed'] for r in rows)} replayed "
        f"edits; {timeouts} timed out, {errors} errors",
        "",
        "| targets | n | exact | right location | false / 100 targets | false / 100 edits | no suggestion "
        "| median ms | p95 ms |",
        "|---|---|---|---|---|---|---|---|---|",
        _row("all", rows),
    ]
    groups: list[tuple[str, Callable[[dict[str, Any]], bool]]] = []
    for project in sorted({r["project"] for r in rows}):
        groups.append((project, _where("project", project)))
    for kind in ("rename", "argument", "call", "other"):
        groups.append((f"kind: {kind}", _where("kind", kind)))
    for k in sorted({r["replayed"] for r in rows}):
        groups.append((f"after {k} edit{'s' if k > 1 else ''}", _where("replayed", k)))
    groups.append((f"target <= {NEAR_LINES} lines away", lambda r: abs(r["distance"]) <= NEAR_LINES))
    groups.append((f"target > {NEAR_LINES} lines away", lambda r: abs(r["distance"]) > NEAR_LINES))
    for name, keep in groups:
        chosen = [r for r in rows if keep(r)]
        if chosen:
            lines.append(_row(name, chosen))
    return "\n".join(lines)


def pick(targets: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """``limit`` targets spread evenly over the list (so over projects and files), in order."""
    if not limit or limit >= len(targets):
        return targets
    return [targets[(index * len(targets)) // limit] for index in range(limit)]


def parse_settings(pairs: list[str]) -> dict[str, Any]:
    """``section.key=value`` pairs as ``initializationOptions`` (values JSON if they parse, else strings)."""
    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--setting {pair!r}: expected KEY=VALUE")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        *path, last = key.split(".")
        node = settings
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return settings


def server_options(model: Path, log: Path | None, settings: dict[str, Any], threads: int) -> Any:
    """``qwen-lsp serve --model M`` at temperature 0 with the settings as ``initializationOptions``."""
    from lsp_server.client.session import ServerOptions

    extra = ["--log-file", str(log)] if log is not None else []
    if threads:
        extra += ["--threads", str(threads)]
    return ServerOptions(model=str(model), temperature=0.0, extra_args=extra, settings=settings)


def stub_options() -> Any:
    """The model-free stand-in server of ``--dry-run repeat`` (``stub_server.py``)."""
    from lsp_server.client.session import ServerOptions

    class StubOptions(ServerOptions):
        def command(self) -> list[str]:
            return [sys.executable, str(HERE / "stub_server.py")]

    return StubOptions()


def model_path(name: str) -> Path:
    """``0.5b``/``1.5b`` (assembled from PyPI chunks, sha256-checked) or a path to a GGUF."""
    if name in ("0.5b", "1.5b"):
        from models import model_path as bench_model

        return Path(bench_model(name))
    return Path(name).expanduser()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="0.5b", help="0.5b, 1.5b or a GGUF path")
    parser.add_argument("--limit", type=int, default=0, help="only N targets, spread evenly")
    parser.add_argument("--projects", default="", help="comma-separated projects to keep")
    parser.add_argument("--out", type=Path, default=None, help="results file (default results/<model>.jsonl)")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an initializationOptions entry, e.g. nextEdit.enabled=true (repeatable)",
    )
    parser.add_argument(
        "--dry-run",
        choices=("target", "none", "repeat"),
        default=None,
        help="no model: answer with the target itself (target: 100%% exact), with nothing (none: 0%% exact, "
        "0 false), or run stub_server.py over LSP, which repeats the last edit after the cursor (repeat)",
    )
    parser.add_argument("--targets", type=Path, default=TARGETS)
    parser.add_argument("--settle", type=float, default=0.3, help="seconds after the last edit (0.3)")
    parser.add_argument("--edit-gap", type=float, default=0.0, help="seconds between replayed edits (0)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for an answer (120)")
    parser.add_argument("--server-threads", type=int, default=0, help="the server's --threads")
    parser.add_argument("--table-only", action="store_true", help="print the table of the results file")
    args = parser.parse_args()

    files, targets = load(args.targets)
    if args.projects:
        keep = set(args.projects.split(","))
        targets = [t for t in targets if t["project"] in keep]
    targets = pick(targets, args.limit)
    settings = parse_settings(args.setting)

    predictor: Any = None
    if args.dry_run:
        label = f"dry-run-{args.dry_run}"
        out = args.out or Path(tempfile.gettempdir()) / f"qwen-lsp-next-edit-{label}.jsonl"
        if args.out is None and out.exists() and not args.table_only:
            out.unlink()
        if args.dry_run == "repeat":
            predictor = Server(stub_options(), args.settle, args.edit_gap, args.timeout)
        else:
            predictor = DryRun(args.dry_run)
    else:
        label = args.model if args.model in ("0.5b", "1.5b") else Path(args.model).stem
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = args.out or RESULTS / f"{label}.jsonl"
        if not args.table_only:
            options = server_options(
                model_path(args.model), out.with_suffix(".server.log"), settings, args.server_threads
            )
            predictor = Server(options, args.settle, args.edit_gap, args.timeout)
    if predictor is not None and not args.table_only:
        asyncio.run(generate(files, targets, predictor, out, label))
    sys.stdout.write(table(label, targets, list(done(out).values())) + "\n")


if __name__ == "__main__":
    main()
