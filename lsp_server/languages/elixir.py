"""Elixir: ``do``/``fn`` ... ``end`` blocks (``do:`` opens none); every definition is a call (``def f``)."""

from __future__ import annotations

import tree_sitter
import tree_sitter_elixir

from lsp_server.languages.profile import Docs, LanguageProfile, Lexing, Syntax, Tests

_BLOCK_TOKENS = frozenset({"do", "fn", "->", "else", "after", "rescue", "catch"})


def _opens_block(token: tree_sitter.Node, line: str) -> bool:
    """``do``, ``fn``, a clause's ``->``, or ``else``/``after``/``rescue``/``catch`` ending the line."""
    return token.type in _BLOCK_TOKENS


_NOT_NAME = r"(?![\w?!:])"

_DEFINERS = {
    "def": "function",
    "defp": "function",
    "defmacro": "function",
    "defmacrop": "function",
    "defguard": "function",
    "defguardp": "function",
    "defdelegate": "function",
    "defmodule": "class",
    "defprotocol": "class",
    "defimpl": "class",
}


def _text(node: tree_sitter.Node, source: bytes) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", errors="replace")


def call_definition(node: tree_sitter.Node, source: bytes) -> tuple[str, str] | None:
    """(name, ``function`` or ``class``) when a ``call`` defines something, None for any other call.

    ``def add(a, b) when ...`` -> ``add``, ``defmodule Agent.Server`` -> ``Agent.Server``.
    """
    target = node.child_by_field_name("target")
    if node.type != "call" or target is None or target.type != "identifier":
        return None
    kind = _DEFINERS.get(_text(target, source))
    if kind is None:
        return None
    arguments = next((child for child in node.named_children if child.type == "arguments"), None)
    head = arguments.named_children[0] if arguments is not None and arguments.named_children else None
    while head is not None and head.type == "binary_operator":  # add(a, b) when is_integer(a)
        head = head.child_by_field_name("left")
    if head is not None and head.type == "call":  # add(a, b)
        head = head.child_by_field_name("target")
    if head is None or head.type not in ("identifier", "alias"):
        return None
    return _text(head, source), kind


PROFILE = LanguageProfile(
    name="elixir",
    grammar=tree_sitter_elixir.language,
    wheel="tree-sitter-elixir",
    language_ids=("elixir",),
    extensions=(".ex", ".exs"),
    comment="#",
    indent_unit="  ",
    word_chars="?!",
    blocks="keywords",
    block_opener=_opens_block,
    header_end=r"(?:(?<![.:\w])(?:do|fn|else|after|rescue|catch)|->|[{(\[])\s*$",
    continuation_words={"else", "after", "rescue", "catch"},
    signature="end",
    lexing=Lexing(
        line_comments=("#",),
        block_comments={},
        quotes={
            '"""': ('"""', True, True),
            "'''": ("'''", True, True),
            '"': ('"', True, True),
            "'": ("'", True, True),
        },
        keyword_blocks={"do": "end", "fn": "end"},
        keyword_opener_pattern=rf"(?<![.:\w])(?:do|fn){_NOT_NAME}",
    ),
    syntax=Syntax(
        containers={"source", "do_block", "body", "else_block", "after_block", "rescue_block", "catch_block"},
        named_functions={"call"},
        anonymous_functions={"anonymous_function"},
        function_kinds={"call"},
        type_kinds={"call"},
        calls={"call"},
        action_kinds={"call": "function"},
        call_definition=call_definition,
        identifiers=("identifier", "alias"),
    ),
    docs=Docs(style="an @doc heredoc", block=('@doc """', "", '"""'), recognized=("@doc",)),
    tests=Tests(framework="ExUnit", file_name="{stem}_{name}_test.exs"),
)
