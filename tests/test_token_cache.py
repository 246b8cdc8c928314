"""Unit tests: the per-line token cache gives exactly the tokenizer's own result, on real code."""

from __future__ import annotations

import random
import sysconfig
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lsp_server.prompt.token_cache import TokenCache
from tests.conftest import smollm2_gguf

STDLIB = Path(sysconfig.get_paths()["stdlib"])

JS = """import { readFile } from "fs";

export class Store {
  constructor(path) {
    this.path = path;

    this.items = [];
  }

  async load() {
\tconst raw = await readFile(this.path, "utf8");
    return JSON.parse(raw);   // spaces before the comment
  }
}
"""


@pytest.fixture(scope="module")
def tokenize() -> Iterator[object]:
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(smollm2_gguf()), vocab_only=True, verbose=False)

    def plain(text: str) -> list[int]:
        tokens: list[int] = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        return tokens

    yield plain


def test_cached_tokens_equal_whole_text_tokens_on_real_files(tokenize: object) -> None:
    assert callable(tokenize)
    cache = TokenCache(tokenize)
    assert cache.pattern is not None  # SmolLM2's GPT-2-style pre-tokenizer: unindented line starts
    texts = [
        (STDLIB / "colorsys.py").read_text(),
        (STDLIB / "textwrap.py").read_text()[:20000],
        JS,
        JS.replace("\n", "\r\n"),
        JS.replace("comment\n", "comment   \n"),  # trailing spaces
        "x = 1\n\n\n    \n\ty = 'é 😀'\n",
    ]
    for text in texts:
        assert cache(text) == tokenize(text)
        assert cache.count(text) == len(tokenize(text))
        assert cache(text) == tokenize(text)  # from the cache the second time
    assert cache.hits > 0


def test_edit_in_the_middle_reuses_the_other_lines(tokenize: object) -> None:
    assert callable(tokenize)
    cache = TokenCache(tokenize)
    text = (STDLIB / "colorsys.py").read_text()
    cache(text)
    misses = cache.misses
    edited = text.replace("def rgb_to_yiq(r, g, b):", "def rgb_to_yiq(r, g, b, scale=1.0):")
    assert cache(edited) == tokenize(edited)
    assert cache.misses - misses <= 2  # only the edited segment was tokenized again


def test_a_warmed_document_costs_no_tokenization_at_any_window(tokenize: object) -> None:
    assert callable(tokenize)
    cache = TokenCache(tokenize)
    text = (STDLIB / "textwrap.py").read_text()
    cache.warm(text)
    misses = cache.misses
    lines = text.split("\n")
    for start in (0, 37, 150, 301):
        window = "\n".join(lines[start : start + 120])
        assert cache(window) == tokenize(window)
    assert cache.misses - misses <= 8  # at most the windows' first and last (partial) segments


def test_statements_cut_before_blank_lines_are_warm_too() -> None:
    # One token per character agrees with every segmentation rule, so the per-line rule is chosen.
    def characters(text: str) -> list[int]:
        return [ord(char) for char in text]

    cache = TokenCache(characters)
    text = "def f():\n    x = 1\n\n    return x\n\n\nclass C:\r\n\r\n    pass\n"
    cache.warm(text)
    misses = cache.misses
    # What the context counts: statements up to their last line, without the blank lines after them.
    for statement in ("def f():\n    x = 1\n", "    return x\n", "class C:\r\n"):
        assert cache.count(statement) == len(statement)
    assert cache.misses == misses


def test_model_tokenizer_gives_llama_cpp_tokens() -> None:
    import llama_cpp

    from lsp_server.engine.llama.tokenizer import LlamaTokenizer

    llm = llama_cpp.Llama(model_path=str(smollm2_gguf()), vocab_only=True, verbose=False)
    tokenizer = LlamaTokenizer(llm)
    texts = [JS, "", "x", "é 😀 名前\n", "<|endoftext|> stays text", (STDLIB / "colorsys.py").read_text()]
    for text in texts:
        expected = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        assert tokenizer(text) == expected
        assert tokenizer.count(text) == len(expected)
        special = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        assert tokenizer.with_special(text) == special


