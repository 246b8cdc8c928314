"""Snippets of other files: definitions of the names used near the cursor, then similar chunks."""

from __future__ import annotations

import pytest

from lsp_server.context.languages import parse
from lsp_server.context.neighbours import Snippet, SnippetRing, referenced_identifiers
from tests.helpers import C_RING_PUSH_POP, C_RING_TYPE, count_words, split_cursor

MORE_PY = '''"""Small helpers for sequences of numbers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def take(items: Iterable[int], count: int) -> list[int]:
    """The first ``count`` items, as a list."""
    result = []
    for item in items:
        if len(result) >= count:
            break
        result.append(item)
    return result


def chunked(items: list[int], size: int) -> Iterator[list[int]]:
    """Consecutive slices of ``size`` items; the last one may be shorter."""
    if size <= 0:
        raise ValueError("size must be positive")
    for start in range(0, len(items), size):
        yield items[start : start + size]


def summarize(values: list[int], *, precision: int = 2) -> dict[str, float]:
    """Count, sum, mean, min, max and spread of ``values``.

    An empty list gives zeros everywhere.
    """
    if not values:
        return {"count": 0, "sum": 0, "mean": 0.0, "min": 0, "max": 0, "spread": 0}
    total = 0
    low = values[0]
    high = values[0]
    for value in values:
        total += value
        if value < low:
            low = value
        if value > high:
            high = value
    mean = total / len(values)
    squares = 0.0
    for value in values:
        squares += (value - mean) ** 2
    spread = (squares / len(values)) ** 0.5
    return {
        "count": len(values),
        "sum": total,
        "mean": round(mean, precision),
        "min": low,
        "max": high,
        "spread": round(spread, precision),
    }


class Window:
    """A sliding window over a stream of numbers."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.values: list[int] = []

    def push(self, value: int) -> None:
        """Add a value, dropping the oldest when full."""
        self.values.append(value)
        if len(self.values) > self.size:
            self.values.pop(0)

    def mean(self) -> float:
        return sum(self.values) / len(self.values) if self.values else 0.0
'''

MAIN_PY = """from __future__ import annotations

from .more import Window, summarize, take


def first_batch(values: list[int]) -> dict[str, float]:
    window = Window(5)
    for value in values:
        window.push(value)
    batch = take(values, 10)
    report = summarize(batch)
    return report


def moving(values: list[int]) -> list[float]:
    window = Window(3)
    means = []
    for value in values:
        window.push(value)
        means.append(window.mean())
    return means


def head(values: list[int]) -> list[int]:
    first = take(<|>
"""

FORMAT_TS = """export function formatBytes(bytes: number): string {
  if (bytes < 1024) {
    return `${bytes} B`;
  }
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

export class Table {
  private rows: string[][] = [];

  addRow(...cells: string[]): void {
    this.rows.push(cells);
  }

  render(): string {
    return this.rows.map((row) => row.join(" | ")).join("\\n");
  }
}
"""

REPORT_TS = """import { formatBytes, Table } from "./format";

export function sizeReport(files: Map<string, number>): string {
  const table = new Table();
  for (const [name, size] of files) {
    table.addRow(name, formatBytes(<|>));
  }
  return table.render();
}
"""

STORE_GO = """package cache

import (
\t"strings"
\t"sync"
)

// Store is a string map safe for concurrent use.
type Store struct {
\tmu      sync.Mutex
\tentries map[string]string
}

// NewStore returns an empty store.
func NewStore() *Store {
\treturn &Store{entries: make(map[string]string)}
}

// normalizeKey lower-cases a key and trims its spaces.
func normalizeKey(key string) string {
\treturn strings.ToLower(strings.TrimSpace(key))
}

// Get returns the value under key.
func (s *Store) Get(key string) (string, bool) {
\ts.mu.Lock()
\tdefer s.mu.Unlock()
\tvalue, ok := s.entries[normalizeKey(key)]
\treturn value, ok
}
"""

REPORT_GO = """package cache

import "fmt"

// Describe prints the value under key.
func Describe(s *Store, key string) string {
\tkey = normalizeKey(key)
\tvalue, ok := s.Get(<|>)
\tif !ok {
\t\treturn fmt.Sprintf("%s: missing", key)
\t}
\treturn fmt.Sprintf("%s=%s", key, value)
}
"""

