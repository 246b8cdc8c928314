"""C: braces, declarator chains, include guards, prototypes in the outline."""

from __future__ import annotations

import tree_sitter_c

from lsp_server.languages.profile import Docs, LanguageProfile, Syntax, Tests

CONTAINERS = (
    "translation_unit",
    "compound_statement",
    "field_declaration_list",
    "declaration_list",
    "preproc_ifdef",
    "preproc_if",
    "preproc_else",
    "preproc_elif",
    "case_statement",
)
TRANSPARENT = ("preproc_ifdef", "preproc_if", "preproc_else", "preproc_elif")
TYPE_KINDS = ("struct_specifier", "union_specifier", "enum_specifier", "type_definition")

PROFILE = LanguageProfile(
    name="c",
    grammar=tree_sitter_c.language,
    wheel="tree-sitter-c",
    language_ids=("c",),
    extensions=(".c", ".h"),
    signature="prototype",
    syntax=Syntax(
        containers=CONTAINERS,
        named_functions={"function_definition"},
        imports={"preproc_include"},
        function_kinds={"function_definition"},
        type_kinds=TYPE_KINDS,
        transparent=TRANSPARENT,
        declarations={"declaration", "field_declaration"},
        declarators=True,
        action_kinds={"function_definition": "function", "struct_specifier": "class"},
    ),
    docs=Docs(style="a Doxygen comment"),
    tests=Tests(framework="plain C with assert.h and a main function"),
)
