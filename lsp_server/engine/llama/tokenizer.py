"""The llama.cpp tokenizer of a loaded model, with a per-line token cache in front of it."""

from __future__ import annotations

import ctypes
from typing import Any

from lsp_server.prompt.token_cache import DEFAULT_MAX_BYTES, CachedTokenizer, TokenCache


class LlamaTokenizer(CachedTokenizer):
    """A loaded ``llama_cpp.Llama``'s tokenizer, as prompt builders use it (``model_api.Tokenizer``)."""

    def __init__(self, llm: Any, cache_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self._llm = llm
        self._raw: tuple[Any, Any] | None = None
        model = getattr(llm, "model", None)
        if model is not None:
            import llama_cpp

            self._raw = (llama_cpp, llama_cpp.llama_model_get_vocab(model))
        self._cache = TokenCache(self._plain, max_bytes=cache_bytes)
        self._piece_buffer = ctypes.create_string_buffer(256)

    def _tokenize(self, text: str, special: bool) -> list[int]:
        data = text.encode("utf-8")
        if self._raw is not None:
            # llama_cpp.Llama.tokenize allocates a buffer of the whole training context (32K tokens for
            # Qwen) on every call: ~0.1 ms for a one-line text. A text has at most one token per byte.
            llama_cpp, vocab = self._raw
            size = len(data) + 8
            buffer = (llama_cpp.llama_token * size)()
            count = llama_cpp.llama_tokenize(vocab, data, len(data), buffer, size, False, special)
            if count >= 0:
                return list(buffer[:count])
        tokens: list[int] = self._llm.tokenize(data, add_bos=False, special=special)
        return tokens

    def _plain(self, text: str) -> list[int]:
        return self._tokenize(text, special=False)

    def with_special(self, text: str) -> list[int]:
        """Tokenize text containing special tokens (``<|im_start|>`` ...), e.g. a rendered chat."""
        return self._tokenize(text, special=True)

    def detokenize(self, tokens: list[int]) -> str:
        """Text of ``tokens`` (special tokens rendered)."""
        return self.token_bytes(tokens, special=True).decode("utf-8", errors="replace")

    def token_bytes(self, tokens: list[int], *, special: bool) -> bytes:
        """The bytes ``tokens`` write, each piece whole.

        llama-cpp-python's ``detokenize`` reads each piece into 32 bytes and silently cuts longer ones
        (Qwen3.5 has 360 such tokens, long indentation runs among them).
        """
        if self._raw is None:
            raw: bytes = self._llm.detokenize(tokens, special=special)
            return raw
        llama_cpp, vocab = self._raw
        out = bytearray()
        buffer = self._piece_buffer
        for token in tokens:
            length = int(llama_cpp.llama_token_to_piece(vocab, token, buffer, len(buffer), 0, special))
            if length < 0:
                self._piece_buffer = buffer = ctypes.create_string_buffer(-length)
                length = int(llama_cpp.llama_token_to_piece(vocab, token, buffer, len(buffer), 0, special))
            out += buffer.raw[: max(0, length)]
        return bytes(out)