RING_H = """#ifndef RING_H
#define RING_H

#include <stddef.h>

struct ring;

struct ring *ring_new(size_t capacity);
void ring_free(struct ring *r);
int ring_push(struct ring *r, int value);
int ring_pop(struct ring *r, int *out);

#endif
"""

RING_C = (
    """#include <stdlib.h>
#include "ring.h"

"""
    + C_RING_TYPE
    + """
struct ring *ring_new(size_t capacity) {
    struct ring *r = malloc(sizeof *r);
    r->data = calloc(capacity, sizeof *r->data);
    r->head = r->tail = 0;
    r->capacity = capacity;
    return r;
}

void ring_free(struct ring *r) {
    free(r->data);
    free(r);
}

"""
    + C_RING_PUSH_POP
)

MAIN_C = """#include <stdio.h>
#include "ring.h"

int main(void) {
    struct ring *r = ring_new(8);
    for (int i = 0; i < 10; i++) {
        if (ring_push(r, <|>) != 0) {
            printf("full at %d\\n", i);
        }
    }
    ring_free(r);
    return 0;
}
"""


def names_near_cursor(language: str, source: str) -> tuple[str, list[str]]:
    text, cursor = split_cursor(source)
    cursor_byte = len(text[:cursor].encode("utf-8"))
    tree = parse(language, text)
    return text, referenced_identifiers(tree, text.encode("utf-8"), language, cursor_byte)


def pick_for(
    ring: SnippetRing, uri: str, language: str, source: str, budget: int = 2000
) -> tuple[str, list[Snippet]]:
    text, names = names_near_cursor(language, source)
    ring.add_document(uri, language, text)
    return text, ring.pick(uri, language, text, names, budget, count_words)


def definitions(snippets: list[Snippet]) -> list[Snippet]:
    return [s for s in snippets if s.kind == "definition"]


def test_python_definition_of_an_imported_name_with_its_body() -> None:
    ring = SnippetRing()
    ring.add_document("file:///proj/pkg/more.py", "python", MORE_PY)
    _, snippets = pick_for(ring, "file:///proj/pkg/main.py", "python", MAIN_PY)
    found = definitions(snippets)
    assert found, snippets
    take = found[0]  # `take(` is right before the cursor
    assert take.path == "/proj/pkg/more.py"
    assert take.uri == "file:///proj/pkg/more.py"
    assert take.text.startswith("def take(items: Iterable[int], count: int) -> list[int]:\n")
    assert "    return result\n" in take.text  # short: the whole body
    assert take.score == 1.0


def test_long_definition_comes_as_signature_and_docstring() -> None:
    ring = SnippetRing()
    ring.add_document("file:///proj/pkg/more.py", "python", MORE_PY)
    text, _ = split_cursor(MAIN_PY)
    ring.add_document("file:///proj/pkg/main.py", "python", text)
    snippets = ring.pick(
        "file:///proj/pkg/main.py", "python", "report = summarize(batch)", ["summarize"], 500, len
    )
    assert [s.kind for s in snippets][:1] == ["definition"]
    assert snippets[0].text == (
        "def summarize(values: list[int], *, precision: int = 2) -> dict[str, float]:\n"
        '    """Count, sum, mean, min, max and spread of ``values``."""\n'
        "    ...\n"
    )


def test_method_comes_with_its_class_line() -> None:
    ring = SnippetRing()
    ring.add_document("file:///proj/pkg/more.py", "python", MORE_PY)
    snippets = ring.pick(
        "file:///proj/pkg/main.py", "python", "window.push(value)", ["push"], 500, count_words
    )
    assert snippets[0].kind == "definition"
    assert snippets[0].text.startswith("class Window:\n    def push(self, value: int) -> None:\n")


def test_typescript_function_and_method_of_an_imported_class() -> None:
    ring = SnippetRing()
    ring.add_document("file:///proj/src/format.ts", "typescript", FORMAT_TS)
    _, snippets = pick_for(ring, "file:///proj/src/report.ts", "typescript", REPORT_TS)
    texts = [s.text for s in definitions(snippets)]
    assert any(t.startswith("export function formatBytes(bytes: number): string {") for t in texts), texts
    # `addRow` and `render` are methods of `Table`, also used: the short class, whole, stands for all three.
    assert [t for t in texts if "addRow(" in t] == [FORMAT_TS[FORMAT_TS.index("export class Table") :]]


