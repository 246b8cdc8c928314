"""Go: tabs, braces, ``type (...)`` groups, doc comments that start with the name."""

from __future__ import annotations

import tree_sitter_go

from lsp_server.languages.profile import Docs, LanguageProfile, Lexing, Syntax, Tests

PROFILE = LanguageProfile(
    name="go",
    grammar=tree_sitter_go.language,
    wheel="tree-sitter-go",
    language_ids=("go",),
    extensions=(".go",),
    indent_unit="\t",
    lexing=Lexing(quotes={'"': ('"', True, False), "'": ("'", True, False), "`": ("`", False, True)}),
    syntax=Syntax(
        containers={
            "source_file",
            "block",
            "statement_list",
            "expression_switch_statement",
            "type_switch_statement",
            "select_statement",
            "field_declaration_list",
        },
        named_functions={"function_declaration", "method_declaration"},
        anonymous_functions={"func_literal"},
        imports={"package_clause", "import_declaration"},
        function_kinds={"function_declaration", "method_declaration"},
        method_kinds={"method_declaration"},
        type_kinds={"type_spec"},
        wrappers={"type_declaration"},
        action_kinds={
            "function_declaration": "function",
            "method_declaration": "method",
            "type_spec": "class",
        },
    ),
    docs=Docs(style="a Go doc comment", line_prefix="//", names_subject=True, recognized=("//",)),
    tests=Tests(framework="Go's testing package", file_name="{stem}_{name}_test.go"),
)
