"""Token healing: a prompt that stops inside a word is backed off to a token boundary, and the model spells
the removed characters again before the completion (which never repeats them). Real tokenizers and models."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lsp_server.engine.engine import Engine
from lsp_server.engine.llama.backend import LlamaBackend, LlamaConfig, model_token_pieces
from lsp_server.engine.llama.tokenizer import LlamaTokenizer
from lsp_server.engine.model_source import ModelSpec
from lsp_server.model_api import (
    FimTokens,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    PromptLayout,
    Tokenizer,
)
from lsp_server.postprocess.stops import single_line_stop
from lsp_server.prompt.fim import build_fim_prompt, clip_prefix, clip_suffix
from lsp_server.prompt.healing import TokenConstraint, heal_prompt_tail, natural_cuts, partial_word

# --- heal_prompt_tail on stand-in tokenizers ----------------------------------------------------------------


def fake_tokenizer(pieces: list[bytes]) -> tuple[list[int], Any]:
    """Token ids 0..n-1 for ``pieces`` and a detokenizer that decodes their bytes like the engine's does."""

    def detokenize(tokens: list[int]) -> str:
        return b"".join(pieces[token] for token in tokens).decode("utf-8", errors="replace")

    return list(range(len(pieces))), detokenize


def test_partial_word_rules() -> None:
    assert partial_word("    yi") == "yi"
    assert partial_word("self.assertEq") == "assertEq"
    assert partial_word("x = foo(") == ""
    assert partial_word("x = 12") == ""  # digits alone: already a natural boundary
    assert partial_word("x = 1e") == "1e"
    assert partial_word("$el") == "$el"
    assert partial_word("    变量名") == "变量名"
    assert partial_word("return ") == " "
    assert partial_word("x =\t") == "\t"
    assert partial_word("def f():\n    ") == "    "  # indentation: BPE glues a space to the next word
    assert partial_word("    ") == "    "
    assert partial_word("") == ""


def test_heal_stops_at_the_word_start_and_respects_the_limits() -> None:
    tokens, detokenize = fake_tokenizer([b"    ", b"y", b"i"])
    assert heal_prompt_tail(tokens, detokenize) == ([0], "yi")
    assert heal_prompt_tail(tokens, detokenize, max_tokens=1) == ([0, 1], "i")
    assert heal_prompt_tail(tokens, detokenize, max_chars=1) == ([0, 1], "i")
    assert heal_prompt_tail(tokens, detokenize, max_tokens=0) == (tokens, "")
    assert heal_prompt_tail([], detokenize) == ([], "")


def test_heal_never_removes_a_newline() -> None:
    tokens, detokenize = fake_tokenizer([b"x", b"\n    yi"])
    assert heal_prompt_tail(tokens, detokenize) == (tokens, "")
    tokens, detokenize = fake_tokenizer([b"x", b"\n", b"ab", b"c"])
    assert heal_prompt_tail(tokens, detokenize, max_tokens=3) == ([0, 1], "abc")


def test_heal_never_cuts_inside_a_utf8_character() -> None:
    tokens, detokenize = fake_tokenizer([b" caf", b"\xc3", b"\xa9"])  # " café" with "é" split in two
    kept, removed = heal_prompt_tail(tokens, detokenize)
    assert (kept, removed) == ([0], "é")
    tokens, detokenize = fake_tokenizer([b" caf", b"\xc3", b"\xa9"])
    assert heal_prompt_tail(tokens, detokenize, max_tokens=1) == (tokens, "")


# --- heal_prompt_tail with the real SmolLM2 tokenizer -------------------------------------------------------


@pytest.fixture(scope="module")
def smollm2_vocab(smollm2_path: Path) -> Iterator[Any]:
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(smollm2_path), vocab_only=True, verbose=False)
    yield llm
    llm.close()


@pytest.fixture(scope="module")
def tokenizer(smollm2_vocab: Any) -> LlamaTokenizer:
    return LlamaTokenizer(smollm2_vocab)