def test_typescript_method_alone_comes_inside_its_class_braces() -> None:
    ring = SnippetRing()
    ring.add_document("file:///proj/src/format.ts", "typescript", FORMAT_TS)
    snippets = ring.pick(
        "file:///proj/src/report.ts", "typescript", "table.addRow(a, b)", ["addRow"], 500, len
    )
    assert snippets[0].text == (
        "export class Table {\n  addRow(...cells: string[]): void {\n    this.rows.push(cells);\n  }\n}\n"
    )


def test_go_definition_from_another_file_of_the_package() -> None:
    ring = SnippetRing()
    ring.add_document("file:///proj/cache/store.go", "go", STORE_GO)
    _, snippets = pick_for(ring, "file:///proj/cache/report.go", "go", REPORT_GO)
    texts = [s.text for s in definitions(snippets)]
    assert any(
        t.startswith("// Get returns the value under key.\nfunc (s *Store) Get(key string)") for t in texts
    )
    assert any("func normalizeKey(key string) string {" in t for t in texts)
    # A definition of the current file is not fetched from elsewhere (Describe is defined here).
    assert not any("func Describe" in t for t in texts)


def test_c_prefers_the_definition_with_its_body_over_the_prototype() -> None:
    ring = SnippetRing()
    ring.add_document("file:///proj/ring.h", "c", RING_H)
    ring.add_document("file:///proj/ring.c", "c", RING_C)
    _, snippets = pick_for(ring, "file:///proj/main.c", "c", MAIN_C)
    texts = [s.text for s in definitions(snippets)]
    push = next(t for t in texts if "ring_push" in t)
    assert push.startswith("int ring_push(struct ring *r, int value) {")
    assert "r->tail = next;" in push


def test_c_header_prototype_when_there_is_no_source() -> None:
    ring = SnippetRing()
    ring.add_document("file:///proj/ring.h", "c", RING_H)
    _, snippets = pick_for(ring, "file:///proj/main.c", "c", MAIN_C)
    texts = [s.text for s in definitions(snippets)]
    assert "int ring_push(struct ring *r, int value);\n" in texts


def test_definitions_come_first_then_chunks_by_similarity() -> None:
    ring = SnippetRing(chunk_lines=12)
    ring.add_document("file:///proj/pkg/more.py", "python", MORE_PY)
    _, snippets = pick_for(ring, "file:///proj/pkg/main.py", "python", MAIN_PY)
    kinds = [s.kind for s in snippets]
    assert kinds == sorted(kinds, key=lambda kind: kind != "definition")
    assert "chunk" in kinds
    chunk_scores = [s.score for s in snippets if s.kind == "chunk"]
    assert chunk_scores == sorted(chunk_scores, reverse=True)
    assert all(0 < score <= 1 for score in chunk_scores)
    assert all(s.uri == "file:///proj/pkg/more.py" for s in snippets)  # never the current file


@pytest.mark.parametrize("budget", [0, 5, 20, 60, 150, 400, 5000])
def test_budget_is_respected(budget: int) -> None:
    ring = SnippetRing(chunk_lines=10)
    ring.add_document("file:///proj/ring.h", "c", RING_H)
    ring.add_document("file:///proj/ring.c", "c", RING_C)
    ring.add_document("file:///proj/pkg/more.py", "python", MORE_PY)
    text, names = names_near_cursor("c", MAIN_C)
    snippets = ring.pick("file:///proj/main.c", "c", text, names, budget, count_words)
    assert sum(count_words(s.text) for s in snippets) <= budget
    if budget >= 150:
        assert definitions(snippets)


def test_chunks_that_repeat_the_local_context_are_skipped() -> None:
    ring = SnippetRing(chunk_lines=12)
    ring.add_document("file:///proj/pkg/more.py", "python", MORE_PY)
    words = "items values count size value window mean result total"
    chunks = [s.text for s in ring.pick("file:///other.py", "python", words, [], 5000, count_words)]
    assert len(chunks) >= 3
    # With one chunk's code already in front of the model, that chunk would only repeat it.
    again = [s.text for s in ring.pick("file:///other.py", "python", chunks[0], [], 5000, count_words)]
    assert chunks[0] not in again
    assert set(again) & set(chunks[1:])
    # The whole file in front of the model: nothing left to add.
    assert ring.pick("file:///other.py", "python", MORE_PY, [], 5000, count_words) == []


