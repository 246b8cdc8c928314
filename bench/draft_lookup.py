"""Prompt-lookup drafts (speculative decoding from the prompt itself) against plain greedy decoding.

Run: ``.venv/bin/python bench/draft_lookup.py --model 0.5b --drafts 2,4,6 --positions 30``

Issue 13 asks whether drafting the next tokens from an n-gram match in the prompt (code repeats itself)
and verifying them in one batch makes decoding faster while giving exactly the greedy output. For each
of ``--positions`` line starts in real files (the Python standard library's ``_pydecimal.py`` and
``inspect.py``; more with ``--source``), a FIM prompt (60 lines before, 24 after) is evaluated and a
single-line completion decoded greedily twice, the same way the engine does (llama-cpp-python, 2
threads, 4,096-token context): plainly, one token per ``llama_decode``, and with drafts: after each
token the longest match (3, 2, then 1 tokens) of the last tokens earlier in prompt + output proposes
up to K next tokens, the token and its draft are decoded as one batch with logits for every position,
the longest agreeing run is kept (the KV cache is trimmed after it) and the first disagreement is the
next token. Printed: completions identical to plain greedy, decode tokens/s of each, drafts proposed and
accepted. Attention models only: a hybrid (qwen35) would also need a recurrent checkpoint before each
draft, and random weights cannot say how often a real model accepts.
"""

from __future__ import annotations

import argparse
import inspect
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

SOURCES = [Path(inspect.__file__).parent / "_pydecimal.py", Path(inspect.__file__)]


class Decoder:
    def __init__(self, path: Path) -> None:
        import llama_cpp

        from lsp_server.engine.llama.backend import _without_extra_buffer_types, model_fim_tokens

        self.lib = llama_cpp
        with _without_extra_buffer_types():
            self.llm = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=4096,
                n_threads=2,
                n_threads_batch=2,
                use_mmap=False,
                verbose=False,
            )
        fim = model_fim_tokens(self.llm)
        if fim is None:
            raise SystemExit("the model has no FIM tokens")
        self.fim = fim
        self.vocab = llama_cpp.llama_model_get_vocab(self.llm.model)
        self.n_vocab = self.llm.n_vocab()

    def tokens(self, text: str) -> list[int]:
        return list(self.llm.tokenize(text.encode(), add_bos=False, special=False))

    def prompt(self, lines: list[str], row: int) -> list[int]:
        indent = lines[row][: len(lines[row]) - len(lines[row].lstrip())]
        before = "\n".join(lines[max(0, row - 60) : row]) + "\n" + indent
        after = "\n".join(lines[row + 1 : row + 25])
        return [self.fim.prefix, *self.tokens(before), self.fim.suffix, *self.tokens(after), self.fim.middle]

    def argmax(self, index: int) -> int:
        import numpy as np

        row = np.ctypeslib.as_array(self.lib.llama_get_logits_ith(self.llm.ctx, index), shape=(self.n_vocab,))
        return int(np.argmax(row))

    def ends(self, token: int) -> bool:
        return bool(self.lib.llama_vocab_is_eog(self.vocab, token))

    def newline(self, token: int) -> bool:
        return b"\n" in self.llm.detokenize([token])

    def plain(self, prompt: list[int], limit: int) -> tuple[list[int], float]:
        self.llm.reset()
        self.llm.eval(prompt)
        out: list[int] = []
        started = time.perf_counter()
        while len(out) < limit:
            token = self.argmax(-1)
            if self.ends(token):
                break
            out.append(token)
            if self.newline(token):
                break
            self.llm.eval([token])
        return out, time.perf_counter() - started

    def drafted(self, prompt: list[int], limit: int, k: int) -> tuple[list[int], float, int, int]:
        llm = self.llm
        llm.reset()
        llm.eval(prompt)
        out: list[int] = []
        proposed = accepted = 0
        started = time.perf_counter()
        following: int | None = self.argmax(-1)
        while following is not None and len(out) < limit:
            token = following
            if self.ends(token):
                break
            out.append(token)
            if self.newline(token) or len(out) >= limit:
                break
            draft = lookup(prompt + out, k)[: limit - len(out)]
            batch = [token, *draft]
            past = llm.n_tokens
            llm._batch.set_batch(batch=batch, n_past=past, logits_all=True)
            llm._ctx.decode(llm._batch)
            llm.input_ids[past : past + len(batch)] = batch
            proposed += len(draft)
            kept = 0
            following = None
            for index in range(len(batch)):
                predicted = self.argmax(index)
                if index < len(draft) and predicted == draft[index] and not self.ends(predicted):
                    out.append(predicted)
                    kept += 1
                    if self.newline(predicted) or len(out) >= limit:
                        break
                    continue
                following = predicted
                break
            accepted += kept
            llm.n_tokens = past + 1 + kept
            llm._ctx.kv_cache_seq_rm(-1, llm.n_tokens, -1)
        return out, time.perf_counter() - started, proposed, accepted


def lookup(history: list[int], k: int) -> list[int]:
    """The tokens that followed the latest earlier occurrence of the last 3 (or 2, or 1) tokens."""
    for size in (3, 2, 1):
        if len(history) <= size:
            continue
        key = history[-size:]
        for start in range(len(history) - size - 1, -1, -1):
            if history[start : start + size] == key:
                return history[start + size : start + size + k]
    return []


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="0.5b")
    parser.add_argument("--drafts", default="2,4,6")
    parser.add_argument("--positions", type=int, default=30)
    parser.add_argument("--tokens", type=int, default=48, help="most tokens per completion")
    parser.add_argument("--source", action="append", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    from latency import resolve_model

    label, path = resolve_model(args.model)
    decoder = Decoder(path)
    rng = random.Random(args.seed)
    sites: list[tuple[list[str], int]] = []
    for source in args.source or SOURCES:
        lines = source.read_text().split("\n")
        rows = [row for row in range(80, len(lines) - 30) if lines[row].strip()]
        sites += [(lines, row) for row in rng.sample(rows, args.positions // len(args.source or SOURCES))]
    print(f"{label}: {len(sites)} single-line completions, up to {args.tokens} tokens each")
    print("| drafts K | identical to greedy | plain tok/s | drafted tok/s | ratio | proposed | accepted |")
    print("|---|---|---|---|---|---|---|")
    for k in [int(value) for value in args.drafts.split(",")]:
        same = 0
        totals: dict[str, Any] = {"plain_s": 0.0, "draft_s": 0.0, "plain_n": 0, "draft_n": 0, "p": 0, "a": 0}
        for lines, row in sites:
            prompt = decoder.prompt(lines, row)
            reference, seconds = decoder.plain(prompt, args.tokens)
            output, draft_seconds, proposed, accepted = decoder.drafted(prompt, args.tokens, k)
            same += output == reference
            totals["plain_s"] += seconds
            totals["draft_s"] += draft_seconds
            totals["plain_n"] += len(reference)
            totals["draft_n"] += len(output)
            totals["p"] += proposed
            totals["a"] += accepted
        plain_rate = totals["plain_n"] / totals["plain_s"]
        draft_rate = totals["draft_n"] / totals["draft_s"]
        print(
            f"| {k} | {same}/{len(sites)} | {plain_rate:.1f} | {draft_rate:.1f} "
            f"| {draft_rate / plain_rate:.2f} "
            f"| {totals['p']} | {totals['a']} ({totals['a'] / max(1, totals['p']):.0%}) |"
        )


if __name__ == "__main__":
    main()