def heal(tokenizer: LlamaTokenizer, text: str) -> tuple[str, str]:
    tokens = tokenizer(text)
    kept, removed = heal_prompt_tail(tokens, tokenizer.detokenize)
    assert kept == tokens[: len(kept)]
    kept_text = tokenizer.detokenize(kept)
    assert kept_text + removed == text
    assert len(tokens) - len(kept) <= 2 and len(removed) <= 24
    return kept_text, removed


@pytest.mark.parametrize(
    ("text", "removed"),
    [
        ("    yi", " yi"),
        ("def gen():\n    yi", " yi"),
        ("if ke", " ke"),
        ("self.assertEq", "Eq"),  # SmolLM2 spells it "assert", "E", "q": two tokens at most
        ("x = foo(", ""),
        ("return ", " "),
        ("x = ", " "),
        ("total = 0", ""),
        ("x = 12", ""),
        ("def f():\n    ", ""),
        ("print(x)\n", ""),
    ],
)
def test_heal_with_smollm2(tokenizer: LlamaTokenizer, text: str, removed: str) -> None:
    assert heal(tokenizer, text)[1] == removed


def test_heal_non_ascii_identifiers_with_smollm2(tokenizer: LlamaTokenizer) -> None:
    kept, removed = heal(tokenizer, "    café_naïve")
    assert removed.endswith("ïve") and "\ufffd" not in kept + removed
    kept, removed = heal(tokenizer, "    变量名")
    assert removed and removed.endswith("名") and "\ufffd" not in kept


def test_long_words_are_healed_only_in_part(tokenizer: LlamaTokenizer) -> None:
    kept, removed = heal(tokenizer, "x = some_really_long_identifier_name_that_goes_on")
    assert removed and "some_really" in kept


# --- the allowed-token index --------------------------------------------------------------------------------

FAKE_VOCAB: list[str | None] = [
    None,
    "a",
    "ab",
    "abc",
    "abd",
    "b",
    " yi",
    " yield",
    " y",
    " ",
    "yi",
    "",
    "é",
    "éa",
]


def names(ids: list[int], vocab: list[str | None] = FAKE_VOCAB) -> set[str | None]:
    return {vocab[token] for token in ids}


def test_allowed_tokens_start_with_or_are_a_prefix_of_what_is_left() -> None:
    index = TokenConstraint.from_texts(FAKE_VOCAB)
    assert len(index) == len(FAKE_VOCAB) - 2  # the special (None) and empty entries are never allowed
    assert names(index.allowed(" yi")) == {" yi", " yield", " y", " "}
    assert names(index.allowed("ab")) == {"ab", "abc", "abd", "a"}
    assert names(index.allowed("abz")) == {"a", "ab"}
    assert names(index.allowed("é")) == {"é", "éa"}
    assert names(index.allowed(b"\xc3")) == {"é", "éa"}
    assert index.allowed("z") == [] and index.allowed("") == []


def test_prefix_sizes_limit_the_partial_tokens() -> None:
    index = TokenConstraint.from_texts(FAKE_VOCAB)
    assert names(index.allowed(" yi", prefix_sizes=[])) == {" yi", " yield"}
    assert names(index.allowed(" yi", prefix_sizes=[1])) == {" yi", " yield", " "}
    assert natural_cuts([b" y", b"i"], b" yi") == (2,)
    assert natural_cuts([b" yi"], b" yi") == ()
    assert natural_cuts([b" ", b"yi"], b"yi") is None


def test_byte_ff_and_binary_pieces() -> None:
    index = TokenConstraint([b"\xff", b"\xff\x01", b"\xfe", None])
    assert sorted(index.allowed(b"\xff")) == [0, 1]


def test_allowed_matches_a_linear_scan_on_the_smollm2_vocabulary(smollm2_vocab: Any) -> None:
    pieces = model_token_pieces(smollm2_vocab)
    index = TokenConstraint(pieces)
    assert 0 < len(index) < len(pieces)  # special tokens (<|im_start|> ...) are left out
    for remaining in [" yi", "yi", "Eq", " ", "    ", "ïve", "变量", "zzzzzz", "é"]:
        key = remaining.encode("utf-8")
        expected = {
            token
            for token, piece in enumerate(pieces)
            if piece and (piece.startswith(key) or (len(piece) < len(key) and key.startswith(piece)))
        }
        assert set(index.allowed(remaining)) == expected, remaining
    (yield_id,) = smollm2_vocab.tokenize(b" yield", add_bos=False, special=False)
    assert yield_id in index.allowed(" yi")


