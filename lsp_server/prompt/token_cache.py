"""Tokenizing the same code again and again, cheaply: a per-line token cache that gives exact results.

What the user sees: in a large file, building the prompt for each keystroke takes a fraction of a
millisecond instead of ~10 ms, because only the line being typed is tokenized again.

BPE tokenizers split text into pre-tokens with a regular expression before merging, and tokens never
cross a pre-token boundary. For Qwen2-style pre-tokenizers the start of every non-blank line is such a
boundary (the newline before it is a pre-token of its own or ends a punctuation/whitespace run), so the
tokens of a text are the concatenation of the tokens of its lines, each line taken with the blank lines
that follow it. GPT-2-style pre-tokenizers merge a newline with the next line's indentation, so there only
unindented lines start a boundary, and a run of blank lines before one is split before its last newline:
the cut goes there. Which rule holds is checked on a sample when the cache is created, by
comparing against whole-text tokenization; if none holds the cache is bypassed.

A segment not seen before (the line being typed, a signature put together for the outline) is put
together from its pre-tokens the same way, when its text is plain ASCII and the tokenizer's pre-token
rule is a known one (Qwen2 / Qwen3.5, Llama 3, GPT-2; checked the same way). A pre-token (" other",
"):" + newline, a run of spaces) is nearly always one seen before, so the model's tokenizer is rarely
called while a request waits: after other work its tables are out of the CPU caches, and one call then
takes 0.1-1 ms instead of ~10 us.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable
from typing import Any

from lsp_server.memory import ENTRY_OVERHEAD, CacheSize, text_bytes, tokens_bytes

Tokenize = Callable[[str], list[int]]

# Line starts that begin a segment: any non-blank line ("fine") or only unindented ones ("coarse").
_FINE = re.compile(r"\n(?=[^\S\n]*\S)")
_COARSE = re.compile(r"\n(?=\S)")
# GPT-2 style also splits a run of newlines before a word into "\n\n" + "\n": cut before the last one.
_BEFORE_NEWLINE = re.compile(r"(?=\n\S)")

_SAMPLE = (
    'import os\n\n\nclass Stack:\n    """A stack."""\n\n    def push(self, item):  # add\n'
    "        self.items.append(item)\n    \n\n    def pop(self) -> int:\n\tif not self.items:\n"
    "\t\traise IndexError('empty')\r\n        return self.items.pop()\n}\n  // comment\n"
    "x = {'a': [1, 2]}\n\n    \n  y = \"é 😀 名前\"\n-- lua\nend\n"
)


# llama.cpp's pre-tokenizer rules restricted to ASCII (\p{L} -> [A-Za-z], \p{N} -> [0-9]), most
# specific first: Qwen2 / Qwen3.5 (one digit per pre-token), Llama 3 (up to three digits), and GPT-2's
# after digits are split off one by one (StarCoder, SmolLM: a space run before a digit stays whole).
_PRE_TOKENIZERS = tuple(
    re.compile(rule)
    for rule in (
        r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
        r"|[^\r\nA-Za-z0-9]?[A-Za-z]+|[0-9]| ?[^\sA-Za-z0-9]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
        r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
        r"|[^\r\nA-Za-z0-9]?[A-Za-z]+|[0-9]{1,3}| ?[^\sA-Za-z0-9]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
        r"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+|[0-9]| ?[^\sA-Za-z0-9]+|\s+(?![^\s0-9])|\s+",
    )
)
# Text the ASCII rules describe exactly: printable ASCII, tabs and line breaks.
_PLAIN = re.compile(r"[\t\n\r\x20-\x7e]*")
_PIECES_SAMPLE = (
    "import os.path as p  # it's, we'll, I'd, they're, you've, I'm, DON'T, b'MARK'\n\n\n"
    "class Stack(Base):\r\n    '''A stack.'''\r\n\r\n    def push(self, item) -> None:  \n"
    "\tif (x1 != 0x1F && y >= 12345678) {\n\t\treturn a->b::c[-1];   }\n    \n  \n"
    "x = {'a': [1, 2.5e-3]}; $el = `${v}`;  -- lua\nend\n#include <stdio.h>\n@decorator\n"
    '    """Doc."""\n        r\n        retur\n  \t x_y_9 __init__ ((()))!!!???\n'
    'f = _F((2, 6, 0, "alpha", 2),\n      (3,  0,   10))  # 1 22 333 4444 55555\n\n(7)\n  -8\n'
    "a,b ; c\t\t1\n\n\n  ] )\n}\n\t\n    x  \n"
)


# Word starts up to this length are cached when a document is warmed (longer ones are rarely typed to).
_WORD_STARTS = 16
# The tables' byte bound by default: a 5,000-line file's segments take ~3 MiB.
DEFAULT_MAX_BYTES = 16 * 1024 * 1024


def _piece_samples() -> tuple[str, ...]:
    ascii_sample = _SAMPLE.split("  y =")[0]
    return (_PIECES_SAMPLE, _PIECES_SAMPLE.replace("\n", "\r\n"), " " + _PIECES_SAMPLE, ascii_sample)


def _boundaries(text: str, pattern: re.Pattern[str]) -> list[int]:
    return [match.end() for match in pattern.finditer(text)]


class TokenCache:
    """Exact tokenization of text from cached tokens of its line segments."""

    def __init__(
        self, tokenize: Tokenize, capacity: int = 50_000, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self._tokenize = tokenize
        self.capacity = capacity
        self.max_bytes = max_bytes
        """Bytes the three tables may hold together (segments half, pre-tokens and counts a quarter each)."""
        self._cache: dict[str, tuple[int, ...]] = {}
        self._counts: dict[str, int] = {}
        self._bytes = {"segments": 0, "pieces": 0, "counts": 0}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        """Segments not seen before."""
        self.piece_misses = 0
        """Pre-tokens not seen before (with a known pre-token rule, the only texts sent to the tokenizer)."""
        self.pattern: re.Pattern[str] | None = None
        for pattern in (_FINE, _COARSE, _BEFORE_NEWLINE):
            if self._agrees(pattern):
                self.pattern = pattern
                break
        self._pieces: dict[str, tuple[int, ...]] = {}
        self.pre_tokenizer: re.Pattern[str] | None = None
        """The tokenizer's pre-token rule for ASCII text (None: not a known one; segments go whole)."""
        for rule in _PRE_TOKENIZERS if self.pattern is not None else ():
            if all(self._joined(sample, rule) == tokenize(sample) for sample in _piece_samples()):
                self.pre_tokenizer = rule
                break

    def _joined(self, text: str, rule: re.Pattern[str]) -> list[int]:
        return [token for piece in rule.findall(text) for token in self._tokenize(piece)]

    def _split(self, text: str, pattern: re.Pattern[str]) -> list[str]:
        cuts = [0, *_boundaries(text, pattern), len(text)]
        return [text[start:end] for start, end in itertools.pairwise(cuts) if end > start]

    def _agrees(self, pattern: re.Pattern[str]) -> bool:
        for sample in (_SAMPLE, _SAMPLE.replace("\n", "\r\n"), "    " + _SAMPLE):
            pieces: list[int] = []
            for segment in self._split(sample, pattern):
                pieces += self._tokenize(segment)
            if pieces != self._tokenize(sample):
                return False
        return True

    def _segment(self, segment: str) -> tuple[int, ...]:
        # A plain dict read is atomic under the GIL; the lock only guards the writes (and the rare purge).
        tokens = self._cache.get(segment)
        if tokens is not None:
            self.hits += 1
            return tokens
        rule = self.pre_tokenizer
        if rule is not None and _PLAIN.fullmatch(segment):
            tokens = tuple(token for piece in rule.findall(segment) for token in self._piece(piece))
        else:
            tokens = tuple(self._tokenize(segment))
        with self._lock:
            self.misses += 1
            self._store(self._cache, "segments", segment, tokens)
        return tokens

    def _piece(self, piece: str) -> tuple[int, ...]:
        tokens = self._pieces.get(piece)
        if tokens is None:
            tokens = tuple(self._tokenize(piece))
            with self._lock:
                self.piece_misses += 1
                self._store(self._pieces, "pieces", piece, tokens)
        return tokens

    def _room(self, table: dict[str, Any], name: str, cost: int) -> None:
        """Empty ``table`` when one more entry of ``cost`` bytes would pass its count or byte bound.

        Emptying is cheaper than LRU bookkeeping on every hit, and a table refills in one request.
        """
        share = self.max_bytes // 2 if name == "segments" else self.max_bytes // 4
        if len(table) >= self.capacity or self._bytes[name] + cost > share:
            table.clear()
            self._bytes[name] = 0
        self._bytes[name] += cost

    def _store(
        self, table: dict[str, tuple[int, ...]], name: str, text: str, tokens: tuple[int, ...]
    ) -> None:
        self._room(table, name, text_bytes(text) + tokens_bytes(tokens) + ENTRY_OVERHEAD)
        table[text] = tokens

    def size(self) -> CacheSize:
        """Bytes and entries held now (segments, pre-tokens and token counts together)."""
        entries = len(self._cache) + len(self._pieces) + len(self._counts)
        return CacheSize(sum(self._bytes.values()), entries, self.max_bytes)

    def __call__(self, text: str) -> list[int]:
        """The tokens of ``text``, exactly as the tokenizer gives them for the whole text."""
        if self.pattern is None or not text:
            return self._tokenize(text)
        out: list[int] = []
        for segment in self._split(text, self.pattern):
            out += self._segment(segment)
        return out

    def warm(self, text: str, stop: Callable[[], bool] | None = None) -> None:
        """Tokenize the lines of ``text`` not seen yet (a document opened: later prompts find them cached).

        ``stop`` is asked between lines (the model is about to be freed).
        """
        if self.pattern is not None:
            for segment in self._split(text, self.pattern):
                if stop is not None and stop():
                    return
                if segment not in self._cache:
                    self._segment(segment)
                    self._warm_word_starts(segment)
                if self.pattern is _FINE:
                    # A line followed by blank lines is one segment with them; context cut at a statement's
                    # end has the line alone (a window's or chunk's last line): cache that too.
                    first_break = segment.find("\n")
                    if 0 <= first_break < len(segment) - 1:
                        self._segment(segment[: first_break + 1])

    def _warm_word_starts(self, segment: str) -> None:
        """Cache the starts of the segment's words as pre-tokens (" retur" for " return").

        The line being typed usually ends inside a word; its start is then the only pre-token not seen.
        """
        rule = self.pre_tokenizer
        if rule is None or not _PLAIN.fullmatch(segment):
            return
        for piece in rule.findall(segment):
            if len(piece) > 2 and piece[-1].isalpha() and piece[-2].isalpha():
                first = 1 if piece[0].isalpha() else 2
                for end in range(first, min(len(piece), _WORD_STARTS)):
                    self._piece(piece[:end])

    def count(self, text: str) -> int:
        """How many tokens ``text`` is (whole texts counted before are looked up, not split again)."""
        known = self._counts.get(text)
        if known is not None:
            return known
        if self.pattern is None or not text:
            counted = len(self._tokenize(text))
        else:
            counted = sum(len(self._segment(segment)) for segment in self._split(text, self.pattern))
        with self._lock:
            self._room(self._counts, "counts", text_bytes(text) + ENTRY_OVERHEAD)
            self._counts[text] = counted
        return counted


class CachedTokenizer:
    """The part every cached tokenizer shares (the llama.cpp one, llama-server's).

    Subclasses set ``_cache`` to a ``TokenCache`` over their own plain-text tokenization.
    """

    _cache: TokenCache

    def __call__(self, text: str) -> list[int]:
        """Tokenize plain text: special-token spellings stay ordinary text (safe for user code)."""
        return self._cache(text)

    def count(self, text: str) -> int:
        """How many tokens plain ``text`` is (cached per line: cheap for text seen before)."""
        return self._cache.count(text)

    @property
    def cache(self) -> TokenCache:
        """The per-line token cache (its hit and miss counters)."""
        return self._cache

    def warm(self, text: str, stop: Callable[[], bool] | None = None) -> None:
        """Put the lines of ``text`` in the token cache (the first prompt at any line of it is then cheap)."""
        self._cache.warm(text, stop)