def test_a_tokenizer_that_merges_across_lines_bypasses_the_cache() -> None:
    def whole_words(text: str) -> list[int]:
        # Merges every run of non-letters (newlines and indentation included) into one token.
        out: list[int] = []
        word = ""
        for char in text:
            kind = char.isalpha()
            if word and word[-1].isalpha() != kind:
                out.append(hash(word) % 1000)
                word = ""
            word += char
        if word:
            out.append(hash(word) % 1000)
        return out

    cache = TokenCache(whole_words)
    assert cache.pattern is None
    text = "a\n\nb\n  c\n"
    assert cache(text) == whole_words(text)


def _llama_tokenizer(path: Path) -> Callable[[str], list[int]]:
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)

    def plain(text: str) -> list[int]:
        tokens: list[int] = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        return tokens

    return plain


@pytest.mark.parametrize("model", ["smollm2", "qwen35"])
def test_lines_put_together_from_pre_tokens_equal_the_tokenizers_tokens(
    model: str, request: pytest.FixtureRequest
) -> None:
    # SmolLM2: GPT-2's rule after digits are split off; the tiny Qwen3.5: Qwen's rule (llama.cpp's own).
    path = smollm2_gguf() if model == "smollm2" else request.getfixturevalue("qwen35_path")
    tokenize = _llama_tokenizer(path)
    cache = TokenCache(tokenize)
    assert cache.pre_tokenizer is not None
    rng = random.Random(7)
    checked = 0
    for name in ("colorsys.py", "textwrap.py", "_pydecimal.py", "fractions.py", "locale.py"):
        lines = (STDLIB / name).read_text(errors="replace").split("\n")
        for _ in range(60):
            start = rng.randrange(len(lines))
            chunk = "\n".join(lines[start : start + rng.randrange(1, 25)])
            cut = chunk[: rng.randrange(len(chunk) + 1)]  # a window that ends inside a line, as at a cursor
            for text in (chunk, cut, cut.replace("\n", "\r\n")):
                assert cache(text) == tokenize(text), repr(text[-120:])
                checked += 1
    for text in (JS, JS.replace("\n", "\r\n"), "x = 'é 😀'\n\tif a1 !== 0x1F: 12345  ", "a  1\n  -2\n"):
        assert cache(text) == tokenize(text)
    assert checked == 900
    assert cache.piece_misses > 0  # the pre-token path was taken


def test_typing_in_a_warmed_document_does_not_call_the_tokenizer() -> None:
    tokenize = _llama_tokenizer(smollm2_gguf())
    calls: list[str] = []

    def counted(text: str) -> list[int]:
        calls.append(text)
        return tokenize(text)

    cache = TokenCache(counted)
    text = (STDLIB / "colorsys.py").read_text()
    cache.warm(text)
    calls.clear()
    lines = text.split("\n")
    typed = 0
    for row in range(20, len(lines), 7):
        line = lines[row]
        for cut in range(len(line) - len(line.lstrip()) + 1, min(len(line), 40)):
            # The window as the prompt has it: whole lines above, the cursor line up to the cursor.
            window = "\n".join([*lines[row - 20 : row], line[:cut]])
            assert cache(window) == tokenize(window)
            typed += 1
    assert typed > 300
    # Only pre-tokens never seen: a word cut after its 16th character, or text the file does not have.
    assert len(calls) <= typed // 50, calls


def test_a_tokenizer_with_an_unknown_pre_token_rule_gets_whole_segments() -> None:
    def pairs(text: str) -> list[int]:
        # Merges each two characters of a line into one token: lines are separate, pre-tokens are not.
        out: list[int] = []
        for line in text.splitlines(keepends=True):
            out += [hash(line[i : i + 2]) % 10_000 for i in range(0, len(line), 2)]
        return out

    cache = TokenCache(pairs)
    assert cache.pattern is not None
    assert cache.pre_tokenizer is None
    text = "def f(a, b):\n    return a + b\n\n\nx = f(1, 2)\n"
    assert cache(text) == pairs(text)
    assert cache(text[:-3]) == pairs(text[:-3])