def test_allowed_is_fast_on_a_150k_vocabulary(smollm2_vocab: Any) -> None:
    pieces = model_token_pieces(smollm2_vocab)
    big = [piece + extra if piece else None for extra in (b"", b"x", b"y", b"z") for piece in pieces][
        :152_000
    ]
    index = TokenConstraint(big)
    assert len(big) == 152_000
    for remaining in [" yi", ".assertEq", "    ", " "]:
        started = time.perf_counter()
        for _ in range(200):
            index.allowed_span(remaining)
        assert (time.perf_counter() - started) / 200 < 0.001, remaining


# --- build_fim_prompt ---------------------------------------------------------------------------------------


def test_build_fim_prompt_without_healing_is_unchanged(tokenizer: LlamaTokenizer) -> None:
    prefix, suffix = "def gen():\n    yi", "\n    return\n"
    fim = FimTokens(1, 2, 3)
    expected_tokens = (
        9,
        1,
        *clip_prefix(prefix, 100, tokenizer),
        2,
        *clip_suffix(suffix, 50, tokenizer),
        3,
    )
    default = build_fim_prompt(
        prefix, suffix, fim=fim, tokenize=tokenizer, prefix_budget=100, suffix_budget=50, bos=(9,)
    )
    off = build_fim_prompt(
        prefix, suffix, fim=fim, tokenize=tokenizer, prefix_budget=100, suffix_budget=50, bos=(9,), heal=False
    )
    assert default == off
    assert off.tokens == expected_tokens and off.healing == ""
    plain_function = build_fim_prompt(
        prefix,
        suffix,
        fim=fim,
        tokenize=tokenizer.__call__,
        prefix_budget=100,
        suffix_budget=50,
        bos=(9,),
        heal=True,
    )
    assert plain_function == off  # a tokenizer that cannot detokenize cannot heal


def test_build_fim_prompt_with_healing_drops_the_partial_word(tokenizer: LlamaTokenizer) -> None:
    prefix, suffix = "def gen():\n    yi", "\n    return\n"
    fim = FimTokens(1, 2, 3)
    for fim_tokens in (fim, None):
        off = build_fim_prompt(
            prefix, suffix, fim=fim_tokens, tokenize=tokenizer, prefix_budget=100, suffix_budget=50
        )
        on = build_fim_prompt(
            prefix, suffix, fim=fim_tokens, tokenize=tokenizer, prefix_budget=100, suffix_budget=50, heal=True
        )
        assert on.healing == " yi"
        removed = off.size - on.size
        assert removed >= 1
        prefix_tokens = clip_prefix(prefix, 100, tokenizer)
        kept = prefix_tokens[: len(prefix_tokens) - removed]
        assert tokenizer.detokenize(kept) + on.healing == prefix
        if fim_tokens is None:
            assert on.tokens == tuple(kept)
        else:
            assert on.tokens == (1, *kept, *off.tokens[1 + len(prefix_tokens) :])
        assert on.pieces[0].tokens == len(kept)
        assert max(on.cache_points) == 1 + len(kept) if fim_tokens else len(kept)


# --- the engine with a real model ---------------------------------------------------------------------------

GENERATOR = "def fibonacci(limit):\n    a, b = 0, 1\n    while a < limit:\n        yi"


def engine_for(path: Path, *, reuse: bool = True) -> Engine:
    engine = Engine(
        LlamaBackend(LlamaConfig(model=ModelSpec(path=path), n_ctx=1024, state_reuse=reuse, prompt_batch=16))
    )
    engine.start()
    assert engine.wait_ready(600), engine.failure
    return engine


