"""What ``qwen-lsp doctor`` asks llama.cpp: the build, a model's vocabulary, quantization names.

Importing this module imports llama_cpp: a caller that must survive a broken install imports it inside
``try: ... except (ImportError, OSError)``.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import llama_cpp

from lsp_server.engine.gguf_check import ModelFileError
from lsp_server.engine.llama.backend import llama_log, model_fim_tokens
from lsp_server.engine.llama.tokenizer import LlamaTokenizer
from lsp_server.model_api import FimTokens, Tokenizer

# llama.h: LLAMA_FTYPE_GUESSED, the flag llama.cpp adds to a file type it inferred.
_FTYPE_GUESSED = 1024


@attrs.frozen
class BuildFacts:
    """The llama.cpp build that llama-cpp-python carries."""

    version: str
    system_info: str
    gpu_offload: bool


@attrs.frozen
class Vocabulary:
    """A model's vocabulary as llama.cpp reads it."""

    n_vocab: int
    fim: FimTokens | None
    architecture: str = "unknown"
    chat_template: str | None = None


def build_facts() -> BuildFacts:
    """Version, ``llama_print_system_info`` and whether the build can offload layers to a GPU."""
    return BuildFacts(
        version=str(llama_cpp.__version__),
        system_info=llama_cpp.llama_print_system_info().decode("utf-8", errors="replace"),
        gpu_offload=bool(llama_cpp.llama_supports_gpu_offload()),
    )


def read_vocabulary(path: Path) -> Vocabulary:
    """Load only ``path``'s vocabulary (fast, no weights); ``ModelFileError`` with llama.cpp's reason."""
    log = llama_log()
    log.recent_errors.clear()
    try:
        llm = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelFileError(log.explain() or str(exc)) from exc
    try:
        metadata: dict[str, str] = dict(llm.metadata)
        return Vocabulary(
            n_vocab=int(llm.n_vocab()),
            fim=model_fim_tokens(llm),
            architecture=metadata.get("general.architecture", "unknown"),
            chat_template=metadata.get("tokenizer.chat_template"),
        )
    finally:
        llm.close()


def read_tokenizer(path: Path, cache_bytes: int) -> tuple[Tokenizer, FimTokens | None, str]:
    """A tokenizer over ``path``'s vocabulary, its FIM tokens and architecture (no weights are loaded).

    For a model that runs on a remote server; the vocabulary stays loaded as long as the tokenizer lives.
    """
    log = llama_log()
    log.recent_errors.clear()
    try:
        llm = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelFileError(f"cannot read the vocabulary of {path}: {log.explain() or exc}") from exc
    architecture = str(dict(llm.metadata).get("general.architecture", "unknown"))
    return LlamaTokenizer(llm, cache_bytes=cache_bytes), model_fim_tokens(llm), architecture


def file_type_name(file_type: int) -> str | None:
    """llama.cpp's name for a GGUF ``general.file_type`` (``Q4_K_M``), or None if it has none."""
    value = file_type & ~_FTYPE_GUESSED
    for name in dir(llama_cpp):
        if (
            name.startswith("LLAMA_FTYPE_")
            and name != "LLAMA_FTYPE_GUESSED"
            and getattr(llama_cpp, name) == value
        ):
            return name.removeprefix("LLAMA_FTYPE_").removeprefix("MOSTLY_")
    return None
