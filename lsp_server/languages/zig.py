r"""Zig: braces, ``\\`` multi-line string lines (lexed like comments), ``///`` docs, ``test`` blocks."""

from __future__ import annotations

import tree_sitter
import tree_sitter_zig

from lsp_server.languages.profile import Docs, LanguageProfile, Lexing, Syntax, Tests

_CONTAINER_VALUES = frozenset(
    {
        "struct_declaration",
        "enum_declaration",
        "union_declaration",
        "opaque_declaration",
        "error_set_declaration",
    }
)


def _definition(node: tree_sitter.Node, source: bytes) -> tuple[str, str] | None:
    """``fn name(...)`` is a function; ``const Name = struct { ... };`` (enum, union...) a type."""
    if node.type == "function_declaration":
        name = node.child_by_field_name("name")
    elif node.type == "variable_declaration":
        named = node.named_children
        if len(named) < 2 or named[0].type != "identifier" or named[-1].type not in _CONTAINER_VALUES:
            return None
        name = named[0]
    else:
        return None
    if name is None:
        return None
    text = source[name.start_byte : name.end_byte].decode("utf-8", errors="replace")
    return (text, "function" if node.type == "function_declaration" else "class")


PROFILE = LanguageProfile(
    name="zig",
    grammar=tree_sitter_zig.language,
    wheel="tree-sitter-zig",
    language_ids=("zig",),
    extensions=(".zig", ".zon"),
    lexing=Lexing(
        # A `\\` line of a multi-line string runs to the end of the line, like a comment: no bracket or
        # quote in it counts.
        line_comments=("//", "\\\\"),
        block_comments={},
        quotes={'"': ('"', True, False), "'": ("'", True, False)},
    ),
    syntax=Syntax(
        containers={"source_file", "block", "struct_declaration", "enum_declaration", "union_declaration"},
        named_functions={"function_declaration"},
        function_kinds={"function_declaration"},
        # Types are constants whose value is a container: `const Point = struct { ... };`.
        type_kinds={"variable_declaration"},
        # Imports are `const std = @import("std");` declarations (found once the shared import pattern
        # knows `@import(`).
        require_imports=True,
        declarations={"variable_declaration"},
        calls={"call_expression"},
        action_kinds={"function_declaration": "function", "variable_declaration": "class"},
        call_definition=_definition,
    ),
    docs=Docs(style="a Zig doc comment (///)", line_prefix="///", recognized=("///",)),
    tests=Tests(framework="Zig's built-in test blocks", file_name="{stem}_{name}_test.zig"),
)
