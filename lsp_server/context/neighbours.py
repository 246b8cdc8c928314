"""Snippets of the other files the user has open or edited recently, for the completion prompt.

What the user sees: a suggestion that calls a helper from another file gets its name, arguments and
return value right, because the helper's definition is in the prompt (``from .more import take`` and
``take(`` near the cursor bring in ``def take(...)`` from ``more.py``); and code that resembles code in
another open file is completed in the same style, because the most similar chunks of those files are
in the prompt too.

The ring keeps chunks (about ``chunk_lines`` lines, cut between top-level definitions) of the documents
added most recently, newest first; the oldest are dropped when it is full, and a chunk that nearly
repeats a newer one (more than 90% of the same lines) is dropped when the newer one comes in. Each added
document's definitions (top-level ones and class methods) are indexed by name.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath

import attrs
import tree_sitter

from lsp_server.context.languages import (
    SUPPORTED_LANGUAGES,
    detect_language,
    get_language,
    path_of,
    profile_of,
)
from lsp_server.context.syntax_tree import (
    CLASS_TYPES,
    DefinitionSite,
    class_body,
    definition_text,
    definitions_in,
    enclosing_function,
    enclosing_nodes,
    identifiers_in_rows,
    is_container,
    last_row,
    member_definitions,
    render_signature,
    top_level_nodes,
)
from lsp_server.memory import ENTRY_OVERHEAD, CacheSize, text_bytes

CountTokens = Callable[[str], int]

_WORD = re.compile(r"[A-Za-z_$][\w$]*")
# Words that say nothing about what code is about: keywords and the most common names of the languages.
_STOP_WORDS = frozenset(
    {
        "and",
        "as",
        "assert",
        "async",
        "auto",
        "await",
        "bool",
        "break",
        "case",
        "catch",
        "char",
        "class",
        "const",
        "continue",
        "def",
        "default",
        "defer",
        "del",
        "do",
        "double",
        "elif",
        "else",
        "end",
        "enum",
        "err",
        "except",
        "export",
        "extends",
        "false",
        "final",
        "finally",
        "float",
        "fn",
        "for",
        "from",
        "func",
        "function",
        "go",
        "if",
        "impl",
        "import",
        "in",
        "int",
        "interface",
        "is",
        "let",
        "local",
        "long",
        "match",
        "mod",
        "mut",
        "new",
        "nil",
        "none",
        "not",
        "null",
        "ok",
        "or",
        "package",
        "pass",
        "private",
        "protected",
        "pub",
        "public",
        "raise",
        "ref",
        "return",
        "self",
        "static",
        "str",
        "string",
        "struct",
        "super",
        "switch",
        "then",
        "this",
        "throw",
        "true",
        "try",
        "type",
        "unsigned",
        "use",
        "var",
        "void",
        "while",
        "with",
        "yield",
    }
)
# A definition is shown whole up to this many lines, else as its signature (and docstring).
_SHORT_DEFINITION_LINES = 30
# At most this many definitions of other files per pick, and identifiers looked at.
_MAX_DEFINITIONS = 8
_MAX_IDENTIFIERS = 64
# A chunk that has more than this share of its lines in the local context only repeats it.
_REPEAT_SHARE = 0.5
_DUPLICATE_SIMILARITY = 0.9


@attrs.frozen
class Snippet:
    """Code from another file for the prompt."""

    uri: str
    path: str
    """The file's path (relative to the ring's root when it has one)."""
    text: str
    score: float
    """Definitions: 1.0; chunks: the Jaccard similarity of their names with the local context."""
    kind: str
    """``definition`` (of a name used near the cursor) or ``chunk`` (similar code)."""


@attrs.frozen
class _Chunk:
    uri: str
    path: str
    text: str
    first_row: int
    lines: frozenset[str]
    words: frozenset[str]


@attrs.frozen
class _Definition:
    uri: str
    path: str
    name: str
    family: str
    """The language family (C and C++ are one, so are JavaScript and TypeScript)."""
    text: str
    """The whole definition when short, else its signature."""
    signature: str
    whole: bool
    """Whether ``text`` is the whole definition (with its body)."""


def relative_path(uri: str, root: str | None) -> str:
    """The path of ``uri`` relative to ``root`` when it lies inside it, else the whole path."""
    path = path_of(uri)
    if root:
        prefix = path_of(root).rstrip("/") + "/"
        if path.startswith(prefix):
            return path[len(prefix) :]
    return path


def _line_set(text: str) -> frozenset[str]:
    return frozenset(line.strip() for line in text.split("\n") if line.strip())


def _word_set(text: str) -> frozenset[str]:
    return frozenset(
        word for word in set(_WORD.findall(text)) if len(word) > 2 and word.lower() not in _STOP_WORDS
    )


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def _cut_rows(root: tree_sitter.Node, language: str, chunk_lines: int) -> list[int]:
    """Rows a chunk may start at: top-level definitions, and the members of the long ones."""
    rows = set()
    for node in top_level_nodes(root):
        rows.add(node.start_point.row)
        if last_row(node) - node.start_point.row + 1 <= chunk_lines:
            continue
        body = class_body(node) if node.type in CLASS_TYPES.get(language, frozenset()) else None
        if body is None:
            body = next((child for child in node.named_children if is_container(child, language)), None)
        if body is not None:
            rows.update(child.start_point.row for child in body.named_children)
            rows.add(last_row(node) + 1)
    return sorted(rows)


def _chunk_spans(lines: list[str], cuts: list[int], chunk_lines: int) -> list[tuple[int, int]]:
    """(first, last) rows of chunks of at most ``chunk_lines`` lines, ending before a cut row if possible."""
    spans = []
    cut_rows = sorted(set(cuts) | {len(lines)})
    start = 0
    while start < len(lines):
        limit = start + chunk_lines
        index = bisect.bisect_right(cut_rows, limit) - 1  # the last cut row at or before the limit
        end = cut_rows[index] if index >= 0 and cut_rows[index] > start else min(limit, len(lines))
        spans.append((start, end - 1))
        start = end
    return spans


class SnippetRing:
    """Chunks and definitions of recently added documents, for picking prompt snippets.

    A document brings at most ``max_chunks // 2`` chunks (its first ones), so that one big file does
    not push every other file out of the ring; its definitions are all indexed.
    """

    def __init__(self, max_chunks: int = 32, chunk_lines: int = 32, *, root: str | None = None) -> None:
        self.max_chunks = max_chunks
        self.chunk_lines = chunk_lines
        self.root = root
        self._chunks: list[_Chunk] = []  # newest first
        self._definitions: dict[str, dict[str, list[_Definition]]] = {}
        self._recency: dict[str, int] = {}
        self._clock = 0
        self._parsers: dict[str, tree_sitter.Parser] = {}
        self._lock = threading.Lock()
        self._parse_lock = threading.Lock()

    def _parse(self, language: str, source: bytes) -> tree_sitter.Tree:
        with self._parse_lock:  # a parser is not thread-safe
            parser = self._parsers.get(language)
            if parser is None:
                parser = tree_sitter.Parser(get_language(language))
                self._parsers[language] = parser
            return parser.parse(source)

    def add_document(
        self, uri: str, language: str | None, text: str, *, tree: tree_sitter.Tree | None = None
    ) -> None:
        """Chunk and index a document (on open, and after edits); it replaces what the uri had before.

        ``tree``, when given, must be the parse of exactly ``text`` (it saves a parse). The work is done
        before the ring is locked: a pick never waits for a big file to be indexed.
        """
        canonical = language if language in SUPPORTED_LANGUAGES else detect_language(language, uri)
        path = relative_path(uri, self.root)
        lines = text.split("\n")
        definitions: dict[str, list[_Definition]] = {}
        cuts: list[int] = []
        if canonical is not None:
            source = text.encode("utf-8")
            if tree is None:
                tree = self._parse(canonical, source)
            cuts = _cut_rows(tree.root_node, canonical, self.chunk_lines)
            for site, owner in _indexed_sites(tree.root_node, canonical, source):
                definition = _definition(site, owner, (uri, path, canonical), source, lines)
                definitions.setdefault(site.name, []).append(definition)
        chunks: list[_Chunk] = []
        for first, last in _chunk_spans(lines, cuts, self.chunk_lines):
            if len(chunks) >= max(1, self.max_chunks // 2):
                break
            body = "\n".join(lines[first : last + 1]).strip("\n")
            line_set = _line_set(body)
            if len(line_set) >= 2:
                chunks.append(_Chunk(uri, path, body + "\n", first, line_set, _word_set(body)))
        with self._lock:
            self._clock += 1
            self._recency[uri] = self._clock
            self._definitions[uri] = definitions
            self._insert(uri, chunks)

    def _insert(self, uri: str, chunks: list[_Chunk]) -> None:
        """Put a document's chunks in front; drop near-duplicates among the older ones, then the oldest."""
        kept = [chunk for chunk in self._chunks if chunk.uri != uri]
        fresh: list[_Chunk] = []
        for chunk in chunks:
            if any(_jaccard(chunk.lines, other.lines) > _DUPLICATE_SIMILARITY for other in fresh):
                continue
            kept = [other for other in kept if _jaccard(chunk.lines, other.lines) <= _DUPLICATE_SIMILARITY]
            fresh.append(chunk)
        self._chunks = (fresh + kept)[: self.max_chunks]

    def chunk_origins(self) -> list[tuple[str, int]]:
        """(uri, first row) of the chunks held, newest first (for tests and stats)."""
        with self._lock:
            return [(chunk.uri, chunk.first_row) for chunk in self._chunks]

    def remove_document(self, uri: str) -> None:
        """Forget a document's chunks and definitions."""
        with self._lock:
            self._chunks = [chunk for chunk in self._chunks if chunk.uri != uri]
            self._definitions.pop(uri, None)
            self._recency.pop(uri, None)

    def size(self) -> CacheSize:
        """Bytes of the chunks' and definitions' texts held, and the number of both."""
        with self._lock:
            total = entries = 0
            for chunk in self._chunks:
                total += text_bytes(chunk.text) + 32 * (len(chunk.lines) + len(chunk.words)) + ENTRY_OVERHEAD
                entries += 1
            for by_name in self._definitions.values():
                for definitions in by_name.values():
                    for definition in definitions:
                        total += (
                            text_bytes(definition.text) + text_bytes(definition.signature) + ENTRY_OVERHEAD
                        )
                        entries += 1
            return CacheSize(total, entries)

    def pick(
        self,
        uri: str,
        language: str | None,
        local_context: str,
        identifiers: Iterable[str],
        budget_tokens: int,
        count_tokens: CountTokens,
    ) -> list[Snippet]:
        """Snippets for a prompt at ``uri``, most useful first, within ``budget_tokens``.

        First the definitions, in other documents, of the ``identifiers`` used near the cursor that the
        current document does not define itself (whole when short, else the signature); then the chunks
        of other documents whose names are most like those of ``local_context``, leaving out chunks that
        would mostly repeat it. ``language`` is the current document's: a definition in the same language
        (family: C/C++, JavaScript/TypeScript) wins over one of the same name in another.
        """
        family = _family(language) if language in SUPPORTED_LANGUAGES and language is not None else None
        with self._lock:
            chunks = list(self._chunks)
            index = dict(self._definitions)  # each document's index is replaced whole, never changed
            recency = dict(self._recency)
        local_lines = _line_set(local_context)
        local_words = _word_set(local_context)
        picked: list[Snippet] = []
        used = 0
        own = index.get(uri, {})
        costs: list[int] = []
        line_sets: list[frozenset[str]] = []
        names = list(dict.fromkeys(identifiers))[:_MAX_IDENTIFIERS]
        for name in names:
            if len(picked) >= _MAX_DEFINITIONS:
                break
            if name in own:
                continue  # the current document defines it: the model sees it there
            candidates = [d for other, defs in index.items() if other != uri for d in defs.get(name, ())]
            if not candidates:
                continue
            best = max(candidates, key=lambda d: _definition_rank(d, family, local_words, recency))
            for text in dict.fromkeys((best.text, best.signature)):
                lines = _line_set(text)
                # A class picked after some of its methods replaces them ...
                inside = [i for i, s in enumerate(picked) if s.uri == best.uri and line_sets[i] <= lines]
                shown = frozenset().union(*(seen for i, seen in enumerate(line_sets) if i not in inside))
                if len(lines & shown) > _REPEAT_SHARE * len(lines):
                    break  # ... and what is mostly shown already is not shown twice
                cost = count_tokens(text)
                if used - sum(costs[i] for i in inside) + cost > budget_tokens:
                    continue
                for i in reversed(inside):
                    used -= costs.pop(i)
                    del picked[i], line_sets[i]
                picked.append(Snippet(best.uri, best.path, text, 1.0, "definition"))
                costs.append(cost)
                line_sets.append(lines)
                used += cost
                break
        picked_lines = set().union(*line_sets)
        scored = []
        for chunk in chunks:
            if chunk.uri == uri:
                continue
            if len(chunk.lines & local_lines) > _REPEAT_SHARE * len(chunk.lines):
                continue  # it would mostly repeat what the model already sees
            if len(chunk.lines & picked_lines) > _REPEAT_SHARE * len(chunk.lines):
                continue  # mostly a definition already picked
            score = _jaccard(chunk.words, local_words)
            if score > 0:
                scored.append((score, recency.get(chunk.uri, 0), -chunk.first_row, chunk))
        scored.sort(key=lambda item: item[:3], reverse=True)
        for score, _, _, chunk in scored:
            if budget_tokens - used <= 0:
                break
            cost = count_tokens(chunk.text)
            if used + cost > budget_tokens:
                continue
            picked.append(Snippet(chunk.uri, chunk.path, chunk.text, score, "chunk"))
            used += cost
        return picked