def test_near_duplicate_chunk_evicts_the_older_one() -> None:
    ring = SnippetRing(chunk_lines=40)
    ring.add_document("file:///proj/a/store.go", "go", STORE_GO)
    assert {uri for uri, _ in ring.chunk_origins()} == {"file:///proj/a/store.go"}
    copy = STORE_GO.replace("// NewStore returns an empty store.", "// NewStore returns a new, empty store.")
    ring.add_document("file:///proj/b/store.go", "go", copy)
    origins = ring.chunk_origins()
    assert {uri for uri, _ in origins} == {"file:///proj/b/store.go"}
    # A chunk that differs a lot stays.
    ring.add_document("file:///proj/c/ring.c", "c", RING_C)
    assert {uri for uri, _ in ring.chunk_origins()} == {"file:///proj/b/store.go", "file:///proj/c/ring.c"}


def test_ring_keeps_the_newest_chunks_when_full() -> None:
    ring = SnippetRing(max_chunks=4, chunk_lines=10)
    ring.add_document("file:///proj/store.go", "go", STORE_GO)
    ring.add_document("file:///proj/ring.c", "c", RING_C)
    ring.add_document("file:///proj/format.ts", "typescript", FORMAT_TS)
    origins = ring.chunk_origins()
    assert len(origins) == 4
    assert origins[0][0] == "file:///proj/format.ts"
    assert "file:///proj/store.go" not in {uri for uri, _ in origins}  # the oldest went first
    # Re-adding a document replaces its chunks and makes it the newest.
    ring.add_document("file:///proj/ring.c", "c", RING_C)
    assert ring.chunk_origins()[0][0] == "file:///proj/ring.c"
    assert sum(uri == "file:///proj/ring.c" for uri, _ in ring.chunk_origins()) == 2


def test_chunks_are_cut_between_top_level_definitions() -> None:
    ring = SnippetRing(max_chunks=64, chunk_lines=20)
    ring.add_document("file:///proj/ring.c", "c", RING_C)
    words = "ring data head tail capacity value out next free"
    texts = [s.text for s in ring.pick("file:///x.c", "c", words, [], 10**6, len)]
    assert len(texts) >= 3
    assert "".join(sorted(texts, key=RING_C.index)).replace("\n", "") == RING_C.replace("\n", "")
    for text in texts:
        assert text.count("\n") <= 20
        first = text.split("\n", 1)[0]
        assert not first.startswith((" ", "\t", "}")), first  # starts at a top-level line
        assert text.rstrip().endswith(("}", "};", '"ring.h"')), text


def test_remove_document_forgets_chunks_and_definitions() -> None:
    ring = SnippetRing()
    ring.add_document("file:///proj/pkg/more.py", "python", MORE_PY)
    ring.remove_document("file:///proj/pkg/more.py")
    assert ring.chunk_origins() == []
    assert ring.pick("file:///proj/pkg/main.py", "python", MAIN_PY, ["take", "summarize"], 1000, len) == []


def test_unknown_language_still_gives_line_chunks() -> None:
    ring = SnippetRing(chunk_lines=8)
    notes = "\n".join(f"step {i}: mix flour sugar butter and eggs" for i in range(20)) + "\n"
    ring.add_document("file:///proj/recipe.txt", None, notes)
    snippets = ring.pick("file:///proj/other.txt", None, "mix flour sugar butter", [], 1000, count_words)
    assert snippets and all(s.kind == "chunk" for s in snippets)
    assert all(s.text.count("\n") <= 8 for s in snippets)


def test_referenced_identifiers_cursor_line_first() -> None:
    _, names = names_near_cursor("python", MAIN_PY)
    assert names[:2] == ["first", "take"] or names[0] == "take"
    assert "values" in names
    # Names of other functions in the file are not near the cursor.
    assert "moving" not in names and "means" not in names


@pytest.mark.parametrize(
    ("language", "source", "expected"),
    [
        ("typescript", REPORT_TS, ["name", "addRow", "table"]),
        ("go", REPORT_GO, ["Get", "s", "value"]),
        ("c", MAIN_C, ["r", "ring_push"]),
    ],
)
def test_referenced_identifiers_per_language(language: str, source: str, expected: list[str]) -> None:
    _, names = names_near_cursor(language, source)
    for name in expected:
        assert name in names[:8], names
