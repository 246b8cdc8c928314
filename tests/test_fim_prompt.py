"""Unit tests: FIM token detection and the token layout of completion prompts."""

from __future__ import annotations

from lsp_server.model_api import FimTokens
from lsp_server.prompt.fim import build_fim_prompt, clip_prefix, clip_suffix, detect_fim_tokens

QWEN_VOCAB = {
    "<|fim_prefix|>": 151659,
    "<|fim_middle|>": 151660,
    "<|fim_suffix|>": 151661,
    "<|repo_name|>": 151663,
    "<|file_sep|>": 151664,
}
STARCODER_VOCAB = {"<fim_prefix>": 1, "<fim_middle>": 2, "<fim_suffix>": 3, "<reponame>": 17}
CODELLAMA_VOCAB = {"▁<PRE>": 32007, "▁<SUF>": 32008, "▁<MID>": 32009}


def test_detects_qwen_tokens_with_repo_markers() -> None:
    fim = detect_fim_tokens(QWEN_VOCAB.get)
    assert fim == FimTokens(151659, 151661, 151660, 151663, 151664, spelling="<|fim_prefix|>")


def test_detects_starcoder_and_codellama_spellings() -> None:
    starcoder = detect_fim_tokens(STARCODER_VOCAB.get)
    assert starcoder is not None
    assert (starcoder.prefix, starcoder.suffix, starcoder.middle) == (1, 3, 2)
    assert starcoder.repo_name == 17 and starcoder.file_sep is None
    codellama = detect_fim_tokens(CODELLAMA_VOCAB.get)
    assert codellama is not None and codellama.middle == 32009


def test_llama_cpp_native_ids_win_and_missing_ones_fall_back() -> None:
    native = detect_fim_tokens(QWEN_VOCAB.get, native=(5, 6, 7))
    assert native is not None and (native.prefix, native.suffix, native.middle) == (5, 6, 7)
    fallback = detect_fim_tokens(QWEN_VOCAB.get, native=(-1, -1, -1))
    assert fallback is not None and fallback.prefix == 151659


def test_no_fim_tokens() -> None:
    assert detect_fim_tokens({"<|im_start|>": 1, "<fim_prefix>": 2}.get) is None
    assert detect_fim_tokens(lambda _text: None) is None


def char_tokenize(text: str) -> list[int]:
    """A stand-in tokenizer with one token per character: token counts are easy to reason about."""
    return [ord(char) for char in text]


def test_psm_layout_markers_and_pieces() -> None:
    fim = FimTokens(1, 2, 3)
    layout = build_fim_prompt(
        "ab\ncd",
        "ef\n",
        fim=fim,
        tokenize=char_tokenize,
        prefix_budget=100,
        suffix_budget=100,
        bos=(9,),
    )
    assert layout.fim
    assert list(layout.tokens) == [9, 1, *map(ord, "ab\ncd"), 2, *map(ord, "ef\n"), 3]
    assert [(piece.name, piece.tokens) for piece in layout.pieces] == [
        ("prefix", 5),
        ("suffix", 3),
        ("markers", 4),
    ]


def test_prefix_only_layout_without_fim() -> None:
    layout = build_fim_prompt(
        "x = 1\ny = ", "\nz", fim=None, tokenize=char_tokenize, prefix_budget=50, suffix_budget=50
    )
    assert not layout.fim
    assert list(layout.tokens) == list(map(ord, "x = 1\ny = "))


def test_prefix_is_cut_at_a_line_start_within_budget() -> None:
    prefix = "line one\nline two\nline three\ncur"
    tokens = clip_prefix(prefix, 20, char_tokenize)
    text = "".join(map(chr, tokens))
    assert text == "line three\ncur"  # whole lines only, cursor line always kept
    assert len(tokens) <= 20


def test_cursor_line_longer_than_budget_keeps_its_end() -> None:
    tokens = clip_prefix("short\n" + "x" * 50, 10, char_tokenize)
    assert "".join(map(chr, tokens)) == "x" * 10


def test_suffix_is_cut_at_a_line_end_within_budget() -> None:
    tokens = clip_suffix(")\nnext line\nlast line\n", 13, char_tokenize)
    assert "".join(map(chr, tokens)) == ")\nnext line\n"
    assert clip_suffix("anything", 0, char_tokenize) == []
