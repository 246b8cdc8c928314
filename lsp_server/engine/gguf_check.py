"""Check a GGUF model file before llama.cpp loads it.

What the user sees: instead of a cryptic llama.cpp failure (or a crash) when the model
file is missing, is some other format (safetensors, a PyTorch checkpoint, a Git LFS
pointer, an HTML error page saved by a browser), uses an unsupported GGUF version, or was
cut short by an interrupted download, the server reports one clear sentence saying what is
wrong with the file and what to do about it (see :class:`ModelFileError`).

The check is pure Python and cheap even on multi-gigabyte files: it reads only the GGUF
header, the key/value metadata and the tensor descriptions, skips large arrays (such as a
150k-entry tokenizer vocabulary) without decoding them, and compares the size the tensor
data needs with the size of the file, never reading the tensor data itself.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import BinaryIO, Final

import attrs

__all__ = [
    "GgufArray",
    "GgufInfo",
    "ModelFileError",
    "check_model_path",
    "inspect_gguf",
]


class ModelFileError(Exception):
    """The model file cannot be used; the message says why and what to do, for the user."""

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


@attrs.frozen
class GgufArray:
    """An array-valued metadata entry: its element type, its length and, when short, its values."""

    element_type: str
    length: int
    values: tuple[object, ...] | None = None


@attrs.frozen
class GgufInfo:
    """What :func:`inspect_gguf` learned from a GGUF file's header and metadata."""

    path: Path
    version: int
    architecture: str | None
    name: str | None
    tensor_count: int
    file_size: int
    metadata: dict[str, object]
    alignment: int = 32
    data_offset: int = 0
    data_end: int = 0
    parameter_count: int = 0

    @property
    def vocab_size(self) -> int | None:
        """Number of tokens in the embedded tokenizer vocabulary, if there is one."""
        tokens = self.metadata.get("tokenizer.ggml.tokens")
        return tokens.length if isinstance(tokens, GgufArray) else None

    @property
    def context_length(self) -> int | None:
        """Training context length declared by the model, if any."""
        if self.architecture is None:
            return None
        value = self.metadata.get(f"{self.architecture}.context_length")
        return value if isinstance(value, int) and not isinstance(value, bool) else None


# --- format constants (ggml/include/gguf.h, ggml/include/ggml.h) -----------------------------

_GGUF_MAGIC: Final = b"GGUF"
_GGUF_MIN_VERSION: Final = 2  # GGUFv1 is no longer supported by llama.cpp
_GGUF_MAX_VERSION: Final = 3
_DEFAULT_ALIGNMENT: Final = 32
_MAX_DIMS: Final = 4  # GGML_MAX_DIMS
_MAX_NAME: Final = 64  # GGML_MAX_NAME (tensor names must be shorter)
_MAX_STRING_LENGTH: Final = 1 << 30  # GGUF_MAX_STRING_LENGTH
_MAX_ARRAY_ELEMENTS: Final = 1 << 30  # GGUF_MAX_ARRAY_ELEMENTS
_SMALL_ARRAY: Final = 64  # arrays up to this length keep their values in GgufInfo.metadata
_CHUNK: Final = 1 << 20  # read-ahead size for the header region


@attrs.frozen
class _GgmlType:
    name: str
    block_size: int  # elements per block
    type_size: int  # bytes per block


_QK_K: Final = 256