def _definition_rank(
    definition: _Definition, family: str | None, local_words: frozenset[str], recency: dict[str, int]
) -> tuple[int, int, int, int]:
    """Rank candidates of one name: same language, named by the local code (its import), whole, recent."""
    stem = PurePosixPath(definition.path).stem
    return (
        int(definition.family == family),
        int(stem in local_words),
        int(definition.whole),
        recency.get(definition.uri, 0),
    )


def _indexed_sites(
    root: tree_sitter.Node, language: str, source: bytes
) -> list[tuple[DefinitionSite, tree_sitter.Node | None]]:
    """Top-level definitions, and the members of top-level classes (impl blocks too) with their class."""
    sites: list[tuple[DefinitionSite, tree_sitter.Node | None]] = []
    classes = CLASS_TYPES.get(language, frozenset())
    for node in top_level_nodes(root):
        sites.extend((site, None) for site in definitions_in(node, language, source))
        inner: tree_sitter.Node | None = node
        while inner is not None and inner.type not in classes:
            inner = inner.child_by_field_name("definition") or inner.child_by_field_name("declaration")
        if inner is not None:
            sites.extend((site, inner) for site in member_definitions(inner, language, source))
    return sites


def _family(language: str) -> str:
    profile = profile_of(language)
    return profile.family_name if profile is not None else language


