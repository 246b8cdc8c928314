"""Which language a document is in, and a cached tree-sitter parser for it.

What the user sees: completions are shaped by syntax (block openers, strings, identifiers) for every
language with a profile in ``lsp_server.languages``; any other file still gets completions, decided by
plain-text rules only. The language comes from the editor's languageId first, then the file extension,
then the whole file name.
"""

from __future__ import annotations

import functools
import posixpath
import urllib.parse

import tree_sitter

from lsp_server import languages
from lsp_server.languages import LanguageProfile

SUPPORTED_LANGUAGES: tuple[str, ...] = tuple(languages.profiles())
"""Canonical language names, each backed by a tree-sitter grammar wheel (one profile each)."""


def profile_of(language: str | None) -> LanguageProfile | None:
    """The profile of a canonical language name; None for an unknown or no language."""
    return languages.get(language)


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
        by_id = languages.by_language_id(language_id)
        if by_id is not None:
            return by_id
    name = posixpath.basename(path_of(uri_or_path).replace("\\", "/"))
    _, ext = posixpath.splitext(name)
    return languages.by_extension(ext) or languages.by_file_name(name)


@functools.cache
def get_language(language: str) -> tree_sitter.Language:
    """Return the (cached) tree-sitter Language for a canonical name; ValueError if unsupported."""
    profile = languages.get(language)
    if profile is None:
        raise ValueError(f"unsupported language: {language!r}")
    return tree_sitter.Language(profile.grammar())


@functools.cache
def get_parser(language: str) -> tree_sitter.Parser:
    """Return the (cached, shared, not thread-safe) parser for a canonical language name."""
    return tree_sitter.Parser(get_language(language))


def parse(language: str, text: str) -> tree_sitter.Tree:
    """Parse ``text`` (encoded as UTF-8) with the language's cached parser."""
    return get_parser(language).parse(text.encode("utf-8"))
