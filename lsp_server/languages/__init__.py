"""The languages the server understands: one module per language, each with one ``PROFILE``.

The registry finds the modules itself (every module here but ``profile`` is a language), so adding a
language is adding its module (and its grammar wheel to pyproject.toml); see docs/LANGUAGES.md.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Mapping

from lsp_server.languages.profile import LanguageProfile

__all__ = ["LanguageProfile", "by_extension", "by_file_name", "by_language_id", "get", "profiles"]


@functools.cache
def profiles() -> Mapping[str, LanguageProfile]:
    """Every language's profile by canonical name, in name order."""
    found: dict[str, LanguageProfile] = {}
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        if module.name == "profile" or module.name.startswith("_"):
            continue
        profile = importlib.import_module(f"{__name__}.{module.name}").PROFILE
        if not isinstance(profile, LanguageProfile) or profile.name in found:
            raise TypeError(f"lsp_server.languages.{module.name}.PROFILE is not a new LanguageProfile")
        found[profile.name] = profile
    return dict(sorted(found.items()))


def get(language: str | None) -> LanguageProfile | None:
    """The profile of a canonical language name (None for an unknown or no language)."""
    return profiles().get(language) if language else None


@functools.cache
def _index(attribute: str) -> Mapping[str, str]:
    table: dict[str, str] = {}
    for profile in profiles().values():
        for key in getattr(profile, attribute):
            table.setdefault(key if attribute == "file_names" else key.lower(), profile.name)
    return table


def by_language_id(language_id: str) -> str | None:
    """The canonical name for an LSP languageId (case-insensitive)."""
    return _index("language_ids").get(language_id.strip().lower())


def by_extension(extension: str) -> str | None:
    """The canonical name for a file extension (``.py``; case-insensitive)."""
    return _index("extensions").get(extension.lower())


def by_file_name(name: str) -> str | None:
    """The canonical name for a whole file name (``Gemfile``)."""
    return _index("file_names").get(name)