# ggml type id -> (name, elements per block, bytes per block); from ggml/src/ggml.c
# type_traits / ggml-common.h block structs (same as gguf-py's GGML_QUANT_SIZES).
_GGML_TYPES: Final[Mapping[int, _GgmlType]] = MappingProxyType(
    {
        0: _GgmlType("F32", 1, 4),
        1: _GgmlType("F16", 1, 2),
        2: _GgmlType("Q4_0", 32, 2 + 16),
        3: _GgmlType("Q4_1", 32, 2 + 2 + 16),
        6: _GgmlType("Q5_0", 32, 2 + 4 + 16),
        7: _GgmlType("Q5_1", 32, 2 + 2 + 4 + 16),
        8: _GgmlType("Q8_0", 32, 2 + 32),
        9: _GgmlType("Q8_1", 32, 2 + 2 + 32),
        10: _GgmlType("Q2_K", _QK_K, 2 + 2 + _QK_K // 16 + _QK_K // 4),
        11: _GgmlType("Q3_K", _QK_K, 2 + _QK_K // 4 + _QK_K // 8 + 12),
        12: _GgmlType("Q4_K", _QK_K, 2 + 2 + _QK_K // 2 + 12),
        13: _GgmlType("Q5_K", _QK_K, 2 + 2 + _QK_K // 2 + _QK_K // 8 + 12),
        14: _GgmlType("Q6_K", _QK_K, 2 + _QK_K // 2 + _QK_K // 4 + _QK_K // 16),
        15: _GgmlType("Q8_K", _QK_K, 4 + _QK_K + _QK_K // 8),
        16: _GgmlType("IQ2_XXS", _QK_K, 2 + _QK_K // 4),
        17: _GgmlType("IQ2_XS", _QK_K, 2 + _QK_K // 4 + _QK_K // 32),
        18: _GgmlType("IQ3_XXS", _QK_K, 2 + _QK_K // 4 + _QK_K // 8),
        19: _GgmlType("IQ1_S", _QK_K, 2 + _QK_K // 8 + _QK_K // 16),
        20: _GgmlType("IQ4_NL", 32, 2 + 16),
        21: _GgmlType("IQ3_S", _QK_K, 2 + _QK_K // 4 + _QK_K // 8 + _QK_K // 32 + 4),
        22: _GgmlType("IQ2_S", _QK_K, 2 + _QK_K // 4 + _QK_K // 16),
        23: _GgmlType("IQ4_XS", _QK_K, 2 + 2 + _QK_K // 2 + _QK_K // 64),
        24: _GgmlType("I8", 1, 1),
        25: _GgmlType("I16", 1, 2),
        26: _GgmlType("I32", 1, 4),
        27: _GgmlType("I64", 1, 8),
        28: _GgmlType("F64", 1, 8),
        29: _GgmlType("IQ1_M", _QK_K, _QK_K // 8 + _QK_K // 16 + _QK_K // 32),
        30: _GgmlType("BF16", 1, 2),
        34: _GgmlType("TQ1_0", _QK_K, 2 + 4 * 13),
        35: _GgmlType("TQ2_0", _QK_K, 2 + 64),
        39: _GgmlType("MXFP4", 32, 1 + 16),
        40: _GgmlType("NVFP4", 64, 4 + 32),
        41: _GgmlType("Q1_0", 128, 2 + 16),
        42: _GgmlType("Q2_0", 64, 2 + 16),
    }
)

# Type ids that existed once but that llama.cpp no longer loads from GGUF files.
_REMOVED_GGML_TYPES: Final[Mapping[int, str]] = MappingProxyType(
    {
        4: "Q4_2",
        5: "Q4_3",
        31: "Q4_0_4_4",
        32: "Q4_0_4_8",
        33: "Q4_0_8_8",
        36: "IQ4_NL_4_4",
        37: "IQ4_NL_4_8",
        38: "IQ4_NL_8_8",
    }
)

# GGUF metadata value types: id -> (name, struct format or "" for string/array).
_STRING: Final = 8
_ARRAY: Final = 9
_VALUE_TYPES: Final[Mapping[int, tuple[str, str]]] = MappingProxyType(
    {
        0: ("uint8", "B"),
        1: ("int8", "b"),
        2: ("uint16", "H"),
        3: ("int16", "h"),
        4: ("uint32", "I"),
        5: ("int32", "i"),
        6: ("float32", "f"),
        7: ("bool", "B"),
        _STRING: ("string", ""),
        _ARRAY: ("array", ""),
        10: ("uint64", "Q"),
        11: ("int64", "q"),
        12: ("float64", "d"),
    }
)
_BOOL: Final = 7
_UINT32: Final = 4

_U32: Final = struct.Struct("<I")
_I32: Final = struct.Struct("<i")
_U64: Final = struct.Struct("<Q")
_I64: Final = struct.Struct("<q")

_REDOWNLOAD: Final = "Delete it and download it again, or pass --model with a complete GGUF file."


class _CutShortError(Exception):
    """The file ended while a header field was being read (internal)."""


class _CorruptError(Exception):
    """A header field holds an impossible value (internal); the message says which."""


class _Reader:
    """Little-endian reader over the start of a file, with its own read-ahead buffer."""

    def __init__(self, stream: BinaryIO, file_size: int) -> None:
        self._stream = stream
        self._file_size = file_size
        self._buf = b""
        self._pos = 0  # read position inside _buf
        self._base = 0  # file offset of _buf[0]

    def tell(self) -> int:
        """Return the current file offset."""
        return self._base + self._pos

    def _fill(self, n: int) -> None:
        """Make sure ``n`` bytes are buffered at the read position, or raise _CutShortError."""
        if self._pos + n <= len(self._buf):
            return
        rest = self._buf[self._pos :]
        self._base += self._pos
        self._pos = 0
        want = max(n - len(rest), _CHUNK)
        self._stream.seek(self._base + len(rest))
        self._buf = rest + self._stream.read(want)
        if len(self._buf) < n:
            raise _CutShortError

    def read(self, n: int) -> bytes:
        """Return the next ``n`` bytes."""
        self._fill(n)
        start = self._pos
        self._pos += n
        return self._buf[start : self._pos]

    def skip(self, n: int) -> None:
        """Move ``n`` bytes forward without reading them."""
        target = self.tell() + n
        if target > self._file_size:
            raise _CutShortError
        if self._pos + n <= len(self._buf):
            self._pos += n
        else:
            self._buf = b""
            self._pos = 0
            self._base = target

    def u32(self) -> int:
        """Read an unsigned 32-bit integer."""
        self._fill(4)
        (value,) = _U32.unpack_from(self._buf, self._pos)
        self._pos += 4
        return int(value)

    def i32(self) -> int:
        """Read a signed 32-bit integer."""
        self._fill(4)
        (value,) = _I32.unpack_from(self._buf, self._pos)
        self._pos += 4
        return int(value)

    def u64(self) -> int:
        """Read an unsigned 64-bit integer."""
        self._fill(8)
        (value,) = _U64.unpack_from(self._buf, self._pos)
        self._pos += 8
        return int(value)

    def i64(self) -> int:
        """Read a signed 64-bit integer."""
        self._fill(8)
        (value,) = _I64.unpack_from(self._buf, self._pos)
        self._pos += 8
        return int(value)

    def _string_length(self) -> int:
        length = self.u64()
        if length > _MAX_STRING_LENGTH:
            raise _CorruptError(f"a string claims to be {length} bytes long")
        if self.tell() + length > self._file_size:
            raise _CutShortError
        return length

    def string(self) -> str:
        """Read a GGUF string (u64 length, then UTF-8 bytes)."""
        return self.read(self._string_length()).decode("utf-8", errors="replace")

    def skip_strings(self, count: int) -> None:
        """Skip ``count`` consecutive GGUF strings without decoding them."""
        unpack_from = _U64.unpack_from
        for _ in range(count):
            # Fast path: length and body both inside the buffer.
            pos = self._pos
            buf = self._buf
            if pos + 8 <= len(buf):
                (length,) = unpack_from(buf, pos)
                if pos + 8 + length <= len(buf):
                    self._pos = pos + 8 + length
                    continue
            self.skip(self._string_length())


def _pad(offset: int, alignment: int) -> int:
    return offset + (-offset % alignment)


def _describe_foreign(head: bytes) -> str:
    """Say what a file that is not GGUF looks like, and what to do, from its first bytes."""
    convert = "convert it to GGUF with llama.cpp's convert_hf_to_gguf.py, or download a .gguf file"
    if head.startswith(b"FUGG"):
        return (
            "it is a big-endian GGUF file, which this machine cannot load; "
            "download the little-endian (standard) GGUF version"
        )
    if head[:4] in (b"lmgg", b"fmgg", b"tjgg", b"algg"):
        return f"it is an old GGML/GGJT model file from before the GGUF format; {convert}"
    if head.startswith(b"PK\x03\x04"):
        return f"it looks like a ZIP archive, e.g. a PyTorch checkpoint (.bin/.pt); {convert}"
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return f"it looks like a Python pickle, e.g. a legacy PyTorch checkpoint; {convert}"
    if len(head) >= 10 and head[8:10] in (b'{"', b"{'"):
        return f"it looks like a safetensors file; {convert}"
    if head.startswith((b"\x1f\x8b", b"\xfd7zXZ", b"(\xb5/\xfd", b"BZh", b"7z\xbc\xaf")):
        return "it is a compressed archive (gzip/xz/zstd/bzip2/7z); extract the .gguf file from it"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"version https://git-lfs"):
        return (
            "it is a Git LFS pointer, not the model itself; fetch the real file with "
            "`git lfs pull` or download it from the Hugging Face 'resolve' URL"
        )
    if text.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head")):
        return (
            "it is an HTML/XML page (often an error or login page saved instead of the model); "
            "download the file itself, e.g. from the Hugging Face 'resolve' URL, not the web page"
        )
    if text.startswith((b"{", b"[")):
        return "it looks like a JSON file (a config or tokenizer?), not the model weights"
    if all((0x20 <= byte != 0x7F) or byte in b"\t\r\n" for byte in head):
        return "it looks like a text file, not model weights; pass the path of a .gguf model file"
    shown = head[:8].hex(" ")
    return f"its first bytes are {shown}, which is no known model format; {convert}"


def _read_value(reader: _Reader, vtype: int, key: str) -> object:
    """Read one scalar metadata value of GGUF value type ``vtype``."""
    if vtype == _STRING:
        return reader.string()
    spec = _VALUE_TYPES.get(vtype)
    if spec is None or vtype == _ARRAY:
        raise _CorruptError(f"metadata key '{key}' has an invalid value type ({vtype})")
    fmt = struct.Struct("<" + spec[1])
    (value,) = fmt.unpack(reader.read(fmt.size))
    return bool(value) if vtype == _BOOL else value


def _read_array(reader: _Reader, key: str) -> GgufArray:
    """Read an array metadata value; keep the values only when the array is short."""
    etype = reader.i32()
    spec = _VALUE_TYPES.get(etype)
    if spec is None or etype == _ARRAY:
        raise _CorruptError(f"metadata key '{key}' has an invalid array element type ({etype})")
    count = reader.u64()
    if count > _MAX_ARRAY_ELEMENTS:
        raise _CorruptError(f"metadata array '{key}' claims {count} elements")
    name, fmt = spec
    if count <= _SMALL_ARRAY:
        values = tuple(_read_value(reader, etype, key) for _ in range(count))
        return GgufArray(element_type=name, length=count, values=values)
    if etype == _STRING:
        reader.skip_strings(count)
    else:
        reader.skip(count * struct.calcsize("<" + fmt))
    return GgufArray(element_type=name, length=count)


def _element_count(dims: list[int]) -> int:
    nelements = 1
    for dim in dims:
        nelements *= dim
    return nelements


def _parse(reader: _Reader, path: Path, file_size: int, *, require_tensors: bool) -> GgufInfo:
    """Parse the header, metadata and tensor infos (data is never read)."""
    reader.skip(4)  # magic, already checked
    version = reader.u32()
    if version & 0xFFFF == 0 and version != 0:
        raise ModelFileError(
            f"The model file {path} is a big-endian GGUF file (version field {version:#x}), "
            "which this machine cannot load. Download the standard little-endian GGUF version.",
            path=path,
        )
    if version < _GGUF_MIN_VERSION or version > _GGUF_MAX_VERSION:
        hint = (
            "it was made by a very old converter; download a current GGUF of the model"
            if version < _GGUF_MIN_VERSION
            else "it needs a newer llama.cpp; update qwen-lsp or use a GGUF made for it"
        )
        raise ModelFileError(
            f"The model file {path} uses GGUF version {version}, but only versions "
            f"{_GGUF_MIN_VERSION}-{_GGUF_MAX_VERSION} are supported: {hint}.",
            path=path,
        )
    tensor_count = reader.i64()
    kv_count = reader.i64()
    if tensor_count < 0 or kv_count < 0:
        raise _CorruptError(f"the header declares {tensor_count} tensors and {kv_count} keys")

    metadata: dict[str, object] = {}
    for _ in range(kv_count):
        key = reader.string()
        if not key:
            raise _CorruptError("a metadata key is empty")
        if key in metadata:
            raise _CorruptError(f"metadata key '{key}' appears twice")
        vtype = reader.i32()
        if vtype == _ARRAY:
            metadata[key] = _read_array(reader, key)
        else:
            value = _read_value(reader, vtype, key)
            if key == "general.alignment" and vtype != _UINT32:
                raise _CorruptError("'general.alignment' is not a uint32")
            metadata[key] = value

    alignment = metadata.get("general.alignment", _DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
        raise _CorruptError(f"the alignment {alignment!r} is not a power of two")

    data_size = 0  # running, padded size of the data section (what llama.cpp expects)
    data_needed = 0  # end of the last tensor's bytes, relative to the data section
    parameter_count = 0
    seen: set[str] = set()
    for _ in range(tensor_count):
        name = reader.string()
        if len(name.encode("utf-8")) >= _MAX_NAME:
            raise _CorruptError(f"tensor name '{name[:80]}' is too long")
        if name in seen:
            raise _CorruptError(f"tensor '{name}' appears twice")
        seen.add(name)
        n_dims = reader.u32()
        if n_dims > _MAX_DIMS:
            raise _CorruptError(f"tensor '{name}' has {n_dims} dimensions")
        dims = [reader.i64() for _ in range(n_dims)]
        if any(d < 0 for d in dims):
            raise _CorruptError(f"tensor '{name}' has a negative dimension {dims}")
        type_id = reader.i32()
        ggml_type = _GGML_TYPES.get(type_id)
        if ggml_type is None:
            removed = _REMOVED_GGML_TYPES.get(type_id)
            what = (
                f"the quantization type {removed} (id {type_id}), which llama.cpp no longer "
                "supports; download a GGUF quantized with a current llama.cpp"
                if removed
                else f"an unknown ggml type id {type_id}; the file is corrupt or needs a newer "
                "llama.cpp than the one bundled with qwen-lsp"
            )
            raise ModelFileError(
                f"The model file {path} cannot be loaded: tensor '{name}' uses {what}.",
                path=path,
            )
        row = dims[0] if dims else 1
        if row % ggml_type.block_size:
            raise _CorruptError(
                f"tensor '{name}' ({ggml_type.name}) has {row} elements per row, "
                f"not a multiple of {ggml_type.block_size}"
            )
        offset = reader.u64()
        if offset != data_size:
            raise _CorruptError(f"tensor '{name}' starts at data offset {offset}, expected {data_size}")
        nelements = _element_count(dims)
        data_needed = offset + nelements // ggml_type.block_size * ggml_type.type_size
        data_size = _pad(data_needed, alignment)
        parameter_count += nelements

    data_offset = _pad(reader.tell(), alignment) if tensor_count else reader.tell()
    data_end = data_offset + data_needed
    if file_size < data_end:
        raise ModelFileError(
            f"The model file {path} is truncated: the file is {file_size} bytes, expected at "
            f"least {data_end} (incomplete download?). {_REDOWNLOAD}",
            path=path,
        )
    if tensor_count == 0 and require_tensors:
        raise ModelFileError(
            f"The model file {path} is a GGUF file without any tensors (a vocabulary-only "
            "file?), so it is not a model. Pass --model with a complete GGUF model file.",
            path=path,
        )

    architecture = metadata.get("general.architecture")
    name_value = metadata.get("general.name")
    return GgufInfo(
        path=path,
        version=version,
        architecture=architecture if isinstance(architecture, str) else None,
        name=name_value if isinstance(name_value, str) else None,
        tensor_count=tensor_count,
        file_size=file_size,
        metadata=metadata,
        alignment=alignment,
        data_offset=data_offset,
        data_end=data_end,
        parameter_count=parameter_count,
    )


def check_model_path(path: Path) -> None:
    """Raise ModelFileError unless ``path`` names an existing regular file."""
    if not path.exists():
        raise ModelFileError(
            f"The model file {path} does not exist. Check the path passed to --model.",
            path=path,
        )
    if path.is_dir():
        raise ModelFileError(
            f"The model path {path} is a directory, not a file. Pass --model with the path "
            "of the .gguf file inside it.",
            path=path,
        )
    if not path.is_file():
        raise ModelFileError(
            f"The model path {path} is not a regular file. Pass --model with a .gguf file.",
            path=path,
        )


def inspect_gguf(path: Path, *, require_tensors: bool = True) -> GgufInfo:
    """Validate a GGUF model file and describe it; raise ModelFileError if it is unusable."""
    path = Path(path).expanduser()
    file_size = 0
    try:
        check_model_path(path)
        with path.open("rb", buffering=0) as stream:
            file_size = path.stat().st_size
            if file_size == 0:
                raise ModelFileError(
                    f"The model file {path} is empty (0 bytes); the download probably failed. {_REDOWNLOAD}",
                    path=path,
                )
            head = stream.read(64)
            if not head.startswith(_GGUF_MAGIC):
                if len(head) < len(_GGUF_MAGIC) and _GGUF_MAGIC.startswith(head):
                    raise _CutShortError
                raise ModelFileError(
                    f"The model file {path} is not a GGUF file: {_describe_foreign(head)}.",
                    path=path,
                )
            reader = _Reader(stream, file_size)
            return _parse(reader, path, file_size, require_tensors=require_tensors)
    except _CutShortError:
        raise ModelFileError(
            f"The model file {path} is truncated: the file is {file_size} bytes and ends inside "
            f"its GGUF header or metadata (incomplete download?). {_REDOWNLOAD}",
            path=path,
        ) from None
    except _CorruptError as exc:
        raise ModelFileError(
            f"The model file {path} is corrupt: {exc}. {_REDOWNLOAD}",
            path=path,
        ) from None
    except PermissionError:
        raise ModelFileError(
            f"The model file {path} cannot be read: permission denied. Fix its permissions "
            "or pass --model with a readable file.",
            path=path,
        ) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ModelFileError(
            f"The model file {path} cannot be read ({reason}). Check the file and the disk, "
            "or pass --model with another GGUF file.",
            path=path,
        ) from None
