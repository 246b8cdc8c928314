"""Helpers shared by the unit tests: the cursor marker, a stand-in tokenizer, stop-rule feeding, samples."""

from __future__ import annotations

import re

from lsp_server.postprocess.stops import StopRule

CURSOR = "<|>"
_TOKEN = re.compile(r"\w+|[^\w\s]|\n| +|\t+")


def count_words(text: str) -> int:
    """A deterministic stand-in for a tokenizer: words, punctuation, newlines and blank runs."""
    return len(_TOKEN.findall(text))


def split_cursor(source: str) -> tuple[str, int]:
    """Return ``source`` without its one cursor marker, and the marker's offset."""
    assert source.count(CURSOR) == 1
    return source.replace(CURSOR, ""), source.index(CURSOR)


def decode(rule: StopRule, tokens: list[str]) -> str:
    """Feed tokens one at a time like the engine does; return the kept text."""
    generated = ""
    for token in tokens:
        generated += token
        cut = rule.check(generated)
        if cut is not None:
            return generated[:cut]
    return generated


def first_fire(rule: StopRule, text: str) -> tuple[int, int] | None:
    """Return (characters fed when the rule fired, cut), feeding one character at a time."""
    for end in range(1, len(text) + 1):
        cut = rule.check(text[:end])
        if cut is not None:
            return end, cut
    return None


# A C ring buffer: its type with `next_index`, which steps an index round the ring, then its push and pop.
C_RING_TYPE = """struct ring {
    int *data;
    size_t head;
    size_t tail;
    size_t capacity;
};

static size_t next_index(const struct ring *r, size_t index) {
    return (index + 1) % r->capacity;
}
"""

C_RING_PUSH_POP = """int ring_push(struct ring *r, int value) {
    size_t next = next_index(r, r->tail);
    if (next == r->head) {
        return -1;
    }
    r->data[r->tail] = value;
    r->tail = next;
    return 0;
}

int ring_pop(struct ring *r, int *out) {
    if (r->head == r->tail) {
        return -1;
    }
    *out = r->data[r->head];
    r->head = next_index(r, r->head);
    return 0;
}
"""
