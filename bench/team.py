"""Team scale (issue 14): N editors typing at once, served by one llama-server or by N in-process servers.

Run (after ``python -m devtools.llama_server build``)::

    .venv/bin/python bench/team.py --model 0.5b --editors 1,4,8 --json bench/results/issue14/team.json

For each N and each setup, N editors replay real typing traces at the same time, each in its own
``qwen-lsp serve`` spoken to as VS Code speaks (``bench/latency.py``'s replay, pause model: the typist
stops at the trace's marked keys and waits for the suggestion):

* **shared**: one ``llama-server -np N`` (continuous batching, ``-c 4096`` per slot, ``-t 2``) and N
  ``qwen-lsp serve --remote URL --remote-api llama`` (no model loaded in them);
* **separate**: N ``qwen-lsp serve --model M --threads 2``, each with the model in its own memory.

Editor ``i`` replays trace ``i mod 6`` of ``bench/traces`` (edits inside big real files), its first
``--keys`` keystrokes. Reported per setup and N: pause latency p50/p95 pooled over the editors and the worst
editor's p95, pauses answered, tokens generated per second by all editors together (the servers' own
``decodedTokens`` counters over the wall time), and the resident memory of every process involved.
On a GPU box the same command measures the GPU (``--server-args "-ngl 99"`` for llama-server, and
``--gpu-layers`` reaches the in-process servers through ``--local-args``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from latency import Ours, load_trace, pct, proc_kib, replay, resolve_model, summarize  # noqa: E402

from devtools.llama_server import LlamaServer  # noqa: E402

TRACES = ["mid-click", "mid-inspect", "mid-mypy", "mid-llama", "edit-middle", "type"]


async def run_setup(setup: str, editors: int, model: Path, args: argparse.Namespace) -> dict[str, Any]:
    server: LlamaServer | None = None
    logs = args.logs / f"{setup}-{editors}"
    logs.mkdir(parents=True, exist_ok=True)
    if setup == "shared":
        server = LlamaServer(
            model,
            n_ctx=4096,
            threads=args.threads,
            slots=editors,
            log=logs / "llama-server.log",
            extra=args.server_args.split(),
        ).start()
        source = ["--remote", server.url, "--remote-api", "llama"]
    else:
        source = ["--model", str(model), "--threads", str(args.threads), *args.local_args.split()]
    sides = [Ours(logs / f"editor{index}.log", f"{setup}-{index}", {}, source) for index in range(editors)]
    try:
        await asyncio.gather(*(side.start(model) for side in sides))
        traces = [
            load_trace(ROOT / "bench" / "traces" / f"{TRACES[i % len(TRACES)]}.jsonl") for i in range(editors)
        ]
        before = await asyncio.gather(*(side.counters() for side in sides))
        started = time.perf_counter()
        peak = {"rss": 0}

        async def watch_memory() -> None:
            while True:
                pids = [side.pid for side in sides] + ([server.proc.pid] if server and server.proc else [])
                peak["rss"] = max(peak["rss"], sum(proc_kib(pid, "VmRSS") for pid in pids))
                await asyncio.sleep(0.5)

        watcher = asyncio.create_task(watch_memory())
        results = await asyncio.gather(
            *(
                replay(
                    side,
                    header,
                    events,
                    limit=args.keys,
                    accept_probability=0.5,
                    min_accept_chars=3,
                    tail_timeout=args.pause_cap,
                    pause_cap=args.pause_cap,
                )
                for side, (header, events) in zip(sides, traces, strict=True)
            )
        )
        wall = time.perf_counter() - started
        watcher.cancel()
        after = await asyncio.gather(*(side.counters() for side in sides))
    finally:
        await asyncio.gather(*(side.stop() for side in sides), return_exceptions=True)
        if server is not None:
            server.stop()
    per_editor = []
    pooled: list[float] = []
    answered = pauses = shown = 0
    for result in results:
        summary = summarize(result)
        times = [row["ms"] for row in summary["pauses"] if row["answered"] and row["ms"] is not None]
        pooled += times
        pauses += len(summary["pauses"])
        answered += len(times)
        shown += sum(1 for row in summary["pauses"] if row["answered"] and row["text"])
        per_editor.append(
            {"editor": result.side, "pauses": len(summary["pauses"]), "p95_ms": pct(times, 0.95)}
        )
    decoded = sum(
        float(a.get("decodedTokens", 0)) - float(b.get("decodedTokens", 0))
        for a, b in zip(after, before, strict=True)
    )
    prompt = sum(
        float(a.get("promptTokensEvaluated", 0)) - float(b.get("promptTokensEvaluated", 0))
        for a, b in zip(after, before, strict=True)
    )
    worst = [row["p95_ms"] for row in per_editor if row["p95_ms"] is not None]
    return {
        "setup": setup,
        "editors": editors,
        "pauses": pauses,
        "answered": answered,
        "shown": shown,
        "p50_ms": pct(pooled, 0.5),
        "p95_ms": pct(pooled, 0.95),
        "worst_editor_p95_ms": max(worst) if worst else None,
        "mean_ms": statistics.fmean(pooled) if pooled else None,
        "decoded_tokens": decoded,
        "prompt_tokens": prompt,
        "decoded_per_s": decoded / wall if wall else 0.0,
        "wall_s": wall,
        "peak_rss_mib": peak["rss"] / 1024,
        "per_editor": per_editor,
    }


def fmt(value: float | None, spec: str = ".0f") -> str:
    return "-" if value is None else format(value, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="0.5b", help="0.5b, 1.5b or a GGUF path")
    parser.add_argument("--editors", default="1,4,8", help="comma list of editor counts")
    parser.add_argument("--setups", default="shared,separate", help="shared (one llama-server), separate")
    parser.add_argument("--keys", type=int, default=60, help="keystrokes each editor types")
    parser.add_argument("--threads", type=int, default=2, help="threads of llama-server and of each server")
    parser.add_argument("--pause-cap", type=float, default=60.0, help="wait at most this long at a stop, s")
    parser.add_argument("--server-args", default="", help="extra llama-server flags (e.g. '-ngl 99')")
    parser.add_argument("--local-args", default="", help="extra flags of the in-process servers")
    parser.add_argument("--logs", type=Path, default=Path("/tmp/qwen-lsp-team"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    label, model = resolve_model(args.model)
    rows = []
    for editors in (int(n) for n in args.editors.split(",")):
        for setup in args.setups.split(","):
            print(f"{label}: {setup}, {editors} editor(s) ...", file=sys.stderr, flush=True)
            row = asyncio.run(run_setup(setup, editors, model, args))
            rows.append(row)
            print(
                json.dumps({k: v for k, v in row.items() if k != "per_editor"}), file=sys.stderr, flush=True
            )
            if args.json is not None:
                args.json.parent.mkdir(parents=True, exist_ok=True)
                args.json.write_text(json.dumps({"model": label, "rows": rows}, indent=1))
    print(f"\n{label}, {args.keys} keys per editor, pause model (cap {args.pause_cap:g} s)\n")
    print(
        "| editors | setup | pauses answered | shown | p50 ms | p95 ms | worst editor p95 | tokens/s "
        "| peak RSS MiB |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['editors']} | {row['setup']} | {row['answered']}/{row['pauses']} | {row['shown']} | "
            f"{fmt(row['p50_ms'])} | {fmt(row['p95_ms'])} | {fmt(row['worst_editor_p95_ms'])} | "
            f"{row['decoded_per_s']:.1f} | {row['peak_rss_mib']:.0f} |"
        )


if __name__ == "__main__":
    main()
