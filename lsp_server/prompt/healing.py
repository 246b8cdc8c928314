"""Token healing: completions that finish the word the cursor stopped in.

What the user sees: with the cursor inside a word (``    yi|``, ``for ke|``), the suggestion completes that
word (``eld value``, ``y in d:``) instead of treating the typed fragment as a finished token and writing
something that only makes sense after a whole word (``yi = next(...)``).

Why it happens: a BPE tokenizer turns ``    yield`` into ``"   ", " yield"``, so a prompt ending in
``"   ", " yi"`` is a split the model never saw in training. The prompt is backed off to the last token
boundary before the partial word, and the first generated tokens are constrained to spell the removed
characters again (the engine does that with ``TokenConstraint``). The text the user is shown is still only
what comes after the cursor.

Decisions, measured on SmolLM2-135M and Qwen2.5-Coder-0.5B:

- A word is a run of ``isalnum()`` characters, ``_`` and ``$`` (language-agnostic; non-ASCII identifiers
  included). A run of digits alone is not healed: modern BPE pre-tokenizers split numbers into single
  digits, so ``x = 12`` already ends at a natural boundary.
- A trailing run of spaces or tabs after code is healed too (``return |``, ``x = |``): BPE merges a space
  into the word after it (`` x``), so a prompt ending in a lone ``" "`` token is as unnatural as `` yi``.
  On Qwen2.5-Coder-0.5B it changed 1 of 6 such completions (``import |``: ``json`` instead of ``sys``,
  which the code below uses) and cost one more decoded token. Whitespace that is all there is on the
  cursor line (indentation) is left alone: the models complete it well as it is.
- Never more than ``max_tokens`` tokens or ``max_chars`` characters, never a newline, and never a cut in
  the middle of a UTF-8 character.
- A token that spells only part of what is left may end only where the model's own tokenization of the
  removed text has a boundary (``natural_cuts``): otherwise `` k`` (a loop variable) beats `` key`` for
  `` ke`` and the constraint then forces ``exact`` after it.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence

Detokenize = Callable[[list[int]], str]
"""Turns token ids into text (invalid UTF-8 shown as U+FFFD)."""

_EXTRA_WORD_CHARS = frozenset("_$")
_HORIZONTAL_SPACE = frozenset(" \t")


def is_word_char(char: str) -> bool:
    """Whether ``char`` can be part of an identifier or number in most languages."""
    return char.isalnum() or char in _EXTRA_WORD_CHARS


def partial_word(text: str, *, after_dot: bool = False) -> str:
    """The characters at the end of ``text`` that a healed completion should spell again ("" for none).

    ``after_dot``: a member access's dot after a word (``self.``) too; BPE glues it to the name after it
    (``.radius``), so a prompt that ends with it alone reads as the end of a sentence (`` radius``).
    Used where the prompt ends at the cursor (no FIM suffix after it).
    """
    end = len(text)
    if after_dot and text.endswith(".") and len(text) > 1 and is_word_char(text[-2]):
        return "."
    start = end
    while start > 0 and is_word_char(text[start - 1]):
        start -= 1
    if start < end:
        word = text[start:]
        return "" if word.isdigit() else word
    while start > 0 and text[start - 1] in _HORIZONTAL_SPACE:
        start -= 1
    if start == end:
        return ""
    # Trailing spaces, indentation included: BPE tokenizers glue the last space to the next word
    # ("   " + " return"), so a prompt ending in a whole run of spaces is a split the model rarely saw.
    return text[start:]


def heal_prompt_tail(
    prefix_tokens: list[int],
    detokenize: Detokenize,
    max_tokens: int = 2,
    max_chars: int = 24,
    *,
    after_dot: bool = False,
) -> tuple[list[int], str]:
    """Drop the last tokens that split a word (or trailing space); return the kept tokens and removed text.

    ``after_dot``: also a trailing member-access dot (see ``partial_word``).
    """
    if not prefix_tokens or max_tokens <= 0:
        return list(prefix_tokens), ""
    window = prefix_tokens[-(max_tokens + 2) :]  # a little context so that each cut is judged in real text
    full = detokenize(window)
    word = partial_word(full, after_dot=after_dot)
    if not word:
        return list(prefix_tokens), ""
    removed_count, removed_text = 0, ""
    for count in range(1, min(max_tokens, len(window)) + 1):
        kept_text = detokenize(window[:-count])
        if not full.startswith(kept_text) or kept_text.endswith("\ufffd"):
            continue  # the cut falls inside a UTF-8 character: try one more token
        removed = full[len(kept_text) :]
        if "\n" in removed or "\r" in removed or "\ufffd" in removed or len(removed) > max_chars:
            break
        removed_count, removed_text = count, removed
        if len(removed) >= len(word):
            break  # the cut is at or before the start of the partial word
    if removed_count == 0:
        return list(prefix_tokens), ""
    return list(prefix_tokens[:-removed_count]), removed_text


def natural_cuts(pieces: Sequence[bytes], healing: bytes) -> tuple[int, ...] | None:
    """Byte offsets inside ``healing`` where its own tokenization (``pieces``) puts token boundaries.

    None when the pieces do not spell ``healing`` exactly (then any boundary has to be allowed).
    """
    if b"".join(pieces) != healing:
        return None
    cuts: list[int] = []
    offset = 0
    for piece in pieces[:-1]:
        offset += len(piece)
        cuts.append(offset)
    return tuple(cuts)


class TokenConstraint:
    """Which tokens may come next while the generated text must still spell out some given characters.

    Built once per vocabulary: the token byte strings are sorted so that the tokens starting with the
    remaining characters form one contiguous run (found with two bisections), and each shorter prefix of
    them is looked up with one more bisection. Special and control tokens (``None`` or empty pieces) are
    never allowed. Bytes rather than text, so that a character split over several tokens can be spelled.
    """

    def __init__(self, pieces: Sequence[bytes | None]) -> None:
        texts = [piece or b"" for piece in pieces]
        order = sorted((token for token in range(len(texts)) if texts[token]), key=texts.__getitem__)
        self._pieces: list[bytes] = [texts[token] for token in order]
        self.sorted_ids: array[int] = array("i", order)
        """Token ids in the order of their sorted byte strings (``allowed_span`` indexes into it)."""

    @classmethod
    def from_texts(cls, texts: Sequence[str | None]) -> TokenConstraint:
        """Index a vocabulary given as token strings (index = token id; None or "" for special tokens)."""
        return cls([text.encode("utf-8") if text else None for text in texts])

    def __len__(self) -> int:
        return len(self._pieces)

    def allowed_span(
        self, remaining: str | bytes, prefix_sizes: Iterable[int] | None = None
    ) -> tuple[int, int, list[int]]:
        """Where the allowed tokens are: ``(start, stop, prefix_ids)``.

        ``sorted_ids[start:stop]`` are the tokens that start with ``remaining``; ``prefix_ids`` are the
        tokens that are a non-empty proper prefix of it (only of the given sizes in bytes, if any are given).
        """
        key = remaining.encode("utf-8") if isinstance(remaining, str) else remaining
        if not key:
            return 0, 0, []
        start = bisect_left(self._pieces, key)
        stop = start
        if key[-1] == 0xFF:
            while stop < len(self._pieces) and self._pieces[stop].startswith(key):
                stop += 1
        else:
            stop = bisect_left(self._pieces, key[:-1] + bytes([key[-1] + 1]), lo=start)
        prefix_ids: list[int] = []
        sizes = range(1, len(key)) if prefix_sizes is None else sorted(set(prefix_sizes))
        for size in sizes:
            if 0 < size < len(key):
                prefix = key[:size]
                at = bisect_left(self._pieces, prefix, hi=start)  # a proper prefix sorts before ``key``
                while at < start and self._pieces[at] == prefix:
                    prefix_ids.append(self.sorted_ids[at])
                    at += 1
        return start, stop, prefix_ids

    def allowed(self, remaining: str | bytes, prefix_sizes: Iterable[int] | None = None) -> list[int]:
        """Ids of the tokens that start with ``remaining`` or are a non-empty proper prefix of it."""
        start, stop, prefix_ids = self.allowed_span(remaining, prefix_sizes)
        return [*self.sorted_ids[start:stop], *prefix_ids]
