"""Lua: keyword blocks (``function ... end``, ``repeat ... until``), long brackets, LDoc."""

from __future__ import annotations

import re

import tree_sitter
import tree_sitter_lua

from lsp_server.languages.profile import Docs, LanguageProfile, Lexing, Syntax, Tests

_BLOCK_TOKENS = frozenset({"then", "do", "else", "repeat", "{"})
_FUNCTION_HEADER = re.compile(r"\bfunction\b[^()]*\([^()]*\)\s*$")


def _opens_block(token: tree_sitter.Node, line: str) -> bool:
    """``then``, ``do``, ``else``, ``repeat``, ``{``, or the ``)`` of a function's parameters."""
    if token.type in _BLOCK_TOKENS:
        return True
    if token.type == ")":
        parent = token.parent
        if parent is not None and parent.type == "parameters":
            return True
        return _FUNCTION_HEADER.search(line) is not None
    return False


PROFILE = LanguageProfile(
    name="lua",
    grammar=tree_sitter_lua.language,
    wheel="tree-sitter-lua",
    language_ids=("lua",),
    extensions=(".lua",),
    comment="--",
    indent_unit="  ",
    blocks="keywords",
    block_opener=_opens_block,
    header_end=r"(?:\b(?:then|do|else|repeat)|\bfunction\b[^()]*\([^()]*\)|[{(\[])\s*$",
    signature="end",
    lexing=Lexing(
        line_comments=(),
        block_comments={},
        quotes={'"': ('"', True, False), "'": ("'", True, False)},
        extra=r"(?P<block>--\[=*\[)|(?P<line>--)|(?P<long>\[=*\[)|",
        keyword_blocks={"function": "end", "if": "end", "do": "end", "repeat": "until"},
    ),
    syntax=Syntax(
        containers={"chunk", "block"},
        named_functions={"function_declaration"},
        anonymous_functions={"function_definition"},
        require_imports=True,
        function_kinds={"function_declaration"},
        declarations={"variable_declaration"},
        calls={"function_call"},
        action_kinds={"function_declaration": "function", "variable_declaration": "function"},
    ),
    docs=Docs(style="an LDoc comment", line_prefix="---", recognized=("---",)),
    tests=Tests(framework="busted", file_name="{stem}_{name}_spec.lua"),
)
