"""Tokenizers for a model that runs elsewhere: the server's own (llama-server ``/tokenize``), or an estimate.

What the user sees: prompts for a remote model are cut to the same token budgets as for a local one. With
llama-server the tokens are the model's own (asked once per line, then cached), so the server receives
exactly the token ids the in-process engine would evaluate. An OpenAI-compatible server has no tokenize
endpoint: there a text tokenizer stands in, whose "tokens" are words and punctuation runs (about what a
code model's BPE gives) and whose ids spell their own text, so the prompt text is rebuilt exactly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from lsp_server.engine.remote.http import HttpClient
from lsp_server.memory import CacheSize
from lsp_server.prompt.token_cache import DEFAULT_MAX_BYTES, CachedTokenizer, TokenCache


class ServerTokenizer(CachedTokenizer):
    """llama-server's tokenizer over HTTP (``model_api.Tokenizer``), the per-line token cache in front."""

    def __init__(self, client: HttpClient, cache_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self._client = client
        self._pieces: dict[int, bytes] = {}
        self._cache = TokenCache(self._plain, max_bytes=cache_bytes)

    def _tokenize(self, text: str, special: bool) -> list[int]:
        if not text:
            return []
        answer = self._client.post(
            "/tokenize",
            {"content": text, "add_special": False, "parse_special": special, "with_pieces": True},
        )
        tokens: list[int] = []
        for item in answer.get("tokens", []) if isinstance(answer, dict) else []:
            if isinstance(item, dict):
                token = int(item["id"])
                piece = item.get("piece", "")
                if token not in self._pieces and len(self._pieces) < 200_000:
                    raw = piece.encode("utf-8") if isinstance(piece, str) else bytes(piece)
                    if not special:
                        self._pieces[token] = raw
                tokens.append(token)
            else:
                tokens.append(int(item))
        return tokens

    def _plain(self, text: str) -> list[int]:
        return self._tokenize(text, special=False)

    def with_special(self, text: str) -> list[int]:
        """Tokenize text containing special tokens (``<|fim_prefix|>`` ...)."""
        return self._tokenize(text, special=True)

    def detokenize(self, tokens: list[int]) -> str:
        """Text of ``tokens`` (special tokens rendered), as the server writes it."""
        if not tokens:
            return ""
        answer = self._client.post("/detokenize", {"tokens": list(tokens)})
        return str(answer.get("content", "")) if isinstance(answer, dict) else ""

    def token_bytes(self, tokens: list[int], *, special: bool) -> bytes:
        """The bytes ``tokens`` write (pieces seen in tokenize answers; otherwise asked of the server)."""
        if all(token in self._pieces for token in tokens):
            return b"".join(self._pieces[token] for token in tokens)
        return self.detokenize(tokens).encode("utf-8")

    def cache_size(self) -> CacheSize:
        """What the token cache and the piece table hold."""
        cache = self._cache.size()
        pieces = sum(len(piece) + 64 for piece in self._pieces.values())
        return CacheSize(cache.bytes + pieces, cache.entries + len(self._pieces), cache.limit)


# Words, runs of the same kind of punctuation, single newlines and runs of other white space: about one
# BPE token each for code (a 16-byte cap splits long identifiers, as BPE does).
_CHUNK = re.compile(r" ?[A-Za-z_][A-Za-z_0-9]*| ?[0-9]+|\n|[^\S\n]+|[^\w\s]{1,3}|\w+|.", re.DOTALL)
_MAX_CHUNK = 16
_TAG = b"\x01"  # first byte of every text id, so that ids never collide with the small special ids


class TextTokenizer:
    r"""An estimating tokenizer whose ids are their own text (``model_api.Tokenizer``; no vocabulary).

    Special tokens (the FIM markers the server's model understands) get the small ids ``0..n-1``; every
    other id is ``int.from_bytes(b"\x01" + utf8)`` of its chunk, so ``detokenize`` needs no table and
    memory never grows with the text seen.
    """

    def __init__(self, specials: Sequence[str] = ()) -> None:
        self.specials = tuple(specials)
        self._special_ids = {text: index for index, text in enumerate(self.specials)}
        self._split = (
            re.compile("(" + "|".join(re.escape(text) for text in self.specials) + ")")
            if self.specials
            else None
        )

    def special_id(self, text: str) -> int | None:
        """The id of a special spelling, if it is one."""
        return self._special_ids.get(text)

    @staticmethod
    def _chunks(text: str) -> list[str]:
        out: list[str] = []
        for match in _CHUNK.finditer(text):
            chunk = match.group(0)
            data = chunk.encode("utf-8")
            if len(data) <= _MAX_CHUNK:
                out.append(chunk)
                continue
            piece = ""
            for char in chunk:
                if len((piece + char).encode("utf-8")) > _MAX_CHUNK:
                    out.append(piece)
                    piece = ""
                piece += char
            if piece:
                out.append(piece)
        return out

    def __call__(self, text: str) -> list[int]:
        """Estimated tokens of plain text (special spellings stay text)."""
        return [int.from_bytes(_TAG + chunk.encode("utf-8"), "big") for chunk in self._chunks(text)]

    def count(self, text: str) -> int:
        """Estimated token count of plain ``text``."""
        return len(self._chunks(text))

    def with_special(self, text: str) -> list[int]:
        """Tokens of text in which the special spellings are special tokens."""
        if self._split is None:
            return self(text)
        tokens: list[int] = []
        for part in self._split.split(text):
            special = self._special_ids.get(part)
            if special is not None:
                tokens.append(special)
            elif part:
                tokens.extend(self(part))
        return tokens

    def token_bytes(self, tokens: list[int], *, special: bool) -> bytes:
        """The text the ids spell (special ones only when ``special``)."""
        out = bytearray()
        for token in tokens:
            if 0 <= token < len(self.specials):
                if special:
                    out += self.specials[token].encode("utf-8")
                continue
            raw = token.to_bytes((token.bit_length() + 7) // 8, "big")
            out += raw[1:] if raw[:1] == _TAG else b""
        return bytes(out)

    def detokenize(self, tokens: list[int]) -> str:
        """The text of ``tokens``, special tokens spelled out."""
        return self.token_bytes(tokens, special=True).decode("utf-8", errors="replace")


def fim_spellings(style: str, model: str) -> tuple[str, str, str] | None:
    """The FIM markers for ``style`` ("auto": guessed from the model name); None: no FIM."""
    if style == "auto":
        name = model.lower()
        if "qwen" in name:
            style = "qwen"
        elif "starcoder" in name or "santacoder" in name or "stable-code" in name:
            style = "starcoder"
        elif "deepseek" in name and "coder" in name:
            style = "deepseek"
        elif "codellama" in name or "code-llama" in name:
            style = "codellama"
        else:
            style = "none"
    return {
        "qwen": ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"),
        "starcoder": ("<fim_prefix>", "<fim_suffix>", "<fim_middle>"),
        "codellama": ("<PRE>", "<SUF>", "<MID>"),
        "deepseek": (
            "<\uff5cfim\u2581begin\uff5c>",
            "<\uff5cfim\u2581hole\uff5c>",
            "<\uff5cfim\u2581end\uff5c>",
        ),
    }.get(style)


def answer_list(value: Any, key: str) -> list[Any]:
    """``value[key]`` when it is a list (server answers are checked, not trusted)."""
    found = value.get(key) if isinstance(value, dict) else None
    return found if isinstance(found, list) else []
