"""Which language a document is in, and a cached tree-sitter parser for it.

What the user sees: completions are shaped by syntax (block openers, strings, identifiers) for
Python, JavaScript, TypeScript/TSX, Go, Rust, C, C++, Java and Lua; any other file still gets
completions, decided by plain-text rules only. The language comes from the editor's languageId
first and from the file extension otherwise.
"""

from __future__ import annotations

import functools
import posixpath
import urllib.parse
from collections.abc import Callable

import tree_sitter
import tree_sitter_c
import tree_sitter_cpp
import tree_sitter_go
import tree_sitter_java
import tree_sitter_javascript
import tree_sitter_lua
import tree_sitter_python
import tree_sitter_rust
import tree_sitter_typescript

SUPPORTED_LANGUAGES: tuple[str, ...] = (
    "python",
    "javascript",
    "typescript",
    "tsx",
    "go",
    "rust",
    "c",
    "cpp",
    "java",
    "lua",
)
"""Canonical language names, each backed by a tree-sitter grammar wheel."""


def _language_id_table() -> dict[str, str]:
    # LSP languageId (lower-cased) -> canonical name; a few non-standard aliases included.
    return {
        "python": "python",
        "javascript": "javascript",
        "javascriptreact": "javascript",
        "jsx": "javascript",
        "typescript": "typescript",
        "typescriptreact": "tsx",
        "tsx": "tsx",
        "go": "go",
        "rust": "rust",
        "c": "c",
        "cpp": "cpp",
        "java": "java",
        "lua": "lua",
    }


def _extension_table() -> dict[str, str]:
    # File extension (lower-cased, with dot) -> canonical name.
    return {
        ".py": "python",
        ".pyi": "python",
        ".js": "javascript",
        ".mjs": "javascript",
        ".cjs": "javascript",
        ".jsx": "javascript",
        ".ts": "typescript",
        ".mts": "typescript",
        ".cts": "typescript",
        ".tsx": "tsx",
        ".go": "go",
        ".rs": "rust",
        ".c": "c",
        ".h": "c",
        ".cc": "cpp",
        ".cpp": "cpp",
        ".cxx": "cpp",
        ".hpp": "cpp",
        ".hh": "cpp",
        ".java": "java",
        ".lua": "lua",
    }


def path_of(uri_or_path: str) -> str:
    """Return the path part of a URI (``file:///a/b.py``) or the input itself if it is a path."""
    parsed = urllib.parse.urlsplit(uri_or_path)
    # A one-letter scheme is a Windows drive ("C:\\x\\y.py"), not a URI scheme.
    if len(parsed.scheme) > 1:
        return urllib.parse.unquote(parsed.path)
    return uri_or_path


def detect_language(language_id: str | None, uri_or_path: str) -> str | None:
    """Return the canonical language name from the LSP languageId, else the file extension."""
    if language_id:
        by_id = _language_id_table().get(language_id.strip().lower())
        if by_id is not None:
            return by_id
    path = path_of(uri_or_path).replace("\\", "/")
    _, ext = posixpath.splitext(posixpath.basename(path))
    return _extension_table().get(ext.lower())


def _grammar_loaders() -> dict[str, Callable[[], object]]:
    return {
        "python": tree_sitter_python.language,
        "javascript": tree_sitter_javascript.language,
        "typescript": tree_sitter_typescript.language_typescript,
        "tsx": tree_sitter_typescript.language_tsx,
        "go": tree_sitter_go.language,
        "rust": tree_sitter_rust.language,
        "c": tree_sitter_c.language,
        "cpp": tree_sitter_cpp.language,
        "java": tree_sitter_java.language,
        "lua": tree_sitter_lua.language,
    }


@functools.cache
def get_language(language: str) -> tree_sitter.Language:
    """Return the (cached) tree-sitter Language for a canonical name; ValueError if unsupported."""
    loader = _grammar_loaders().get(language)
    if loader is None:
        raise ValueError(f"unsupported language: {language!r}")
    return tree_sitter.Language(loader())


@functools.cache
def get_parser(language: str) -> tree_sitter.Parser:
    """Return the (cached, shared, not thread-safe) parser for a canonical language name."""
    return tree_sitter.Parser(get_language(language))


def parse(language: str, text: str) -> tree_sitter.Tree:
    """Parse ``text`` (encoded as UTF-8) with the language's cached parser."""
    return get_parser(language).parse(text.encode("utf-8"))
