"""Per-request server overhead on a 5,000-line file: everything a completion costs except the model.

Run::

    .venv/bin/python bench/overhead.py                 # 0.5b tokenizer, 400 requests
    .venv/bin/python bench/overhead.py --model 1.5b --requests 1000

The file is the first 5,000 lines of CPython's ``_pydecimal.py`` (a real file nobody here wrote); four
other standard-library modules are open as neighbours. For each request, at a seeded random line inside a
function body, the user retypes the rest of that line: ten keystrokes, each one incremental edit and one
completion request (the first keystroke at a new site is also reported on its own). Timed per request,
on the code paths the server runs, with the model's real tokenizer (loaded ``vocab_only``):

* ``change``: the ``didChange`` work (incremental tree update: ``tree.edit`` + reparse);
* ``plan``: completion-kind decision, snippet pick from the other files;
* ``context``: context assembly under the token budget and the prompt's token layout (on the worker);
* ``post``: post-processing of a model answer (the line's real rest, as the model would write it);
* ``request``: plan + context + post, what the completion request itself costs (context and
  post-processing, the issue's definition of overhead);
* ``total``: that plus ``change``, the ``didChange`` work before it. The model's prompt evaluation and
  decoding are excluded.

A full re-parse of the file is timed alongside as the anchor the incremental update is compared with.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from lsp_server.completion import CompletionPlan, finish_completion, make_request  # noqa: E402
from lsp_server.context.languages import parse  # noqa: E402
from lsp_server.document import DocumentSnapshot  # noqa: E402
from lsp_server.engine.llama.backend import model_fim_tokens  # noqa: E402
from lsp_server.engine.llama.tokenizer import LlamaTokenizer  # noqa: E402
from lsp_server.model_api import GenerationResult, ModelInfo  # noqa: E402
from lsp_server.pause import collect_at_pause  # noqa: E402
from lsp_server.settings import CompletionSettings  # noqa: E402
from lsp_server.workspace import WorkspaceContext  # noqa: E402

LINES = 5000
KEYS_PER_SITE = 10
NEIGHBOURS = ("fractions.py", "numbers.py", "contextvars.py", "string.py")


def _stdlib(name: str) -> Path:
    return Path(sysconfig.get_paths()["stdlib"]) / name


def _tokenizer(model: str) -> tuple[LlamaTokenizer, ModelInfo]:
    import llama_cpp
    from models import model_path

    path = model_path(model)
    llm = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    info = ModelInfo(
        path=path,
        architecture="qwen2",
        name=path.stem,
        n_vocab=int(llm.n_vocab()),
        n_ctx=4096,
        fim=model_fim_tokens(llm),
        is_hybrid=False,
        is_recurrent=False,
        bos=(),
        load_seconds=0.0,
    )
    return LlamaTokenizer(llm), info


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="0.5b")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--parse-budget-ms", type=float, default=None, help="re-parse budget per keystroke (default: server)"
    )
    args = parser.parse_args()

    tokenize, info = _tokenizer(args.model)
    original = "".join(_stdlib("_pydecimal.py").read_text().splitlines(keepends=True)[:LINES])
    lines = original.split("\n")
    settings = CompletionSettings()
    workspace = WorkspaceContext(root=_stdlib("").as_uri())
    if args.parse_budget_ms is not None:
        workspace.trees.budget_ms = args.parse_budget_ms
    for name in NEIGHBOURS:
        path = _stdlib(name)
        workspace.opened(DocumentSnapshot(path.as_uri(), "python", 1, path.read_text()))
    uri = _stdlib("_pydecimal.py").as_uri()
    workspace.opened(DocumentSnapshot(uri, "python", 1, original))
    # As the server does in the background when a document is opened (not timed: before the first request).
    for name in NEIGHBOURS:
        tokenize.warm(_stdlib(name).read_text())
    tokenize.warm(original)
    collect_at_pause()  # the server's pause work after the documents opened

    rng = random.Random(args.seed)
    candidates = [i for i, line in enumerate(lines) if line.startswith("        ") and len(line.strip()) > 12]
    keys = ("change", "plan", "context", "post", "request", "total", "full")
    timings: dict[str, list[float]] = {key: [] for key in keys}
    first: list[float] = []
    first_stages: dict[str, list[float]] = {key: [] for key in keys[:5]}
    skipped = 0
    version = 1
    requests = 0
    while requests < args.requests:
        # A site: the user retypes the rest of a line, one keystroke (and one request) per character.
        row = rng.choice(candidates)
        line = lines[row]
        indent = len(line) - len(line.lstrip())
        start = rng.randint(indent + 1, max(indent + 1, len(line) - 12))
        for cut in range(start, min(len(line), start + KEYS_PER_SITE)):
            if requests >= args.requests:
                break
            requests += 1
            rest = line[cut:]
            edited = "\n".join([*lines[:row], line[:cut], *lines[row + 1 :]])
            version += 1
            snapshot = DocumentSnapshot(uri, "python", version, edited)

            started = time.perf_counter()
            workspace.changed(snapshot)
            changed = time.perf_counter()
            plan = workspace.plan(snapshot, row, cut, settings)
            planned = time.perf_counter()
            if not isinstance(plan, CompletionPlan):
                skipped += 1
                continue
            request = make_request(plan, settings)
            layout = request.build_prompt(info, tokenize)
            built = time.perf_counter()
            result = GenerationResult(text=rest, stop_reason="stop_rule", prompt=layout, generated_tokens=8)
            finish_completion(plan, result, request.notes)
            done = time.perf_counter()

            full_started = time.perf_counter()
            parse("python", edited)
            timings["full"].append((time.perf_counter() - full_started) * 1000)
            for key, value in (
                ("change", changed - started),
                ("plan", planned - changed),
                ("context", built - planned),
                ("post", done - built),
                ("request", done - changed),
                ("total", done - started),
            ):
                timings[key].append(value * 1000)
            if cut == start:
                first.append((done - started) * 1000)
                for key in first_stages:
                    first_stages[key].append(timings[key][-1])
        # the user finishes the line: back to the original text (not timed)
        version += 1
        workspace.changed(DocumentSnapshot(uri, "python", version, original))
        # Moving to the next site takes the user longer than the server's pause (150 ms): the pending
        # re-parse finishes and garbage is collected there, as the server does.
        workspace.trees.settle()
        collect_at_pause()

    trees = workspace.trees
    print(f"file: _pydecimal.py first {LINES} lines; {len(timings['total'])} requests ({skipped} skipped)")
    print(
        f"parses: {trees.full_parses} full, {trees.incremental_parses} incremental, "
        f"{trees.late_parses} requests served an edited older tree (re-parse over {trees.budget_ms} ms)"
    )
    print("| stage | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|")
    for key, values in timings.items():
        if values:
            print(
                f"| {key} | {statistics.median(values):.2f} | {_pct(values, 0.95):.2f} | {max(values):.2f} |"
            )
    print(
        f"first keystroke at a new site: p50 {statistics.median(first):.2f} ms, "
        f"p95 {_pct(first, 0.95):.2f} ms ({len(first)} sites); stage p50s: "
        + ", ".join(f"{key} {statistics.median(values):.2f}" for key, values in first_stages.items())
    )
    over = sum(1 for value in timings["total"] if value > 5.0)
    over_first = sum(1 for value in first if value > 5.0)
    print(f"requests over 5 ms: {over} of {len(timings['total'])} ({over_first} of them first keystrokes)")
    summary: dict[str, Any] = {
        "p95_total_ms": _pct(timings["total"], 0.95),
        "p95_request_ms": _pct(timings["request"], 0.95),
        "p95_full_parse_ms": _pct(timings["full"], 0.95),
    }
    print(summary)


if __name__ == "__main__":
    main()