def _definition(
    site: DefinitionSite,
    owner: tree_sitter.Node | None,
    document: tuple[str, str, str],
    source: bytes,
    lines: list[str],
) -> _Definition:
    """What a pick shows of a definition: whole when short, else its signature.

    A method comes with the first line of its class (and the closing brace).
    """
    uri, path, language = document
    signature = render_signature(site, source, lines, language)
    whole = site.end_row - site.start_row + 1 <= _SHORT_DEFINITION_LINES
    text = definition_text(site, lines) if whole else signature
    if owner is not None:
        header = lines[owner.start_point.row]
        indent = header[: len(header) - len(header.lstrip())]
        closer = indent + "}" if header.rstrip().endswith("{") else ""
        text = "\n".join(part for part in (header, text, closer) if part)
        signature = "\n".join(part for part in (header, signature, closer) if part)
    return _Definition(
        uri,
        path,
        site.name,
        _family(language),
        text.rstrip("\n") + "\n",
        signature.rstrip("\n") + "\n",
        whole,
    )


def referenced_identifiers(
    tree: tree_sitter.Tree,
    source: bytes,
    language: str,
    cursor_byte: int,
    *,
    max_count: int = _MAX_IDENTIFIERS,
    rows_around: int = 80,
    lines: list[str] | None = None,
    cursor_row: int | None = None,
) -> list[str]:
    """Identifiers near the cursor, most relevant first (``lines``, ``cursor_row``: when at hand).

    The cursor line's first, then those of the enclosing function, nearest to the cursor first (outside
    any function: those of the lines around the cursor).
    """
    if language not in SUPPORTED_LANGUAGES:
        return []
    cursor_byte = min(max(cursor_byte, 0), len(source))
    if lines is None:
        lines = source.decode("utf-8", errors="replace").split("\n")
    row = source.count(b"\n", 0, cursor_byte) if cursor_row is None else cursor_row
    line_start = source.rfind(b"\n", 0, cursor_byte) + 1
    column = len(source[line_start:cursor_byte].decode("utf-8", errors="replace"))
    chain = enclosing_nodes(tree, lines, language, row, column)
    function = enclosing_function(chain, language, source)
    if function is not None:
        first = max(function.start_point.row, row - rows_around)
        last = min(last_row(function), row + rows_around)
    else:
        first, last = max(0, row - rows_around // 4), row + rows_around // 4
    found = identifiers_in_rows(tree, source, language, first, max(last, row))
    found.sort(
        key=lambda item: (abs(item[1] - row), item[1] > row, abs(item[2] - (cursor_byte - line_start)))
    )
    return list(dict.fromkeys(name for name, _, _ in found))[:max_count]