def healed_request(
    prefix: str, suffix: str = "", *, heal: bool = True, max_tokens: int = 12
) -> GenerationRequest:
    def build(info: ModelInfo, tokenize: Tokenizer) -> PromptLayout:
        return build_fim_prompt(
            prefix,
            suffix,
            fim=info.fim,
            tokenize=tokenize,
            prefix_budget=400,
            suffix_budget=64,
            bos=info.bos,
            heal=heal,
        )

    return GenerationRequest(build_prompt=build, max_tokens=max_tokens, stop_rule=single_line_stop())


@pytest.fixture(scope="module")
def smollm2_engine(smollm2_path: Path) -> Iterator[Engine]:
    engine = engine_for(smollm2_path)
    yield engine
    engine.close()


def sampled_tokens(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the ids the engine samples (a spy on llama.cpp's ``llama_sampler_sample``)."""
    import llama_cpp

    recorded: list[int] = []
    original = llama_cpp.llama_sampler_sample

    def sample(*args: Any) -> int:
        token = int(original(*args))
        recorded.append(token)
        return token

    monkeypatch.setattr(llama_cpp, "llama_sampler_sample", sample)
    return recorded


def test_engine_spells_the_healed_characters_first_and_returns_only_what_follows(
    smollm2_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = smollm2_engine
    recorded = sampled_tokens(monkeypatch)
    streamed: list[str] = []
    request = healed_request(GENERATOR, max_tokens=8)
    request.stop_rule = None
    request.on_text = streamed.append
    result = engine.submit(request).result(timeout=600)
    assert result.prompt is not None
    healing = result.prompt.healing
    assert healing == " yi"
    assert result.stop_reason in ("max_tokens", "eos")
    assert engine.tokenizer is not None
    pieces = [engine.tokenizer.detokenize([token]) for token in recorded]
    first = pieces[0]
    assert first.startswith(healing) or healing.startswith(first), pieces
    generated = "".join(pieces[: result.generated_tokens])
    assert generated == healing + result.text  # the result is what comes after the cursor
    assert not result.text.startswith("yi") and not result.text.startswith(" yi")
    assert streamed and streamed[-1] == result.text
    assert all(result.text.startswith(text) for text in streamed)


def test_healing_tokens_do_not_count_against_max_tokens(smollm2_engine: Engine) -> None:
    request = healed_request(GENERATOR, max_tokens=6)
    request.stop_rule = None
    healed = smollm2_engine.submit(request).result(timeout=600)
    assert healed.stop_reason == "max_tokens"
    assert healed.generated_tokens > 6 and healed.text


def test_greedy_healing_is_deterministic_and_stop_rules_see_the_text_after_the_cursor(
    smollm2_engine: Engine,
) -> None:
    first = smollm2_engine.submit(healed_request(GENERATOR)).result(timeout=600)
    second = smollm2_engine.submit(healed_request(GENERATOR)).result(timeout=600)
    assert first.text == second.text
    assert "\n" not in first.text
    unhealed = smollm2_engine.submit(healed_request(GENERATOR, heal=False)).result(timeout=600)
    assert unhealed.prompt is not None and unhealed.prompt.healing == ""


@pytest.mark.parametrize("model", ["smollm2", "qwen35"])
def test_healing_with_state_reuse_equals_the_cold_path(
    model: str, smollm2_path: Path, qwen35_path: Path
) -> None:
    path = smollm2_path if model == "smollm2" else qwen35_path
    warm, cold = engine_for(path, reuse=True), engine_for(path, reuse=False)
    try:
        typed = "        yield a"
        body = GENERATOR[: GENERATOR.rindex("\n") + 1]
        for count in range(8, len(typed) + 1):
            prefix = body + typed[:count]
            reused: GenerationResult = warm.submit(healed_request(prefix, "\n")).result(timeout=600)
            fresh: GenerationResult = cold.submit(healed_request(prefix, "\n")).result(timeout=600)
            assert reused.text == fresh.text, prefix[-10:]
            assert reused.prompt is not None and fresh.prompt is not None
            assert reused.prompt.healing == fresh.prompt.healing
    finally:
        warm.close()
        cold.close()
