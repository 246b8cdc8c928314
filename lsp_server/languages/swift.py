"""Swift: braces, attributes inside declarations, `case x:` and `{ x in` open blocks, `#"raw"#`, `///` doc."""

from __future__ import annotations

import tree_sitter
import tree_sitter_swift

from lsp_server.languages.profile import Docs, LanguageProfile, Lexing, Syntax, Tests

_TYPES = ("class_declaration", "protocol_declaration")
"""``class_declaration`` is every ``class``, ``struct``, ``enum``, ``actor`` and ``extension``."""


def _opens_block(token: tree_sitter.Node, line: str) -> bool:
    """``{``; the ``:`` of a ``case``/``default`` label; the ``in`` after a closure's parameters."""
    if token.type == "{":
        return True
    parent = token.parent
    if parent is None:
        return False
    if token.type == ":":
        return parent.type == "switch_entry"
    return token.type == "in" and parent.type == "lambda_literal"


PROFILE = LanguageProfile(
    name="swift",
    grammar=tree_sitter_swift.language,
    wheel="tree-sitter-swift",
    language_ids=("swift",),
    extensions=(".swift",),
    word_chars="$",
    block_opener=_opens_block,
    header_end=r"(?:[{(\[]|\{[^{}]*\bin|^\s*(?:case\b.*|default\s*):)\s*$",
    lexing=Lexing(
        quotes={'"""': ('"""', True, True), '"': ('"', True, False)},
        extra=r'(?P<raw>\#+")|',
    ),
    syntax=Syntax(
        containers={
            "source_file",
            "statements",
            "function_body",
            "class_body",
            "enum_class_body",
            "protocol_body",
            "computed_property",
        },
        named_functions={
            "function_declaration",
            "init_declaration",
            "deinit_declaration",
            "subscript_declaration",
        },
        anonymous_functions={"lambda_literal"},
        class_types=_TYPES,
        imports={"import_declaration"},
        function_kinds={"function_declaration", "protocol_function_declaration"},
        type_kinds={*_TYPES, "typealias_declaration"},
        identifiers=("simple_identifier", "type_identifier"),
        action_kinds={
            "function_declaration": "function",
            "protocol_function_declaration": "method",
            **{kind: "class" for kind in _TYPES},
        },
    ),
    docs=Docs(
        style="a Swift documentation comment (/// lines, Markdown, - Parameter/- Returns)",
        line_prefix="///",
        recognized=("///", "/**"),
    ),
    tests=Tests(framework="XCTest", file_name="{Name}Tests.swift"),
)
